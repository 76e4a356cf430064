// `check` end to end: the built CLI against radosgw, every stdout line validated against the
// Airbyte protocol, the bucket listed afterwards, and every output scanned for secrets.

import { createServer } from 'node:net';
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeleteObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command, PutBucketPolicyCommand } from '@aws-sdk/client-s3';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { runCli, tempJson, type CliResult } from './support/cli.js';
import { startHtmlServer, startSilentServer } from './support/loopback-servers.js';
import { startOidcFixture, type OidcFixture } from './support/oidc.js';
import { protocolErrors, protocolSchemaAvailable, protocolSchemaSkipReason } from './support/protocol.js';
import { adminClient, createUser, freshBucket, s3Server } from './support/server.js';
import { accessKeyConfig as testConfig } from './support/messages.js';

const server = s3Server();
const WRONG_SECRET = 'WRONGSECRET0000000000000000000000000000x';

/** Every secret any run was given: none may appear in any output. */
const secrets = new Set<string>([server.secretKey, WRONG_SECRET]);

/** The environment of every run: no inherited AWS settings, debug output on (more to scan). */
const BASE_ENV: NodeJS.ProcessEnv = {
  AWS_ACCESS_KEY_ID: '',
  AWS_SECRET_ACCESS_KEY: '',
  AWS_SESSION_TOKEN: '',
  AWS_PROFILE: '',
  AWS_ENDPOINT_URL: '',
  AWS_ENDPOINT_URL_STS: '',
  AWS_CONFIG_FILE: '/nonexistent/aws-config',
  AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
  AWS_EC2_METADATA_DISABLED: 'true',
  DESTINATION_S3_EXPORT_DEBUG: '1',
};
/** Base credentials in the environment, for AssumeRole and the default chain. */
const BASE_CREDENTIALS_ENV = { AWS_ACCESS_KEY_ID: server.accessKey, AWS_SECRET_ACCESS_KEY: server.secretKey };
const STS_ENV = { ...BASE_CREDENTIALS_ENV, AWS_ENDPOINT_URL_STS: server.stsEndpoint };

interface CheckRun {
  status: 'SUCCEEDED' | 'FAILED';
  message: string;
  result: CliResult;
}

function expectNoSecret(result: CliResult): void {
  for (const secret of secrets) {
    expect(result.lines.join('\n')).not.toContain(secret);
    expect(result.stderr).not.toContain(secret);
  }
}

async function check(config: unknown, env: NodeJS.ProcessEnv = {}, configPath?: string): Promise<CheckRun> {
  const result = await runCli(['check', '--config', configPath ?? tempJson('config.json', config)], { env: { ...BASE_ENV, ...env } });
  expect(result.code, result.stderr).toBe(0);
  expect(result.lines).toHaveLength(1);
  if (protocolSchemaAvailable) for (const line of result.lines) expect(protocolErrors(line), line).toEqual([]);
  const [message] = result.messages;
  expect(message!.type).toBe('CONNECTION_STATUS');
  expectNoSecret(result);
  return { status: message!.connectionStatus.status, message: message!.connectionStatus.message ?? '', result };
}

function accessKeyConfig(bucket: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return testConfig(server, bucket, extra);
}

/** Objects and unfinished multipart uploads in a bucket. */
async function leftovers(bucket: string): Promise<{ objects: string[]; uploads: string[] }> {
  const client = adminClient();
  const objects = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
  const uploads = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
  client.destroy();
  return { objects: (objects.Contents ?? []).map((o) => o.Key!), uploads: (uploads.Uploads ?? []).map((u) => u.Key!) };
}

async function expectNothingLeft(bucket: string): Promise<void> {
  expect(await leftovers(bucket)).toEqual({ objects: [], uploads: [] });
}

async function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

describe('check succeeds', () => {
  it('with access keys, writing under <folder> and <folder>/_manifests/ and deleting both', async () => {
    const bucket = await freshBucket('check-ak');
    const run = await check(accessKeyConfig(bucket, { folder: 'exports/product', manifest_location: 'folder' }));
    expect(run.status, run.message).toBe('SUCCEEDED');
    expect(run.message).toMatch(new RegExp(`wrote s3://${bucket}/exports/product/_connection_check_\\S+\\.txt with a multipart upload`));
    expect(run.message).toMatch(new RegExp(`s3://${bucket}/exports/product/_manifests/_connection_check_\\S+\\.json with PutObject`));
    await expectNothingLeft(bucket);
  });

  it('with an assumed role (STS AssumeRole with an external id)', async () => {
    const bucket = await freshBucket('check-role');
    const run = await check(
      {
        ...accessKeyConfig(bucket),
        s3_endpoint: server.stsEndpoint,
        credentials: { auth_type: 'iam_role', role_arn: server.roleArn, external_id: 'dse-external-id' },
      },
      STS_ENV,
    );
    expect(run.status, run.message).toBe('SUCCEEDED');
    expect(run.message).toContain('STS AssumeRole');
    await expectNothingLeft(bucket);
  });

  it('with SSE-KMS (test key)', async () => {
    const bucket = await freshBucket('check-kms');
    const run = await check(accessKeyConfig(bucket, { encryption: { mode: 'sse_kms', kms_key_arn: 'testkey-1' } }));
    expect(run.status, run.message).toBe('SUCCEEDED');
    expect(run.message).toContain('SSE-KMS with key testkey-1');
    await expectNothingLeft(bucket);
  });

  it('with SSE-S3', async () => {
    const bucket = await freshBucket('check-sse-s3');
    const run = await check(accessKeyConfig(bucket, { encryption: { mode: 'sse_s3' } }));
    expect(run.status, run.message).toBe('SUCCEEDED');
    await expectNothingLeft(bucket);
  });

  it('with temporary access keys (session token)', async () => {
    const sts = new STSClient({
      endpoint: server.stsEndpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: server.accessKey, secretAccessKey: server.secretKey },
    });
    const { Credentials: c } = await sts.send(new AssumeRoleCommand({ RoleArn: server.roleArn, RoleSessionName: 'check-test' }));
    sts.destroy();
    secrets.add(c!.SecretAccessKey!);
    secrets.add(c!.SessionToken!);
    const bucket = await freshBucket('check-token');
    const run = await check({
      ...accessKeyConfig(bucket),
      s3_endpoint: server.stsEndpoint,
      credentials: { auth_type: 'access_key', access_key_id: c!.AccessKeyId, secret_access_key: c!.SecretAccessKey, session_token: c!.SessionToken },
    });
    expect(run.status, run.message).toBe('SUCCEEDED');
    await expectNothingLeft(bucket);
  });

  it('with the default credential chain (keys in the environment)', async () => {
    const bucket = await freshBucket('check-chain');
    const run = await check({ ...accessKeyConfig(bucket), credentials: { auth_type: 'default_chain' } }, BASE_CREDENTIALS_ENV);
    expect(run.status, run.message).toBe('SUCCEEDED');
    expect(run.message).toContain('default credential chain');
    await expectNothingLeft(bucket);
  });
});

describe.skipIf(!server.cephConf)('check with web identity federation (OIDC issuer on loopback)', () => {
  let oidc: OidcFixture;
  beforeAll(async () => {
    oidc = await startOidcFixture();
  });
  afterAll(async () => {
    await oidc?.close();
  });

  function webIdentityConfig(bucket: string, tokenFile: string, roleArn = oidc.roleArn): Record<string, unknown> {
    return {
      ...accessKeyConfig(bucket),
      s3_endpoint: server.stsEndpoint,
      credentials: { auth_type: 'web_identity', role_arn: roleArn, web_identity_token_file: tokenFile },
    };
  }

  it('succeeds with a token the role trusts', async () => {
    const token = oidc.token();
    secrets.add(token);
    const tokenFile = tempJson('token', token);
    const bucket = await freshBucket('check-webid');
    const run = await check(webIdentityConfig(bucket, tokenFile), { AWS_ENDPOINT_URL_STS: server.stsEndpoint });
    expect(run.status, run.message).toBe('SUCCEEDED');
    expect(run.message).toContain('AssumeRoleWithWebIdentity');
    await expectNothingLeft(bucket);
  });

  it('fails with a message naming the token file when the token is expired', async () => {
    const token = oidc.token('test-workload', -60);
    secrets.add(token);
    const tokenFile = tempJson('token', token);
    const bucket = await freshBucket('check-webid-exp');
    const run = await check(webIdentityConfig(bucket, tokenFile), { AWS_ENDPOINT_URL_STS: server.stsEndpoint });
    expect(run.status).toBe('FAILED');
    expect(run.message).toContain('Could not get credentials (STS AssumeRoleWithWebIdentity)');
    expect(run.message).toContain(tokenFile);
  });

  it('fails when the token file is missing', async () => {
    const bucket = await freshBucket('check-webid-nofile');
    const run = await check(webIdentityConfig(bucket, '/nonexistent/token'), { AWS_ENDPOINT_URL_STS: server.stsEndpoint });
    expect(run.status).toBe('FAILED');
    expect(run.message).toContain('Cannot read the web identity token file /nonexistent/token');
  });
});

describe('check fails with a message naming the cause', () => {
  it('for a wrong secret key', async () => {
    const bucket = await freshBucket('check-badsecret');
    const run = await check(
      accessKeyConfig(bucket, { credentials: { auth_type: 'access_key', access_key_id: server.accessKey, secret_access_key: WRONG_SECRET } }),
    );
    expect(run.status).toBe('FAILED');
    expect(run.message).toContain('the request signature does not match. The secret access key is wrong');
    expect(run.message).toContain('SignatureDoesNotMatch');
    await expectNothingLeft(bucket);
  });

  it('for an unknown access key', async () => {
    const bucket = await freshBucket('check-badkey');
    const run = await check(
      accessKeyConfig(bucket, { credentials: { auth_type: 'access_key', access_key_id: 'AKUNKNOWN000000000', secret_access_key: WRONG_SECRET } }),
    );
    expect(run.status).toBe('FAILED');
    expect(run.message).toContain('the access key ID is not known to the S3 endpoint');
    expect(run.message).toContain('InvalidAccessKeyId');
    await expectNothingLeft(bucket);
  });

  it('for a missing bucket', async () => {
    const bucket = `missing-${Date.now().toString(36)}`;
    const run = await check(accessKeyConfig(bucket));
    expect(run.status).toBe('FAILED');
    expect(run.message).toContain(`the bucket ${bucket} does not exist`);
    expect(run.message).toContain('s3_bucket_name');
  });

  it('for an unknown role', async () => {
    const bucket = await freshBucket('check-norole');
    const run = await check(
      {
        ...accessKeyConfig(bucket),
        s3_endpoint: server.stsEndpoint,
        credentials: { auth_type: 'iam_role', role_arn: 'arn:aws:iam:::role/NoSuchRole' },
      },
      STS_ENV,
    );
    expect(run.status).toBe('FAILED');
    expect(run.message).toContain('Could not get credentials (STS AssumeRole)');
    expect(run.message).toContain('the role arn:aws:iam:::role/NoSuchRole does not exist. Check role_arn');
    await expectNothingLeft(bucket);
  });

  it('for AssumeRole with wrong base credentials, naming the trust policy and the external id as candidates', async () => {
    const bucket = await freshBucket('check-badbase');
    const run = await check(
      { ...accessKeyConfig(bucket), s3_endpoint: server.stsEndpoint, credentials: { auth_type: 'iam_role', role_arn: server.roleArn } },
      { ...STS_ENV, AWS_SECRET_ACCESS_KEY: WRONG_SECRET },
    );
    expect(run.status).toBe('FAILED');
    expect(run.message).toContain('AssumeRole of arn:aws:iam:::role/S3Writer was denied');
    expect(run.message).toContain('trust policy');
    expect(run.message).toContain('external_id');
    expect(run.message).toContain('base credentials are wrong');
  });

  it('for an SSE-C config', async () => {
    const customerKey = 'c3NlLWMtY3VzdG9tZXIta2V5LW1hdGVyaWFsLTAwMDE=';
    secrets.add(customerKey);
    const run = await check(accessKeyConfig('any-bucket', { encryption: { mode: 'sse_c', customer_key: customerKey } }));
    expect(run.status).toBe('FAILED');
    expect(run.message).toContain('SSE-C (customer-provided encryption keys) is not supported');
    expect(run.message).toContain('sse_s3');
    expect(run.message).toContain('sse_kms');
  });

  it('for an SSE-C setting given as a string, or a customer key under credentials', async () => {
    const customerKey = 'c3NlLWMtY3VzdG9tZXIta2V5LW1hdGVyaWFsLTAwMDI=';
    secrets.add(customerKey);
    const asString = await check(accessKeyConfig('any-bucket', { encryption: 'sse_c' }));
    const underCredentials = await check({
      ...accessKeyConfig('any-bucket'),
      credentials: { auth_type: 'default_chain', sse_customer_key: customerKey },
    });
    for (const run of [asString, underCredentials]) {
      expect(run.status).toBe('FAILED');
      expect(run.message).toContain('SSE-C (customer-provided encryption keys) is not supported. Use encryption mode "sse_s3"');
      expect(run.message).not.toContain('must be an object');
      expect(run.message).not.toContain('not a known setting');
    }
    expect(underCredentials.message).toContain('Remove credentials.sse_customer_key.');
  });

  it('for a secret shorter than 4 characters, which is refused without being quoted', async () => {
    // The scan of every run (support/secrets.ts) looks for a short secret as a whole JSON value.
    const run = await check(
      accessKeyConfig('any-bucket', { credentials: { auth_type: 'access_key', access_key_id: 'AKIAEXAMPLE', secret_access_key: 'k9' } }),
    );
    expect(run.status).toBe('FAILED');
    expect(run.message).toContain('credentials.secret_access_key: must be at least 4 characters long (shorter secrets cannot be kept out of logs)');
    expect(run.result.lines.join('\n')).not.toContain('"k9"');
  });

  it('for a user whose bucket policy denies s3:DeleteObject, naming s3:DeleteObject and the objects left behind', async () => {
    const bucket = await freshBucket('check-nodelete');
    const user = await createUser('nodelete');
    secrets.add(user.secretKey);
    const principal = { AWS: [`arn:aws:iam:::user/${user.uid}`] };
    const policy = {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: principal,
          Action: ['s3:PutObject', 's3:AbortMultipartUpload', 's3:DeleteObject'],
          Resource: [`arn:aws:s3:::${bucket}/*`],
        },
        { Effect: 'Deny', Principal: principal, Action: ['s3:DeleteObject'], Resource: [`arn:aws:s3:::${bucket}/*`] },
      ],
    };
    const admin = adminClient();
    await admin.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: JSON.stringify(policy) }));
    const run = await check(
      accessKeyConfig(bucket, { credentials: { auth_type: 'access_key', access_key_id: user.accessKey, secret_access_key: user.secretKey } }),
    );
    expect(run.status).toBe('FAILED');
    expect(run.message).toContain('DeleteObject of');
    expect(run.message).toContain('the identity lacks s3:DeleteObject');
    expect(run.message).toContain('needed for the connection test only: write never deletes');
    // The user could not delete them: exactly the objects the message names are left.
    const { objects, uploads } = await leftovers(bucket);
    expect(uploads).toEqual([]);
    expect(objects).toHaveLength(2);
    for (const key of objects) expect(run.message).toContain(`s3://${bucket}/${key}`);
    for (const key of objects) await admin.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    admin.destroy();
  });

  it('for an unknown KMS key', async () => {
    const bucket = await freshBucket('check-nokms');
    const run = await check(accessKeyConfig(bucket, { encryption: { mode: 'sse_kms', kms_key_arn: 'no-such-key' } }));
    expect(run.status).toBe('FAILED');
    expect(run.message).toContain('the KMS key no-such-key is unknown to the store. Check kms_key_arn');
    await expectNothingLeft(bucket);
  });

  it('for an unreachable endpoint', async () => {
    const endpoint = `http://127.0.0.1:${await closedPort()}`;
    const run = await check(accessKeyConfig('any-bucket', { s3_endpoint: endpoint }));
    expect(run.status).toBe('FAILED');
    expect(run.message).toContain(`Could not connect to the S3 endpoint ${endpoint}: connection refused`);
    expect(run.message).toContain('Check s3_endpoint');
  });

  it('for an endpoint that is a web server answering 200 with an HTML page to everything, naming the endpoint', async () => {
    const html = await startHtmlServer();
    try {
      const run = await check(accessKeyConfig('any-bucket', { s3_endpoint: html.endpoint }));
      expect(run.status).toBe('FAILED');
      expect(run.message).toContain(`CreateMultipartUpload of s3://any-bucket/`);
      expect(run.message).toContain(`the S3 endpoint ${html.endpoint}`);
      expect(run.message).toContain('not an S3 answer');
      expect(run.message).toContain('Check s3_endpoint');
    } finally {
      await html.stop();
    }
  });

  it('within about 30 s, clean-up included, for a store that accepts connections and never answers', async () => {
    const silent = await startSilentServer();
    try {
      const started = Date.now();
      const run = await check(accessKeyConfig('any-bucket', { s3_endpoint: silent.endpoint }));
      const seconds = (Date.now() - started) / 1000;
      expect(run.status).toBe('FAILED');
      expect(run.message).toContain(`The S3 endpoint ${silent.endpoint} did not answer`);
      expect(run.message).toContain('s3_endpoint');
      expect(silent.received).toBeGreaterThan(0);
      expect(seconds).toBeLessThan(35);
      console.info(`[check] silent S3 endpoint: FAILED after ${seconds.toFixed(1)} s, ${silent.received} connections: ${run.message}`);
    } finally {
      await silent.stop();
    }
  });

  it('within about 30 s for an STS endpoint that accepts connections and never answers', async () => {
    const silent = await startSilentServer();
    try {
      const started = Date.now();
      const run = await check(
        { ...accessKeyConfig('any-bucket'), credentials: { auth_type: 'iam_role', role_arn: server.roleArn } },
        { ...BASE_CREDENTIALS_ENV, AWS_ENDPOINT_URL_STS: silent.endpoint },
      );
      const seconds = (Date.now() - started) / 1000;
      expect(run.status).toBe('FAILED');
      expect(run.message).toContain('Could not get credentials (STS AssumeRole)');
      expect(run.message).toContain('did not answer');
      expect(seconds).toBeLessThan(35);
      console.info(`[check] silent STS endpoint: FAILED after ${seconds.toFixed(1)} s: ${run.message}`);
    } finally {
      await silent.stop();
    }
  });

  it('for credentials in the endpoint URL, refused by validation without quoting them', async () => {
    const [user, password] = ['endpointuser7', 'endpoint-pass-9f3k'];
    secrets.add(user);
    secrets.add(password);
    const endpoint = `http://${user}:${password}@127.0.0.1:${await closedPort()}`;
    const run = await check(accessKeyConfig('any-bucket', { s3_endpoint: endpoint }));
    expect(run.status).toBe('FAILED');
    expect(run.message).toContain('The configuration is invalid (1 problem): s3_endpoint: must be an http:// or https:// URL');
    expect(run.message).toContain('no user:password@');
  });

  it('refuses an STS endpoint with credentials in it, and never prints them', async () => {
    const [user, password] = ['stsuser42', 'sts-pass-0x9q'];
    secrets.add(user);
    secrets.add(password);
    const port = await closedPort();
    const run = await check(
      { ...accessKeyConfig('any-bucket'), credentials: { auth_type: 'iam_role', role_arn: server.roleArn } },
      { ...BASE_CREDENTIALS_ENV, AWS_ENDPOINT_URL_STS: `http://${user}:${password}@127.0.0.1:${port}` },
    );
    expect(run.status).toBe('FAILED');
    expect(run.message).toContain('AWS_ENDPOINT_URL_STS must not hold user:password@');
  });

  it('for an invalid config, listing every problem', async () => {
    const secret = 'invalid-config-secret-value-0001';
    secrets.add(secret);
    const run = await check({
      s3_bucket_name: 'Not_A_Bucket',
      folder: '/absolute',
      file_size_mb: 0,
      credentials: { auth_type: 'access_key', access_key_id: 'AKIAEXAMPLE', secret_access_key: secret, unknown_field: true },
      format: { format_type: 'avro' },
    });
    expect(run.status).toBe('FAILED');
    for (const path of [
      's3_bucket_name:',
      's3_bucket_region: is required',
      'folder:',
      'file_size_mb:',
      'credentials.unknown_field:',
      'format.format_type:',
    ]) {
      expect(run.message).toContain(path);
    }
  });

  it('for a config file that is missing or not JSON', async () => {
    const missing = await check(undefined, {}, '/nonexistent/config.json');
    expect(missing.status).toBe('FAILED');
    expect(missing.message).toContain('Cannot read the config file /nonexistent/config.json');
    const path = tempJson('config.json', '{}');
    writeFileSync(path, `{"credentials": {"secret_access_key": "${WRONG_SECRET}"`);
    const malformed = await check(undefined, {}, path);
    expect(malformed.status).toBe('FAILED');
    expect(malformed.message).toContain('is not valid JSON');
  });
});

if (!protocolSchemaAvailable) it.skip(`protocol validation: ${protocolSchemaSkipReason}`, () => undefined);
