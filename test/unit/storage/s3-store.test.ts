import { createHash } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { fakeS3, type Call } from '../support/fake-s3.js';
import type { Encryption } from '../../../src/config/config.js';
import { ConfigError } from '../../../src/errors.js';
import { encryptionHeaders, s3ClientConfig } from '../../../src/storage/s3-client.js';
import { MIN_PART_SIZE, S3ObjectStore, type StoreConfig } from '../../../src/storage/s3-store.js';

const kms: Encryption = { mode: 'sse_kms', kmsKeyArn: 'arn:aws:kms:us-east-1:123456789012:key/k' };

function storeConfig(encryption: Encryption): StoreConfig {
  return {
    bucket: 'b',
    region: 'us-east-1',
    endpoint: 'http://127.0.0.1:9',
    encryption,
    credentials: { authType: 'default_chain' },
    uploadConcurrency: 2,
  };
}

function bytes(n: number, seed = 7): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * seed + (i >> 8)) & 0xff;
  return b;
}

/** A stream that hands out a buffer in small chunks, as a format writer would. */
function chunked(data: Buffer, size = 64 * 1024): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < data.length; i += size) parts.push(data.subarray(i, i + size));
  return Readable.from(parts);
}

describe('encryptionHeaders', () => {
  it('sends no header for bucket_default, AES256 for sse_s3, aws:kms with the key for sse_kms', () => {
    expect(encryptionHeaders({ mode: 'bucket_default' })).toEqual({});
    expect(encryptionHeaders({ mode: 'sse_s3' })).toEqual({ ServerSideEncryption: 'AES256' });
    expect(encryptionHeaders(kms)).toEqual({ ServerSideEncryption: 'aws:kms', SSEKMSKeyId: kms.kmsKeyArn });
  });
});

describe('s3ClientConfig', () => {
  const credentials = async () => ({ accessKeyId: 'a', secretAccessKey: 'b' });

  it('uses path-style addressing and checksums only where required for a custom endpoint', () => {
    const c = s3ClientConfig({ region: 'us-east-1', endpoint: 'http://127.0.0.1:7480' }, credentials);
    expect(c).toMatchObject({
      endpoint: 'http://127.0.0.1:7480',
      forcePathStyle: true,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  });

  it("keeps AWS's own endpoint and checksums without a custom endpoint, and never follows region redirects", () => {
    const c = s3ClientConfig({ region: 'eu-west-1', endpoint: undefined }, credentials);
    expect(c.endpoint).toBeUndefined();
    expect(c.forcePathStyle).toBeUndefined();
    expect(c.requestChecksumCalculation).toBeUndefined();
    expect(c).toMatchObject({ region: 'eu-west-1', retryMode: 'adaptive', maxAttempts: 10, followRegionRedirects: false });
    expect(s3ClientConfig({ region: 'eu-west-1', endpoint: undefined }, credentials, { maxAttempts: 3 }).maxAttempts).toBe(3);
  });
});

describe('S3ObjectStore', () => {
  for (const encryption of [{ mode: 'bucket_default' } as const, { mode: 'sse_s3' } as const, kms]) {
    it(`sends the ${encryption.mode} headers with every PutObject and CreateMultipartUpload`, async () => {
      const { client, calls } = fakeS3();
      const store = new S3ObjectStore(client, storeConfig(encryption), { partSizeBytes: MIN_PART_SIZE });
      await store.put('_manifests/m.json', '{}', { contentType: 'application/json' });
      await store.upload('small.parquet', chunked(bytes(1000)), { contentType: 'application/octet-stream' });
      await store.upload('big.parquet', chunked(bytes(MIN_PART_SIZE * 2 + 10)), { contentType: 'application/octet-stream' });
      await store.upload('check.txt', chunked(bytes(10)), { contentType: 'text/plain', forceMultipart: true });
      const writes = calls.filter((c) => c.op === 'PutObject' || c.op === 'CreateMultipartUpload');
      expect(writes.map((c) => c.op)).toEqual(['PutObject', 'PutObject', 'CreateMultipartUpload', 'CreateMultipartUpload']);
      for (const w of writes) {
        expect(w.input.ServerSideEncryption).toBe(encryptionHeaders(encryption).ServerSideEncryption);
        expect(w.input.SSEKMSKeyId).toBe(encryptionHeaders(encryption).SSEKMSKeyId);
      }
    });
  }

  it('streams a body in parts and reports its byte count and SHA-256', async () => {
    const { client, calls } = fakeS3();
    const store = new S3ObjectStore(client, storeConfig({ mode: 'bucket_default' }), { partSizeBytes: MIN_PART_SIZE });
    const data = bytes(MIN_PART_SIZE * 2 + 12345);
    const result = await store.upload('m/dt=2026-01-01/part-00000_x.parquet', chunked(data), { contentType: 'application/octet-stream' });
    expect(result).toEqual({
      key: 'm/dt=2026-01-01/part-00000_x.parquet',
      bytes: data.length,
      sha256: createHash('sha256').update(data).digest('hex'),
    });
    const parts = calls.filter((c) => c.op === 'UploadPart').sort((a, b) => a.input.PartNumber - b.input.PartNumber);
    expect(parts).toHaveLength(3);
    // Buffer.equals: a deep equality of megabytes is far too slow.
    expect(Buffer.concat(parts.map((p) => Buffer.from(p.input.Body))).equals(data)).toBe(true);
    const complete = calls.find((c) => c.op === 'CompleteMultipartUpload')!;
    expect(complete.input.MultipartUpload.Parts.map((p: { ETag: string }) => p.ETag)).toEqual(['"etag-1"', '"etag-2"', '"etag-3"']);
  });

  it('does an explicit multipart upload of one part for a small body when asked to', async () => {
    const { client, calls } = fakeS3();
    const store = new S3ObjectStore(client, storeConfig({ mode: 'sse_s3' }));
    const result = await store.upload('check.txt', chunked(Buffer.from('hello')), { contentType: 'text/plain', forceMultipart: true });
    expect(calls.map((c) => c.op)).toEqual(['CreateMultipartUpload', 'UploadPart', 'CompleteMultipartUpload']);
    expect(Buffer.from(calls[1]!.input.Body).toString()).toBe('hello');
    expect(result.bytes).toBe(5);
  });

  for (const forceMultipart of [false, true]) {
    it(`aborts the multipart upload when a part fails, and reports the classified error (forceMultipart ${forceMultipart})`, async () => {
      const { client, calls } = fakeS3({ op: 'UploadPart', code: 'AccessDenied', status: 403, afterCalls: 1 });
      const store = new S3ObjectStore(client, storeConfig(kms), { partSizeBytes: MIN_PART_SIZE, queueSize: 1 });
      const err = await store
        .upload('f.parquet', chunked(bytes(MIN_PART_SIZE * 3)), { contentType: 'application/octet-stream', forceMultipart })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toMatch(/^UploadPart of s3:\/\/b\/f\.parquet was denied/);
      expect(calls.filter((c) => c.op === 'AbortMultipartUpload').map((c) => c.input.UploadId)).toEqual(['upload-1']);
      expect(calls.some((c) => c.op === 'CompleteMultipartUpload')).toBe(false);
    });

    it(`aborts the multipart upload before rejecting when the caller's signal aborts mid-stream (forceMultipart ${forceMultipart})`, async () => {
      const { client, calls } = fakeS3();
      const store = new S3ObjectStore(client, storeConfig({ mode: 'bucket_default' }), { partSizeBytes: MIN_PART_SIZE, queueSize: 1 });
      const body = new PassThrough();
      const controller = new AbortController();
      const done = store
        .upload('f.parquet', body, { contentType: 'application/octet-stream', signal: controller.signal, forceMultipart })
        .catch((e: unknown) => e);
      body.write(bytes(MIN_PART_SIZE + 1));
      while (!calls.some((c) => c.op === 'UploadPart')) await new Promise((r) => setTimeout(r, 5));
      const reason = new Error('shutting down');
      controller.abort(reason);
      expect(await done).toBe(reason);
      // Settled only once the multipart upload is aborted: the caller can rely on it.
      expect(calls.filter((c) => c.op === 'AbortMultipartUpload')).toHaveLength(1);
      expect(calls.some((c) => c.op === 'CompleteMultipartUpload')).toBe(false);
      expect(body.destroyed).toBe(true);
    });
  }

  it("fails an upload whose body fails, with the body's error, and leaves no multipart upload", async () => {
    const { client, calls } = fakeS3();
    const store = new S3ObjectStore(client, storeConfig({ mode: 'bucket_default' }), { partSizeBytes: MIN_PART_SIZE, queueSize: 1 });
    const body = new PassThrough();
    const done = store.upload('f.parquet', body, { contentType: 'application/octet-stream' }).catch((e: unknown) => e);
    body.write(bytes(MIN_PART_SIZE + 1));
    while (!calls.some((c) => c.op === 'UploadPart')) await new Promise((r) => setTimeout(r, 5));
    const failure = new ConfigError('the writer failed');
    body.destroy(failure);
    expect(await done).toBe(failure);
    expect(calls.filter((c) => c.op === 'AbortMultipartUpload')).toHaveLength(1);
  });

  it('lists every page of a prefix', async () => {
    const calls: Call[] = [];
    const client = new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
    client.middlewareStack.add(
      () => async (args) => {
        const input = args.input as Record<string, any>;
        calls.push({ op: 'ListObjectsV2', input });
        const page = input.ContinuationToken
          ? { Contents: [{ Key: 'p/b', Size: 2 }], IsTruncated: false }
          : { Contents: [{ Key: 'p/a', Size: 1 }], IsTruncated: true, NextContinuationToken: 'next' };
        return { output: { $metadata: {}, ...page }, response: {} };
      },
      { step: 'initialize', priority: 'high' },
    );
    const store = new S3ObjectStore(client, storeConfig({ mode: 'bucket_default' }));
    expect(await store.list('p/')).toEqual([
      { key: 'p/a', size: 1 },
      { key: 'p/b', size: 2 },
    ]);
    expect(calls.map((c) => c.input.Prefix)).toEqual(['p/', 'p/']);
  });
});

/**
 * A client whose answers are stubbed before serialisation, except that CompleteMultipartUpload
 * fails as after a retry (the SDK's attempts count is 2) with NoSuchUpload: a store that
 * completed the upload on the first attempt, whose answer was lost. A real server cannot be made
 * to do this (radosgw answers a repeated Complete with success), so the SDK is stubbed here.
 */
function completedButLost(options: { objectBytes: number | 'denied'; attempts?: number }): { client: S3Client; calls: Call[] } {
  const calls: Call[] = [];
  const client = new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
  client.middlewareStack.add(
    (_next, context) => async (args) => {
      const op = context.commandName!.replace(/Command$/, '');
      const input = args.input as Record<string, any>;
      calls.push({ op, input });
      const fail = (name: string, status: number, attempts: number) => {
        throw Object.assign(new S3ServiceException({ name, $fault: 'client', $metadata: { httpStatusCode: status, attempts } }), { Code: name });
      };
      if (op === 'CompleteMultipartUpload') fail('NoSuchUpload', 404, options.attempts ?? 2);
      if (op === 'AbortMultipartUpload') fail('NoSuchUpload', 404, 1);
      if (op === 'HeadObject') {
        if (options.objectBytes === 'denied') fail('Forbidden', 403, 1);
        return { output: { $metadata: {}, ContentLength: options.objectBytes }, response: {} };
      }
      const outputs: Record<string, () => object> = {
        CreateMultipartUpload: () => ({ UploadId: 'upload-1' }),
        UploadPart: () => ({ ETag: `"etag-${input.PartNumber}"` }),
      };
      return { output: { $metadata: {}, ...(outputs[op]?.() ?? {}) }, response: {} };
    },
    // after the store's own watch (initialize step), before serialisation
    { step: 'serialize', priority: 'high', name: 'completedButLost' },
  );
  return { client, calls };
}

describe('S3ObjectStore after a retried CompleteMultipartUpload answered NoSuchUpload', () => {
  const data = bytes(MIN_PART_SIZE + 1000);
  const sha256 = createHash('sha256').update(data).digest('hex');

  for (const forceMultipart of [false, true]) {
    it(`accepts the object when HeadObject finds it with the bytes uploaded (forceMultipart ${forceMultipart})`, async () => {
      const { client, calls } = completedButLost({ objectBytes: data.length });
      const store = new S3ObjectStore(client, storeConfig({ mode: 'bucket_default' }), { partSizeBytes: MIN_PART_SIZE, queueSize: 1 });
      const result = await store.upload('m/part-00000.parquet', chunked(data), { contentType: 'application/octet-stream', forceMultipart });
      expect(result).toEqual({ key: 'm/part-00000.parquet', bytes: data.length, sha256 });
      expect(calls.filter((c) => c.op === 'HeadObject').map((c) => c.input.Key)).toEqual(['m/part-00000.parquet']);
    });
  }

  it('keeps the error when the object found has another size', async () => {
    const { client } = completedButLost({ objectBytes: data.length - 1 });
    const store = new S3ObjectStore(client, storeConfig({ mode: 'bucket_default' }), { partSizeBytes: MIN_PART_SIZE, queueSize: 1 });
    const err = await store.upload('k', chunked(data), { contentType: 'application/octet-stream' }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/^Upload of s3:\/\/b\/k failed/);
  });

  it('keeps the error when HeadObject is denied (s3:GetObject is not among the permissions write needs)', async () => {
    const { client } = completedButLost({ objectBytes: 'denied' });
    const store = new S3ObjectStore(client, storeConfig({ mode: 'bucket_default' }), { partSizeBytes: MIN_PART_SIZE, queueSize: 1 });
    const err = await store.upload('k', chunked(data), { contentType: 'application/octet-stream' }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/^Upload of s3:\/\/b\/k failed/);
  });

  it('does not look for the object when Complete was not retried (NoSuchUpload on the first attempt: the upload was aborted)', async () => {
    const { client, calls } = completedButLost({ objectBytes: data.length, attempts: 1 });
    const store = new S3ObjectStore(client, storeConfig({ mode: 'bucket_default' }), { partSizeBytes: MIN_PART_SIZE, queueSize: 1 });
    await expect(store.upload('k', chunked(data), { contentType: 'application/octet-stream' })).rejects.toThrow(/^Upload of s3:\/\/b\/k failed/);
    expect(calls.some((c) => c.op === 'HeadObject')).toBe(false);
  });
});
