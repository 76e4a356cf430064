// `policy` on radosgw: a user holding exactly the printed permissions passes `check` and `write`,
// and a reader holding the `--reader` policy passes `verify`; with any required action removed,
// `check` (or `verify`) fails and names it. Each holds its policy either as an IAM user policy
// (radosgw's IAM API, PutUserPolicy: the printed document verbatim) or as a bucket policy (the
// same statements, each given the user as principal). The policies come from the command's
// --json output, never from the test.

import { beforeAll, describe, expect, it } from 'vitest';
import { PutBucketPolicyCommand } from '@aws-sdk/client-s3';
import { runCli, tempJson } from './support/cli.js';
import { iam } from './support/iam.js';
import { accessKeyConfig, catalog, recordLine, streamStateLine, streamStatusLine } from './support/messages.js';
import { runText } from './support/operator-cli.js';
import { adminClient, createUser, freshBucket, radosgwAdmin, s3Server } from './support/server.js';

const server = s3Server();

interface Statement {
  Sid: string;
  Effect: string;
  Action: string | string[];
  Resource: string | string[];
  Condition?: unknown;
}
interface Policy {
  Version: string;
  Statement: Statement[];
}

async function printedPolicy(
  configPath: string,
  reader = false,
): Promise<{ permissions_policy: Policy; statements: { sid: string; required: boolean; actions: string[] }[] }> {
  const run = await runText(['policy', '--config', configPath, '--json', ...(reader ? ['--reader'] : [])]);
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout);
}

/** An identity policy made a bucket policy: the same statements, each with the user as principal. */
function asBucketPolicy(grants: { uid: string; policy: Policy }[]): string {
  const Statement = grants.flatMap(({ uid, policy }) => policy.Statement.map((s) => ({ ...s, Principal: { AWS: [`arn:aws:iam:::user/${uid}`] } })));
  return JSON.stringify({ Version: '2012-10-17', Statement });
}

/** radosgw's IAM API: PutUserPolicy, which replaces a policy of the same name. */
async function putUserPolicy(uid: string, policy: Policy): Promise<void> {
  await iam({ Action: 'PutUserPolicy', UserName: uid, PolicyName: 'destination-s3-export', PolicyDocument: JSON.stringify(policy) });
}

type Grant = { uid: string; policy: Policy };
type Holding = 'user policy' | 'bucket policy';

/** Gives each user exactly its policy, the one way or the other. */
async function grant(how: Holding, bucket: string, grants: Grant[]): Promise<void> {
  if (how === 'user policy') {
    for (const g of grants) await putUserPolicy(g.uid, g.policy);
    return;
  }
  const admin = adminClient();
  await admin.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: asBucketPolicy(grants) }));
  admin.destroy();
}

function userConfig(bucket: string, user: { accessKey: string; secretKey: string }): Record<string, unknown> {
  return accessKeyConfig(server, bucket, {
    folder: 'exports/shop',
    credentials: { auth_type: 'access_key', access_key_id: user.accessKey, secret_access_key: user.secretKey },
  });
}

async function check(configPath: string, secret: string): Promise<{ status: string; message: string }> {
  const run = await runCli(['check', '--config', configPath], { secrets: [secret], env: { AWS_EC2_METADATA_DISABLED: 'true' } });
  expect(run.code, run.stderr).toBe(0);
  const status = run.messages[0]!.connectionStatus;
  return { status: status.status, message: status.message ?? '' };
}

const SYNC =
  [
    ...Array.from({ length: 50 }, (_, i) => recordLine('users', { id: i, name: `u${i}` }, 1_700_000_000_000 + i)),
    streamStateLine('users', 'c1'),
    ...Array.from({ length: 50 }, (_, i) => recordLine('orders', { id: i, name: `o${i}` }, 1_700_000_000_000 + i)),
    streamStateLine('orders', 'c1'),
    streamStatusLine('users'),
    streamStatusLine('orders'),
  ].join('\n') + '\n';

beforeAll(async () => {
  // The test user may manage user policies (radosgw-admin caps; the server of the tests is ours).
  if (server.cephConf) await radosgwAdmin(['caps', 'add', '--uid=tester', '--caps=user-policy=*']);
});

describe.each<Holding>(['user policy', 'bucket policy'])('policy on radosgw, held as a %s', (how) => {
  it('a writer holding exactly the printed policy passes check and write; a reader holding the --reader policy passes verify', async () => {
    const bucket = await freshBucket('policy-exact');
    const [writer, reader] = [await createUser('writer'), await createUser('reader')];
    const writerConfig = tempJson('config.json', userConfig(bucket, writer));
    const readerConfig = tempJson('config.json', userConfig(bucket, reader));
    const writerPolicy = (await printedPolicy(writerConfig)).permissions_policy;
    const readerPolicy = (await printedPolicy(readerConfig, true)).permissions_policy;
    await grant(how, bucket, [
      { uid: writer.uid, policy: writerPolicy },
      { uid: reader.uid, policy: readerPolicy },
    ]);

    const checked = await check(writerConfig, writer.secretKey);
    expect(checked.message).toContain('then deleted both');
    expect(checked.status).toBe('SUCCEEDED');

    const cat = tempJson('catalog.json', catalog([{ name: 'users' }, { name: 'orders' }]));
    const wrote = await runCli(['write', '--config', writerConfig, '--catalog', cat], { stdin: SYNC, secrets: [writer.secretKey] });
    expect(wrote.code, wrote.stderr).toBe(0);
    expect(wrote.messages.filter((m) => m.type === 'STATE')).toHaveLength(2);

    const verified = await runText(['verify', '--config', readerConfig, '--json'], [reader.secretKey]);
    expect(verified.code, verified.stdout + verified.stderr).toBe(0);
    const report = JSON.parse(verified.stdout);
    expect(report.ok).toBe(true);
    expect(report.models.map((m: { model: string }) => m.model)).toEqual(['orders', 'users']);
    expect(report.checked.files).toBe(2);
    expect(report.open_uploads).toEqual({ count: 0, uploads: [] });

    // The reader's listing is limited to the export's prefixes: another folder is refused.
    const elsewhere = tempJson('config.json', { ...userConfig(bucket, reader), folder: 'other' });
    const refused = await runText(['verify', '--config', elsewhere], [reader.secretKey]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('s3:ListBucket');

    // Without either required reader action, verify fails and names it.
    for (const [sid, action] of [
      ['ListExportObjects', 's3:ListBucket'],
      ['ReadExportObjects', 's3:GetObject'],
    ] as const) {
      const without = { ...readerPolicy, Statement: readerPolicy.Statement.filter((s) => s.Sid !== sid) };
      await grant(how, bucket, [
        { uid: writer.uid, policy: writerPolicy },
        { uid: reader.uid, policy: without },
      ]);
      const run = await runText(['verify', '--config', readerConfig], [reader.secretKey]);
      expect(run.code, `without ${action}`).toBe(1);
      expect(run.stdout).toBe('');
      expect(run.stderr).toContain(action);
    }
  });

  it('without any one required action of the printed policy, check fails and names it', async () => {
    const bucket = await freshBucket('policy-minus');
    const writer = await createUser('writer');
    const config = tempJson('config.json', userConfig(bucket, writer));
    const printed = await printedPolicy(config);
    const required = printed.statements.filter((s) => s.required);
    expect(required.map((s) => s.sid)).toEqual(['WriteTransferObjects', 'ConnectionTestCleanup']);
    for (const statement of required) {
      for (const action of statement.actions) {
        const policy = {
          ...printed.permissions_policy,
          Statement: printed.permissions_policy.Statement.flatMap((s) => {
            if (s.Sid !== statement.sid) return [s];
            const actions = [s.Action].flat().filter((a) => a !== action);
            return actions.length ? [{ ...s, Action: actions }] : [];
          }),
        };
        await grant(how, bucket, [{ uid: writer.uid, policy }]);
        const run = await check(config, writer.secretKey);
        expect(run.status, `without ${action}`).toBe('FAILED');
        expect(run.message).toContain(action);
        expect(run.message).toContain(`(statement ${statement.sid})`);
      }
    }
    // The manifest prefix alone taken out of the write statement: check names it.
    const policy = {
      ...printed.permissions_policy,
      Statement: printed.permissions_policy.Statement.map((s) =>
        s.Sid === 'WriteTransferObjects' ? { ...s, Resource: [s.Resource].flat().filter((r) => !r.includes('/_manifests/')) } : s,
      ),
    };
    await grant(how, bucket, [{ uid: writer.uid, policy }]);
    const run = await check(config, writer.secretKey);
    expect(run.status).toBe('FAILED');
    expect(run.message).toMatch(/PutObject of s3:\/\/[^ ]+\/_manifests\/_connection_check_/);
    expect(run.message).toContain(`arn:aws:s3:::${bucket}/_manifests/*`);
  });
});
