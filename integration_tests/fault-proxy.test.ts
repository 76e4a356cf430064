// The fault proxy itself: faults reach the SDK as real S3 errors, and forwarding keeps
// signatures valid.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { FaultProxy, operationOf } from './support/fault-proxy.js';
import { adminClient, freshBucket, s3Server } from './support/server.js';

describe('FaultProxy', () => {
  let proxy: FaultProxy;
  beforeAll(async () => {
    proxy = await new FaultProxy(s3Server().endpoint).start();
  });
  afterAll(() => proxy.stop());

  it.each([
    ['PUT', '/b/k', 'PutObject'],
    ['PUT', '/b/k?partNumber=1&uploadId=x', 'UploadPart'],
    ['POST', '/b/k?uploads', 'CreateMultipartUpload'],
    ['POST', '/b/k?uploadId=x', 'CompleteMultipartUpload'],
    ['DELETE', '/b/k?uploadId=x', 'AbortMultipartUpload'],
    ['DELETE', '/b/k', 'DeleteObject'],
    ['GET', '/b?list-type=2', 'ListObjects'],
    ['POST', '/', 'AssumeRole'],
  ])('operationOf(%s %s) is %s', (method, url, op) => {
    expect(operationOf(method, url)).toBe(op);
  });

  it('forwards signed requests unchanged', async () => {
    const bucket = await freshBucket('proxy');
    const client = adminClient(s3Server(), proxy.endpoint);
    proxy.rules = [];
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'a', Body: 'hello' }));
    const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: 'a' }));
    expect(await got.Body!.transformToString()).toBe('hello');
  });

  it.each(['slowdown503', 'status500', 'reset'] as const)('a %s on the first PutObject is retried by the SDK', async (fault) => {
    const bucket = await freshBucket('proxy');
    const client = adminClient(s3Server(), proxy.endpoint);
    proxy.rules = [{ operation: 'PutObject', fault, nth: 1 }];
    const before = proxy.stats.faults[`PutObject:${fault}`] ?? 0;
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'b', Body: Buffer.alloc(64 * 1024, 1) }));
    expect(proxy.stats.faults[`PutObject:${fault}`]).toBe(before + 1);
    proxy.rules = [];
  });

  it('a fault on every attempt surfaces as the S3 error code', async () => {
    const bucket = await freshBucket('proxy');
    const client = adminClient(s3Server(), proxy.endpoint);
    proxy.rules = [{ operation: 'PutObject', fault: 'slowdown503', rate: 1 }];
    await expect(client.send(new PutObjectCommand({ Bucket: bucket, Key: 'c', Body: 'x' }))).rejects.toMatchObject({ name: 'SlowDown' });
    proxy.rules = [];
  });
});
