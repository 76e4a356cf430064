// write: the bucket's write permission is removed in the middle of a sync.
// The files here are small (single PutObjects), and a policy that denies s3:PutObject denies
// CreateMultipartUpload too, so no multipart upload can be left behind by this test: aborting
// multipart uploads on a failure is checked in reliability/faults.test.ts ("a fault that
// persists on UploadPart aborts every multipart upload (none left behind)").

import { describe, expect, it } from 'vitest';
import { PutBucketPolicyCommand } from '@aws-sdk/client-s3';
import { startCli, tempJson } from './support/cli.js';
import { getObject, listKeys, manifests, parquetRows } from './support/read-back.js';
import { accessKeyConfig, catalog, recordLine, streamStateLine, streamStatusLine } from './support/messages.js';
import { adminClient, createUser, freshBucket, s3Server } from './support/server.js';

function policy(bucket: string, uid: string, denyPut: boolean): string {
  const principal = { AWS: [`arn:aws:iam:::user/${uid}`] };
  const statements: object[] = [
    { Effect: 'Allow', Principal: principal, Action: ['s3:*'], Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`] },
  ];
  if (denyPut) statements.push({ Effect: 'Deny', Principal: principal, Action: ['s3:PutObject'], Resource: [`arn:aws:s3:::${bucket}/*`] });
  return JSON.stringify({ Version: '2012-10-17', Statement: statements });
}

describe('write when S3 refuses mid-sync', () => {
  it('keeps the earlier checkpoints listed and readable, echoes no later state and reports a config error naming s3:PutObject', async () => {
    const server = s3Server();
    const bucket = await freshBucket('write-revoked');
    const user = await createUser('writer');
    const admin = adminClient();
    await admin.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: policy(bucket, user.uid, false) }));
    const config = tempJson(
      'config.json',
      accessKeyConfig(server, bucket, {
        flush_interval_seconds: 10,
        credentials: { auth_type: 'access_key', access_key_id: user.accessKey, secret_access_key: user.secretKey },
      }),
    );
    const cat = tempJson('catalog.json', catalog([{ name: 'a' }, { name: 'b' }]));
    // startCli scans the run's stdout and stderr for the writer's secret too.
    const live = startCli(['write', '--config', config, '--catalog', cat], { secrets: [user.secretKey] });
    // Phase 1: records and a state; the 10 s flush interval finishes the file and echoes it.
    for (let i = 0; i < 100; i++) await live.write(recordLine(i % 2 ? 'a' : 'b', { id: i }, 1_700_000_000_000 + i) + '\n');
    await live.write(streamStateLine('a', 'first') + '\n');
    await live.write(streamStateLine('b', 'first') + '\n');
    await live.waitFor((m) => m.type === 'STATE');
    // Phase 2: the write permission is taken away, then more data arrives.
    await admin.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: policy(bucket, user.uid, true) }));
    for (let i = 100; i < 200; i++) await live.write(recordLine(i % 2 ? 'a' : 'b', { id: i }, 1_700_000_000_000 + i) + '\n');
    await live.write(streamStateLine('a', 'second') + '\n');
    // the source ends both streams normally: the refusal is met when their files are finished
    live.child.stdin.end([streamStatusLine('a'), streamStatusLine('b')].join('\n') + '\n');
    const result = await live.done;
    expect(result.code, result.stderr).toBe(1);
    const out = result.messages;
    const trace = out.find((m) => m.type === 'TRACE')!;
    expect(trace.trace.error.failure_type).toBe('config_error');
    expect(trace.trace.error.message).toMatch(/s3:PutObject/);
    const states = out.filter((m) => m.type === 'STATE').map((m) => m.state.stream.stream_state.cursor);
    expect(states).not.toContain('second');
    expect(states.filter((c) => c === 'first').length).toBeGreaterThanOrEqual(1);

    // Everything a manifest lists exists and holds the rows the echoed states cover. The
    // objects belong to the writer (no ACL grants the bucket owner), so read them as the writer.
    const reader = adminClient({ ...server, accessKey: user.accessKey, secretKey: user.secretKey });
    const keys = await listKeys(bucket, '', reader);
    const listed = (await manifests(bucket, '_manifests/', reader)).flatMap((m) => m.files);
    expect(listed.length).toBeGreaterThan(0);
    const ids: number[] = [];
    for (const f of listed) {
      expect(keys).toContain(f.key);
      ids.push(...(await parquetRows(await getObject(bucket, f.key, reader))).map((r) => Number(r.id)));
    }
    const echoed = new Set(out.filter((m) => m.type === 'STATE').map((m) => m.state.stream.stream_descriptor.name));
    for (const name of echoed) {
      const expected = Array.from({ length: 100 }, (_, i) => i).filter((i) => (name === 'a' ? i % 2 === 1 : i % 2 === 0));
      for (const id of expected) expect(ids).toContain(id);
    }
  });
});
