// The secret scan every CLI run goes through (support/secrets.ts, wired into support/cli.ts):
// it finds a secret in any of its forms without quoting it, knows the secrets of a run (the web
// identity token too), and fails a run whose output holds one. Then runs with role credentials,
// through a test's fault proxy or straight at the test server's STS, so that the credentials STS
// issued are among the secrets scanned for.

import { describe, expect, it } from 'vitest';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { runCli, tempJson } from '../support/cli.js';
import { FaultProxy } from '../support/fault-proxy.js';
import { accessKeyConfig, catalog, recordLine, streamStateLine } from '../support/messages.js';
import { findLeaks, rememberedSecretCount, secretsOfRun } from '../support/secrets.js';
import { cleanedBuckets } from '../support/invariants.js';
import { s3Server } from '../support/server.js';

const server = s3Server();
/** Buckets of this file, emptied after its tests (big test data). */
const freshBucket = cleanedBuckets();
const SECRET = 'sEcReT/with+special=chars&"quotes"';

describe('the secret scan', () => {
  it('finds a secret as is, JSON-escaped or URL-encoded, and never quotes it', () => {
    const secrets = [{ source: 'a test secret', value: SECRET }];
    expect(findLeaks({ stdout: 'nothing here\n' }, secrets)).toEqual([]);
    for (const form of [SECRET, JSON.stringify(SECRET).slice(1, -1), encodeURIComponent(SECRET)]) {
      const leaks = findLeaks({ stdout: `line one\n{"message":"oops ${form}"}\n`, stderr: '' }, secrets);
      expect(leaks).toEqual(['a test secret (34 characters) appears in stdout, line 2']);
      expect(leaks.join()).not.toContain('sEcReT');
    }
  });

  it("knows a run's secrets: the config's airbyte_secret fields and the environment's AWS secrets", () => {
    const config = tempJson('config.json', {
      s3_bucket_name: 'not-a-secret-bucket',
      credentials: {
        auth_type: 'access_key',
        access_key_id: 'configured-key-id',
        secret_access_key: 'configured-secret-key',
        session_token: 'configured-session-token',
      },
    });
    const found = secretsOfRun(['write', '--config', config], {
      AWS_SECRET_ACCESS_KEY: 'environment-secret',
      AWS_SESSION_TOKEN: 'environment-token',
    });
    const values = found.map((s) => s.value);
    // spec/spec.json marks the key id airbyte_secret too
    expect(values).toEqual(
      expect.arrayContaining(['configured-key-id', 'configured-secret-key', 'configured-session-token', 'environment-secret', 'environment-token']),
    );
    expect(values).not.toContain('not-a-secret-bucket');
  });

  it('knows the web identity token: the contents of the configured token file, or of AWS_WEB_IDENTITY_TOKEN_FILE', () => {
    const configured = tempJson('token', 'eyJ.configured-token.sig\n');
    const fromEnv = tempJson('token', 'eyJ.environment-token.sig');
    const config = tempJson('config.json', {
      s3_bucket_name: 'b',
      credentials: { auth_type: 'web_identity', role_arn: 'arn:aws:iam:::role/R', web_identity_token_file: configured },
    });
    const values = secretsOfRun(['check', '--config', config], { AWS_WEB_IDENTITY_TOKEN_FILE: fromEnv }).map((s) => s.value);
    expect(values).toEqual(expect.arrayContaining(['eyJ.configured-token.sig', 'eyJ.environment-token.sig']));
    expect(values).not.toContain(configured); // the path is configuration, not a secret
  });

  it('fails a CLI run whose output holds a secret', async () => {
    // `spec` prints its documentation URL: call that a secret, and the run must be refused
    const spec = await runCli(['spec']);
    const url = spec.messages[0]!.spec.documentationUrl as string;
    await expect(runCli(['spec'], { secrets: [url] })).rejects.toThrow(/A secret leaked: a test secret \(\d+ characters\) appears in stdout, line 1/);
  });
});

describe('write with temporary credentials', () => {
  it('prints none of the secrets: base keys, configured session token, or STS session tokens', async () => {
    const proxy = await new FaultProxy(server.stsEndpoint, 1).start();
    try {
      const bucket = await freshBucket('rel-secrets');
      const cat = tempJson('catalog.json', catalog([{ name: 'a' }]));
      const input = [recordLine('a', { id: 1 }), streamStateLine('a', 1), 'not json'].join('\n') + '\n';
      const env = {
        AWS_ACCESS_KEY_ID: server.accessKey,
        AWS_SECRET_ACCESS_KEY: server.secretKey,
        AWS_ENDPOINT_URL_STS: proxy.endpoint,
        DESTINATION_S3_EXPORT_DEBUG: '1',
      };
      // iam_role: AssumeRole through the proxy, which remembers the session's secret and token
      const role = tempJson('config.json', {
        ...accessKeyConfig(server, bucket),
        s3_endpoint: proxy.endpoint,
        credentials: { auth_type: 'iam_role', role_arn: server.roleArn },
      });
      const viaRole = await runCli(['write', '--config', role, '--catalog', cat], { stdin: input, env });
      expect(viaRole.code).toBe(1); // the bad last line: a TRACE after the state
      expect(proxy.stats.requests.AssumeRole).toBeGreaterThan(0);

      // access_key with a session token from STS: configured secrets
      const sts = new STSClient({
        region: 'us-east-1',
        endpoint: server.stsEndpoint,
        credentials: { accessKeyId: server.accessKey, secretAccessKey: server.secretKey },
      });
      const { Credentials: c } = await sts.send(new AssumeRoleCommand({ RoleArn: server.roleArn, RoleSessionName: 'secrets-test' }));
      sts.destroy();
      const temporary = tempJson('config.json', {
        ...accessKeyConfig(server, bucket),
        s3_endpoint: server.stsEndpoint,
        credentials: {
          auth_type: 'access_key',
          access_key_id: c!.AccessKeyId,
          secret_access_key: c!.SecretAccessKey,
          session_token: c!.SessionToken,
        },
      });
      const viaKeys = await runCli(['write', '--config', temporary, '--catalog', cat], { stdin: input, env: { DESTINATION_S3_EXPORT_DEBUG: '1' } });
      expect(viaKeys.code).toBe(1);
      expect(viaKeys.messages.filter((m) => m.type === 'STATE')).toHaveLength(1);
      // both runs were scanned by runCli; a leak would have rejected them
    } finally {
      await proxy.stop();
    }
  });

  it("scans for the credentials STS issued to a run pointed at the test server's own STS (check with iam_role)", async () => {
    const bucket = await freshBucket('rel-secrets');
    const config = tempJson('config.json', {
      ...accessKeyConfig(server, bucket),
      s3_endpoint: server.stsEndpoint,
      credentials: { auth_type: 'iam_role', role_arn: server.roleArn },
    });
    const before = rememberedSecretCount();
    const res = await runCli(['check', '--config', config], {
      env: {
        AWS_ACCESS_KEY_ID: server.accessKey,
        AWS_SECRET_ACCESS_KEY: server.secretKey,
        AWS_ENDPOINT_URL_STS: server.stsEndpoint,
        DESTINATION_S3_EXPORT_DEBUG: '1',
      },
    });
    expect(res.messages.find((m) => m.type === 'CONNECTION_STATUS')!.connectionStatus.status).toBe('SUCCEEDED');
    // the session's secret key and token went through support/cli.ts's recording proxy
    expect(rememberedSecretCount()).toBeGreaterThanOrEqual(before + 2);
  });
});

describe('credentials in the endpoint URL', () => {
  it('write refuses them as a config error and no output holds them', async () => {
    const [user, password] = ['urluser-5150', 'url-password-8d2e'];
    const config = tempJson(
      'config.json',
      accessKeyConfig(server, 'any-bucket', { s3_endpoint: server.endpoint.replace('://', `://${user}:${password}@`) }),
    );
    const input = [recordLine('users', { id: 1, name: 'a', updated_at: '2024-05-01T10:00:00Z' }), streamStateLine('users', 1)].join('\n') + '\n';
    // runCli scans stdout and stderr for these: a leak fails the run
    const res = await runCli(['write', '--config', config, '--catalog', tempJson('catalog.json', catalog([{ name: 'users' }]))], {
      stdin: input,
      env: { DESTINATION_S3_EXPORT_DEBUG: '1' },
      secrets: [user, password],
    });
    expect(res.code).toBe(1);
    expect(res.messages.filter((m) => m.type === 'STATE')).toEqual([]);
    const error = res.messages.find((m) => m.type === 'TRACE')!.trace.error;
    expect(error.failure_type).toBe('config_error');
    expect(error.message).toContain('s3_endpoint: must be an http:// or https:// URL');
    expect(error.message).toContain('no user:password@');
  });
});
