// The S3 ObjectStore and role credentials against radosgw: what the write path relies on.

import { createHash } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { buildConfig, type Config } from '../src/config/config.js';
import { Redactor } from '../src/redact.js';
import { credentialProviderFor, stsApi, type StsApi } from '../src/storage/credentials.js';
import { createS3Store, MIN_PART_SIZE } from '../src/storage/s3-store.js';
import { ConfigError } from '../src/errors.js';
import { startHtmlServer } from './support/loopback-servers.js';
import { adminClient, freshBucket, s3Server } from './support/server.js';

const server = s3Server();

function config(bucket: string, extra: Record<string, unknown> = {}): Config {
  return buildConfig({
    s3_bucket_name: bucket,
    s3_bucket_region: 'us-east-1',
    s3_endpoint: server.endpoint,
    credentials: { auth_type: 'access_key', access_key_id: server.accessKey, secret_access_key: server.secretKey },
    ...extra,
  });
}

function pattern(n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + (i >> 10)) & 0xff;
  return b;
}

function chunks(data: Buffer, size = 256 * 1024): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < data.length; i += size) parts.push(data.subarray(i, i + size));
  return Readable.from(parts);
}

async function emptyBucket(bucket: string): Promise<void> {
  const admin = adminClient();
  const listed = await admin.send(new ListObjectsV2Command({ Bucket: bucket }));
  for (const o of listed.Contents ?? []) await admin.send(new DeleteObjectCommand({ Bucket: bucket, Key: o.Key! }));
  admin.destroy();
}

describe('S3ObjectStore on radosgw', () => {
  it('streams a multipart upload with SSE-KMS and reports the SHA-256 of what S3 stored', async () => {
    const bucket = await freshBucket('store-kms');
    const store = createS3Store(config(bucket, { encryption: { mode: 'sse_kms', kms_key_arn: 'testkey-1' } }), {
      partSizeBytes: MIN_PART_SIZE,
      redactor: new Redactor(),
    });
    const data = pattern(2 * MIN_PART_SIZE + 4321);
    const key = 'exports/m/dt=2026-01-01/part-00000_20260101T000000000Z.parquet';
    const result = await store.upload(key, chunks(data), { contentType: 'application/vnd.apache.parquet' });
    expect(result).toEqual({ key, bytes: data.length, sha256: createHash('sha256').update(data).digest('hex') });

    const admin = adminClient();
    const head = await admin.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    expect(head.ServerSideEncryption).toBe('aws:kms');
    expect(head.SSEKMSKeyId).toBe('testkey-1');
    expect(head.ETag).toMatch(/-3"$/); // three parts
    const got = await admin.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const stored = Buffer.from(await got.Body!.transformToByteArray());
    expect(createHash('sha256').update(stored).digest('hex')).toBe(result.sha256);
    admin.destroy();
    store.close();
    await emptyBucket(bucket);
  });

  it('leaves neither an object nor a multipart upload behind when an upload is aborted', async () => {
    const bucket = await freshBucket('store-abort');
    const store = createS3Store(config(bucket), { partSizeBytes: MIN_PART_SIZE, queueSize: 1, redactor: new Redactor() });
    const body = new PassThrough();
    const controller = new AbortController();
    const done = store
      .upload('aborted.parquet', body, { contentType: 'application/octet-stream', signal: controller.signal })
      .catch((e: unknown) => e);
    body.write(pattern(MIN_PART_SIZE + 10));
    const admin = adminClient();
    // Wait until the multipart upload exists on the server, then abort.
    for (let i = 0; i < 200; i++) {
      const { Uploads } = await admin.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
      if (Uploads?.length) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    controller.abort(new Error('stop'));
    expect(((await done) as Error).message).toBe('stop');
    expect((await admin.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads ?? []).toEqual([]);
    expect((await admin.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents ?? []).toEqual([]);
    admin.destroy();
    store.close();
  });

  it('puts small objects with SSE-S3 and lists a prefix', async () => {
    const bucket = await freshBucket('store-put');
    const store = createS3Store(config(bucket, { encryption: { mode: 'sse_s3' } }), { redactor: new Redactor() });
    await store.put('_manifests/m/dt=2026-01-01/manifest_1.json', '{"a":1}', { contentType: 'application/json' });
    await store.put('_manifests/m/dt=2026-01-01/manifest_2.json', Buffer.from('{"a":22}'), { contentType: 'application/json' });
    expect(await store.list('_manifests/m/')).toEqual([
      { key: '_manifests/m/dt=2026-01-01/manifest_1.json', size: 7 },
      { key: '_manifests/m/dt=2026-01-01/manifest_2.json', size: 8 },
    ]);
    await store.delete('_manifests/m/dt=2026-01-01/manifest_1.json');
    expect((await store.list('_manifests/')).map((o) => o.key)).toEqual(['_manifests/m/dt=2026-01-01/manifest_2.json']);
    store.close();
    await emptyBucket(bucket);
  });
});

describe('role credentials on radosgw', () => {
  it('renew the session before it expires while the S3 client keeps writing', async () => {
    let t = Date.now();
    const real = stsApi('us-east-1', { AWS_ENDPOINT_URL_STS: server.stsEndpoint }, async () => ({
      accessKeyId: server.accessKey,
      secretAccessKey: server.secretKey,
    }));
    const sessions: string[] = [];
    const sts: StsApi = {
      assumeRole: async (input) => {
        const out = await real.assumeRole(input);
        sessions.push(out.Credentials!.AccessKeyId!);
        // Pretend the session started at our clock's time (radosgw issues one hour).
        return { Credentials: { ...out.Credentials!, Expiration: new Date(t + 3600_000) } };
      },
      assumeRoleWithWebIdentity: real.assumeRoleWithWebIdentity,
    };
    const bucket = await freshBucket('store-renew');
    const cfg = buildConfig({
      s3_bucket_name: bucket,
      s3_bucket_region: 'us-east-1',
      s3_endpoint: server.stsEndpoint,
      credentials: { auth_type: 'iam_role', role_arn: server.roleArn },
    });
    const redactor = new Redactor();
    const credentials = credentialProviderFor(cfg, { sts, redactor, now: () => t });
    const store = createS3Store(cfg, { credentials, redactor });
    await store.put('a.json', '{}', { contentType: 'application/json' });
    t += 30 * 60_000;
    await store.put('b.json', '{}', { contentType: 'application/json' });
    expect(sessions).toHaveLength(1);
    t += 16 * 60_000; // 46 minutes into a one-hour session: renewed before the next request
    await store.put('c.json', '{}', { contentType: 'application/json' });
    expect(sessions).toHaveLength(2);
    expect(sessions[1]).not.toBe(sessions[0]);
    expect((await store.list('')).map((o) => o.key)).toEqual(['a.json', 'b.json', 'c.json']);
    store.close();
    await emptyBucket(bucket);
  });
});

describe('S3ObjectStore against an endpoint that is not S3', () => {
  it('refuses every write answered 200 with an HTML page (PutObject, small and multipart streamed uploads, explicit multipart) as a ConfigError naming the endpoint', async () => {
    const html = await startHtmlServer();
    const store = createS3Store(config('any-bucket', { s3_endpoint: html.endpoint }), { partSizeBytes: MIN_PART_SIZE, redactor: new Redactor() });
    try {
      const attempts: [string, () => Promise<unknown>][] = [
        ['PutObject', () => store.put('m/_manifests/a.json', '{}', { contentType: 'application/json' })],
        ['PutObject', () => store.upload('m/small.parquet', chunks(pattern(1000)), { contentType: 'application/octet-stream' })],
        [
          'CreateMultipartUpload',
          () => store.upload('m/big.parquet', chunks(pattern(MIN_PART_SIZE + 1000)), { contentType: 'application/octet-stream' }),
        ],
        ['CreateMultipartUpload', () => store.upload('m/forced.txt', chunks(pattern(10)), { contentType: 'text/plain', forceMultipart: true })],
      ];
      for (const [operation, attempt] of attempts) {
        const err = await attempt().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err, operation).toBeInstanceOf(ConfigError);
        expect((err as Error).message).toMatch(new RegExp(`^${operation} of s3://any-bucket/m/`));
        expect((err as Error).message).toContain(`the S3 endpoint ${html.endpoint}`);
        expect((err as Error).message).toContain('not an S3 answer');
      }
    } finally {
      store.close();
      await html.stop();
    }
  });
});
