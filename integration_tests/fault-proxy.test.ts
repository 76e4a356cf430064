// The fault proxy itself: faults reach the SDK as real S3 errors, and forwarding keeps
// signatures valid.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
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

/** A stand-in for the store that tells, per request, how much of its body arrived and whether all of it did. */
async function recordingUpstream(): Promise<{ endpoint: string; next(): Promise<{ bytes: number; complete: boolean }>; close(): Promise<void> }> {
  const arrivals: { bytes: number; complete: boolean }[] = [];
  const waiters: ((a: { bytes: number; complete: boolean }) => void)[] = [];
  const server = http.createServer((req, res) => {
    let bytes = 0;
    req.on('data', (c: Buffer) => (bytes += c.length));
    req.on('end', () => res.end('ok'));
    req.on('close', () => {
      const arrival = { bytes, complete: req.complete };
      const waiter = waiters.shift();
      if (waiter) waiter(arrival);
      else arrivals.push(arrival);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    next: () => new Promise((r) => (arrivals.length ? r(arrivals.shift()!) : waiters.push(r))),
    close: () => {
      server.closeAllConnections();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

/** Sends a PUT through the proxy; resolves with the status code, or the error the client met. */
function put(endpoint: string, body: Buffer, chunked: boolean): Promise<number | string> {
  return new Promise((resolve) => {
    const req = http.request(`${endpoint}/bucket/key`, {
      method: 'PUT',
      headers: chunked ? { 'transfer-encoding': 'chunked' } : { 'content-length': String(body.length) },
    });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode!);
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    req.write(body);
    req.end();
  });
}

describe('FaultProxy faults, seen from both sides', () => {
  let upstream: Awaited<ReturnType<typeof recordingUpstream>>;
  let proxy: FaultProxy;
  beforeAll(async () => {
    upstream = await recordingUpstream();
    proxy = await new FaultProxy(upstream.endpoint).start();
  });
  afterAll(async () => {
    await proxy.stop();
    await upstream.close();
  });

  it.each([
    ['a small body with a Content-Length', false, 10],
    ['a body without a Content-Length (chunked)', true, 1000],
  ])('a reset cuts %s in the middle: the store gets part of it, the client a reset', async (_name, chunked, size) => {
    proxy.rules = [{ operation: 'PutObject', fault: 'reset', rate: 1 }];
    const outcome = await put(proxy.endpoint, Buffer.alloc(size, 0x61), chunked);
    const arrival = await upstream.next();
    expect(outcome).toMatch(/ECONNRESET|EPIPE|socket hang up/);
    expect(arrival.complete).toBe(false);
    expect(arrival.bytes).toBeGreaterThan(0);
    expect(arrival.bytes).toBeLessThan(size);
    if (!chunked) expect(arrival.bytes).toBe(size / 2);
  });

  it('every: N faults exactly every Nth matching request', async () => {
    proxy.rules = [{ operation: 'PutObject', fault: 'status500', every: 3 }];
    const outcomes: (number | string)[] = [];
    for (let i = 0; i < 7; i++) outcomes.push(await put(proxy.endpoint, Buffer.from('x'), false));
    expect(outcomes).toEqual([200, 200, 500, 200, 200, 500, 200]);
    proxy.rules = [];
  });
});
