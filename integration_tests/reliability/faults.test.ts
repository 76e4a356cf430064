// S3 faults during `write` (docs/reliability.md, docs/architecture.md "Errors"): through a fault-injecting proxy, a sync
// with more than 10% of its S3 requests failing (500, 503 SlowDown, a reset mid-body, an answer
// lost after the store did the request; latency besides) still lands every row exactly once and
// echoes every state; a fault that persists fails the sync as transient_error with the earlier
// checkpoints intact and no multipart upload left behind. And `check` through S3 and STS faults.

import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { buildConfig } from '../../src/config/config.js';
import { Redactor } from '../../src/redact.js';
import { createS3Store, MIN_PART_SIZE } from '../../src/storage/s3-store.js';
import { runCli, startCli, tempJson } from '../support/cli.js';
import { ALL_FAULTS, FAILING_FAULTS, FaultProxy, seeded } from '../support/fault-proxy.js';
import {
  cleanedBuckets,
  echoedTokens,
  expectEchoedCovered,
  expectInInputOrder,
  expectNoDuplicateIds,
  manifestKeys,
  multipartUploads,
  readListedFiles,
  readManifests,
  unlistedDataObjects,
} from '../support/invariants.js';
import { startHtmlServer } from '../support/loopback-servers.js';
import { accessKeyConfig, catalog, recordLine, streamStateLine, streamStatusLine } from '../support/messages.js';
import { getObject, listKeys } from '../support/read-back.js';
import { s3Server } from '../support/server.js';
import { concatWorkloads, expectedRecordCounts, makeWorkload, stateToken, workloadCatalog } from '../support/workload.js';

const server = s3Server();
/** Buckets of this file, emptied after its tests (big test data). */
const freshBucket = cleanedBuckets();
const DEBUG_ENV = { DESTINATION_S3_EXPORT_DEBUG: '1' };
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

let proxy: FaultProxy | undefined;
afterEach(async () => {
  await proxy?.stop();
  proxy = undefined;
});

describe('write through S3 faults', () => {
  it('a 10-stream sync with over 10% of its S3 requests failing (mixed kinds, PutObject and multipart) lands every row once and echoes every state', async () => {
    proxy = await new FaultProxy(server.endpoint, 20260501).start();
    // every 8th request fails, the four failing kinds in turn (12.5% whatever the timing);
    // another 5% at random are only late
    proxy.rules = [
      { operation: '*', fault: FAILING_FAULTS, every: 8 },
      { operation: '*', fault: 'latency', rate: 0.05, delayMs: [100, 1500] },
    ];
    const streams = range(10).map((i) => `s${i}`);
    const perStream = 2200;
    const work = makeWorkload({ streams, recordsPerStream: perStream, payloadChars: 1000, stateEvery: 100, globalEvery: 1500, seed: 11 });
    // files of 1 MB go up with PutObject; two records of 9 MB (incompressible) make files of
    // two multipart parts each
    const random = seeded(12);
    for (const [stream, id] of [
      ['s4', 1500],
      ['s9', 100],
    ] as const) {
      const at = work.lines.findIndex((l) => l.includes(`"stream":"${stream}"`) && l.includes(`"id":${id},`));
      const big = Buffer.from(Array.from({ length: 9 * 1024 * 1024 }, () => '0123456789abcdef'.charCodeAt(Math.floor(random() * 16)))).toString(
        'latin1',
      );
      work.lines[at] = recordLine(stream, { id, name: big, updated_at: '2024-05-01T10:00:00.123456Z' }, 1_700_000_000_000 + at);
    }
    const bucket = await freshBucket('rel-faults');
    const config = tempJson('config.json', accessKeyConfig(server, bucket, { s3_endpoint: proxy.endpoint, file_size_mb: 1 }));
    const started = Date.now();
    const res = await runCli(['write', '--config', config, '--catalog', tempJson('catalog.json', workloadCatalog(streams))], {
      stdin: work.text(),
      env: DEBUG_ENV,
    });
    const seconds = (Date.now() - started) / 1000;
    expect(res.code, res.lines.filter((l) => l.includes('TRACE')).join('\n') + res.stderr.slice(-2000)).toBe(0);

    // every state echoed, once, in input order, with the records it covers counted
    const tokens = echoedTokens(res.messages);
    expect(tokens).toEqual(work.states.map((s) => s.token));
    expectInInputOrder(work, tokens);
    const expected = expectedRecordCounts(work);
    for (const m of res.messages.filter((x) => x.type === 'STATE')) {
      expect(m.state.destinationStats.recordCount, `recordCount of ${stateToken(m)}`).toBe(expected.get(stateToken(m)!));
    }

    // rows read back == rows sent: each id of each stream exactly once, in complete listed files
    const manifests = await readManifests(bucket, await manifestKeys(bucket));
    expect(manifests).toHaveLength(streams.length);
    for (const m of manifests) expect(m.status).toBe('complete');
    const ids = await readListedFiles(bucket, manifests);
    expectNoDuplicateIds(ids);
    for (const s of streams) expect(ids.get(s)!.sort((a, b) => a - b)).toEqual(range(perStream));
    expectEchoedCovered(work, tokens, ids);
    // no duplicate object: nothing in the bucket that no manifest lists; no upload left open
    expect(await unlistedDataObjects(bucket, manifests)).toEqual([]);
    expect(await multipartUploads(bucket)).toEqual([]);

    // the faults really happened: failing kinds alone on at least 10% of the S3 requests, each
    // kind, on PutObject and on the multipart operations
    const requests = proxy.stats.requests;
    const failing = Object.entries(proxy.stats.faults).filter(([k]) => !k.endsWith(':latency'));
    const failed = failing.reduce((n, [, v]) => n + v, 0);
    expect(failed / proxy.requestCount).toBeGreaterThanOrEqual(0.1);
    expect(new Set(failing.map(([k]) => k.split(':')[1])).size).toBe(FAILING_FAULTS.length);
    expect(requests.PutObject).toBeGreaterThan(0);
    for (const op of ['CreateMultipartUpload', 'UploadPart', 'CompleteMultipartUpload']) expect(requests[op], op).toBeGreaterThan(0);
    const files = manifests.reduce((n, m) => n + m.files.length, 0);
    console.info(
      `[reliability] 10-stream faults: ${proxy.requestCount} S3 requests ${JSON.stringify(requests)}, ${failed} failed (${((100 * failed) / proxy.requestCount).toFixed(1)}%), ` +
        `${proxy.faultCount - failed} only late; faults ${JSON.stringify(proxy.stats.faults)}; ` +
        `${files} files, ${tokens.length} states echoed, ${streams.length * perStream} rows sent and read back, 0 lost, 0 duplicated; ${seconds.toFixed(1)} s`,
    );
  });

  it('multipart uploads through faults on every multipart operation land every row once', async () => {
    proxy = await new FaultProxy(server.endpoint, 4242).start();
    // each multipart operation meets each kind of fault at least once, plus ~10% at random
    proxy.rules = [
      { operation: 'CreateMultipartUpload', fault: 'status500', nth: 1 },
      { operation: 'CreateMultipartUpload', fault: 'dropResponse', nth: 3 },
      { operation: 'UploadPart', fault: 'latency', nth: 1, delayMs: 1500 },
      { operation: 'UploadPart', fault: 'reset', nth: 2 },
      { operation: 'UploadPart', fault: 'dropResponse', nth: 4 },
      { operation: 'UploadPart', fault: 'slowdown503', nth: 6 },
      { operation: 'CompleteMultipartUpload', fault: 'dropResponse', nth: 1 },
      { operation: 'CompleteMultipartUpload', fault: 'status500', nth: 2 },
      { operation: 'CompleteMultipartUpload', fault: 'reset', nth: 4 },
      { operation: '*', fault: ALL_FAULTS, rate: 0.1, delayMs: [100, 1000] },
    ];
    const streams = ['big0', 'big1'];
    const perStream = 22_000;
    const work = makeWorkload({ streams, recordsPerStream: perStream, payloadChars: 1000, stateEvery: 500, seed: 5 });
    const bucket = await freshBucket('rel-mpu');
    const config = tempJson('config.json', accessKeyConfig(server, bucket, { s3_endpoint: proxy.endpoint, file_size_mb: 12 }));
    const res = await runCli(['write', '--config', config, '--catalog', tempJson('catalog.json', workloadCatalog(streams))], {
      stdin: work.text(),
      env: DEBUG_ENV,
    });
    expect(res.code, res.lines.filter((l) => l.includes('TRACE')).join('\n') + res.stderr.slice(-2000)).toBe(0);
    expect(echoedTokens(res.messages)).toEqual(work.states.map((s) => s.token));
    const manifests = await readManifests(bucket, await manifestKeys(bucket));
    const ids = await readListedFiles(bucket, manifests);
    expectNoDuplicateIds(ids);
    for (const s of streams) expect(ids.get(s)!.sort((a, b) => a - b)).toEqual(range(perStream));
    expect(await unlistedDataObjects(bucket, manifests)).toEqual([]);
    expect(await multipartUploads(bucket)).toEqual([]);
    // the files really were multipart uploads, and every planned fault fired
    expect(proxy.stats.requests.CompleteMultipartUpload).toBeGreaterThanOrEqual(4);
    for (const rule of [
      'CreateMultipartUpload:status500',
      'CreateMultipartUpload:dropResponse',
      'UploadPart:reset',
      'UploadPart:dropResponse',
      'UploadPart:slowdown503',
      'CompleteMultipartUpload:dropResponse',
      'CompleteMultipartUpload:status500',
      'CompleteMultipartUpload:reset',
    ]) {
      expect(proxy.stats.faults[rule], rule).toBeGreaterThanOrEqual(1);
    }
    console.info(
      `[reliability] multipart faults: ${proxy.requestCount} S3 requests ${JSON.stringify(proxy.stats.requests)}, ${proxy.faultCount} faults ${JSON.stringify(proxy.stats.faults)}; ${manifests.reduce((n, m) => n + m.files.length, 0)} files; ${2 * perStream} rows, 0 lost, 0 duplicated`,
    );
  });

  it('a lost CreateMultipartUpload answer (the SDK retries it) leaves no stray multipart upload behind', async () => {
    proxy = await new FaultProxy(server.endpoint, 1).start();
    proxy.rules = [{ operation: 'CreateMultipartUpload', fault: 'dropResponse', nth: 1 }];
    const bucket = await freshBucket('rel-stray');
    const store = createS3Store(buildConfig(accessKeyConfig(server, bucket, { s3_endpoint: proxy.endpoint })), {
      partSizeBytes: MIN_PART_SIZE,
      redactor: new Redactor(),
    });
    const data = Buffer.alloc(MIN_PART_SIZE + 1000, 7);
    const result = await store.upload('m/part-00000.parquet', Readable.from([data]), { contentType: 'application/octet-stream' });
    store.close();
    expect(result.bytes).toBe(data.length);
    expect(proxy.stats.faults['CreateMultipartUpload:dropResponse']).toBe(1);
    expect(proxy.stats.requests.CreateMultipartUpload).toBe(2);
    expect(await multipartUploads(bucket)).toEqual([]);
    expect((await getObject(bucket, 'm/part-00000.parquet')).length).toBe(data.length);
  });

  it('a fault that persists (every PutObject fails) ends the sync as transient_error with the earlier checkpoints listed and readable', async () => {
    proxy = await new FaultProxy(server.endpoint, 99).start();
    const streams = ['p0', 'p1', 'p2'];
    const work = makeWorkload({ streams, recordsPerStream: 3000, payloadChars: 1000, stateEvery: 100, seed: 3 });
    const bucket = await freshBucket('rel-persist');
    const config = tempJson('config.json', accessKeyConfig(server, bucket, { s3_endpoint: proxy.endpoint, file_size_mb: 1 }));
    const live = startCli(['write', '--config', config, '--catalog', tempJson('catalog.json', workloadCatalog(streams))], { env: DEBUG_ENV });
    const half = Math.floor(work.lines.length / 2);
    await live.write(work.lines.slice(0, half).join('\n') + '\n');
    await live.waitFor((m) => m.type === 'STATE');
    proxy.rules = [{ operation: 'PutObject', fault: 'status500', rate: 1 }];
    const started = Date.now();
    await live.write(work.lines.slice(half).join('\n') + '\n');
    // stdin stays open (a slow source): the failure must end the sync by itself
    const exited = await Promise.race([live.done.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 90_000))]);
    if (!exited) live.child.stdin.end();
    const res = await live.done;
    const seconds = (Date.now() - started) / 1000;
    expect(exited, 'the sync waited for more input after S3 failed').toBe(true);
    expect(res.code).toBe(1);
    const traces = res.messages.filter((m) => m.type === 'TRACE');
    expect(traces).toHaveLength(1);
    expect(traces[0]!.trace.error.failure_type).toBe('transient_error');
    expect(traces[0]!.trace.error.message).toMatch(/PutObject|Upload/);
    const tokens = echoedTokens(res.messages);
    expect(tokens.length).toBeGreaterThan(0);
    expect(tokens.length).toBeLessThan(work.states.length);
    // a stream whose first commit came after the fault has no manifest (every PutObject fails)
    const manifests = await readManifests(bucket, await manifestKeys(bucket));
    expect(manifests.length).toBeGreaterThan(0);
    const ids = await readListedFiles(bucket, manifests);
    expectNoDuplicateIds(ids);
    expectEchoedCovered(work, tokens, ids);
    expect(await multipartUploads(bucket)).toEqual([]);
    console.info(
      `[reliability] persistent PutObject fault: exit after ${seconds.toFixed(1)} s, ${tokens.length} states echoed before it, ${proxy.faultCount} faults`,
    );
  });

  it('a fault that persists on UploadPart aborts every multipart upload (none left behind)', async () => {
    proxy = await new FaultProxy(server.endpoint, 7).start();
    const streams = ['m0', 'm1'];
    const work = makeWorkload({ streams, recordsPerStream: 22_000, payloadChars: 1000, stateEvery: 500, seed: 9 });
    const bucket = await freshBucket('rel-persist-mpu');
    const config = tempJson('config.json', accessKeyConfig(server, bucket, { s3_endpoint: proxy.endpoint, file_size_mb: 12 }));
    const live = startCli(['write', '--config', config, '--catalog', tempJson('catalog.json', workloadCatalog(streams))], { env: DEBUG_ENV });
    const cut = Math.floor(work.lines.length * 0.6);
    await live.write(work.lines.slice(0, cut).join('\n') + '\n');
    await live.waitFor((m) => m.type === 'STATE');
    proxy.rules = [{ operation: 'UploadPart', fault: 'status500', rate: 1 }];
    await live.write(work.lines.slice(cut).join('\n') + '\n');
    live.child.stdin.end();
    const res = await live.done;
    expect(res.code).toBe(1);
    expect(res.messages.find((m) => m.type === 'TRACE')!.trace.error.failure_type).toBe('transient_error');
    expect(proxy.stats.faults['UploadPart:status500']).toBeGreaterThan(0);
    expect(proxy.stats.requests.AbortMultipartUpload).toBeGreaterThan(0);
    expect(await multipartUploads(bucket)).toEqual([]);
    const manifests = await readManifests(bucket, await manifestKeys(bucket));
    const ids = await readListedFiles(bucket, manifests);
    expectEchoedCovered(work, echoedTokens(res.messages), ids);
  });

  it('a failure in one stream while another stream commits: the final manifest still lists the late commit whose state was echoed', async () => {
    proxy = await new FaultProxy(server.endpoint, 3).start();
    // "slow" is converted and uploading first; "denied" fails while that upload is in flight. The
    // slow upload completes, its manifest is written and its state echoed; the exit path's
    // final manifest of "slow" must not be written from the file list as it was before that.
    proxy.rules = [
      { operation: 'PutObject', path: /\/slow\/dt=/, fault: 'latency', nth: 1, delayMs: 4000 },
      { operation: 'PutObject', path: /\/denied\/dt=/, fault: 'denied403', nth: 1, delayMs: 300 },
      { operation: 'PutObject', path: /_manifests\/slow\//, fault: 'latency', nth: 1, delayMs: 5000 },
    ];
    const work = concatWorkloads(
      makeWorkload({ streams: ['slow'], recordsPerStream: 1100, payloadChars: 1000, stateEvery: 1100, seed: 1, tokenPrefix: 'slow-' }),
      makeWorkload({ streams: ['denied'], recordsPerStream: 1100, payloadChars: 1000, stateEvery: 1100, seed: 2, tokenPrefix: 'denied-' }),
    );
    const bucket = await freshBucket('rel-race');
    const config = tempJson('config.json', accessKeyConfig(server, bucket, { s3_endpoint: proxy.endpoint, file_size_mb: 1 }));
    // the source goes on (stdin stays open): the failure is met in the middle of the sync
    const live = startCli(['write', '--config', config, '--catalog', tempJson('catalog.json', workloadCatalog(['slow', 'denied']))], {
      env: DEBUG_ENV,
    });
    await live.write(work.text());
    const safety = setTimeout(() => live.child.stdin.end(), 60_000);
    const res = await live.done;
    clearTimeout(safety);
    expect(res.code).toBe(1);
    expect(res.messages.find((m) => m.type === 'TRACE')!.trace.error.failure_type).toBe('config_error');
    expect(proxy.stats.faults['PutObject:denied403']).toBe(1);
    const tokens = echoedTokens(res.messages);
    expect(tokens).toEqual(['slow-0']); // the slow commit finished after the failure and was echoed
    const manifests = await readManifests(bucket, await manifestKeys(bucket));
    const ids = await readListedFiles(bucket, manifests);
    expectEchoedCovered(work, tokens, ids);
    expect(manifests.find((m) => m.model === 'slow')!.status).toBe('incomplete');
    expect(await multipartUploads(bucket)).toEqual([]);
  });
});

describe('an endpoint that is not S3', () => {
  it('a web server answering 200 with an HTML page to everything: write fails as config_error naming the endpoint and echoes no state', async () => {
    const html = await startHtmlServer();
    try {
      const lines: string[] = [];
      for (let i = 0; i < 300; i++) {
        lines.push(recordLine('users', { id: i, name: `user ${i}`, updated_at: '2024-05-01T10:00:00Z' }));
        if (i % 100 === 99) lines.push(streamStateLine('users', i));
      }
      lines.push(streamStatusLine('users'));
      const config = tempJson('config.json', accessKeyConfig(server, 'any-bucket', { s3_endpoint: html.endpoint }));
      const res = await runCli(['write', '--config', config, '--catalog', tempJson('catalog.json', catalog([{ name: 'users' }]))], {
        stdin: lines.join('\n') + '\n',
        env: DEBUG_ENV,
      });
      expect(res.messages.filter((m) => m.type === 'STATE')).toEqual([]);
      expect(res.code).toBe(1);
      const traces = res.messages.filter((m) => m.type === 'TRACE' && m.trace.type === 'ERROR');
      expect(traces).toHaveLength(1);
      const error = traces[0]!.trace.error;
      expect(error.failure_type).toBe('config_error');
      expect(error.message).toContain(`the S3 endpoint ${html.endpoint}`);
      expect(error.message).toContain('not an S3 answer');
      expect(error.message).toContain('s3_endpoint');
      // the data file's upload reached the server, and its answer was refused
      expect(html.requests.some((r) => r.startsWith('PUT /any-bucket/') && r.includes('users'))).toBe(true);
      console.info(`[reliability] HTML endpoint: write exit ${res.code}, 0 states echoed, ${html.received} requests: ${error.message}`);
    } finally {
      await html.stop();
    }
  });
});

describe('check through S3 and STS faults', () => {
  it('retries a DeleteObject that meets a 500 or a reset, and an AssumeRole that meets a reset or latency: SUCCEEDED, nothing left', async () => {
    // one gateway serves S3 and STS here: the proxy sits in front of both
    proxy = await new FaultProxy(server.stsEndpoint, 13).start();
    proxy.rules = [
      { operation: 'DeleteObject', fault: 'status500', nth: 1 },
      { operation: 'DeleteObject', fault: 'reset', nth: 3 },
      { operation: 'AssumeRole', fault: 'reset', nth: 1 },
      { operation: 'AssumeRole', fault: 'latency', nth: 2, delayMs: 1500 },
    ];
    const bucket = await freshBucket('rel-check');
    const config = tempJson('config.json', {
      ...accessKeyConfig(server, bucket, { folder: 'exports' }),
      s3_endpoint: proxy.endpoint,
      credentials: { auth_type: 'iam_role', role_arn: server.roleArn },
    });
    const res = await runCli(['check', '--config', config], {
      env: { AWS_ACCESS_KEY_ID: server.accessKey, AWS_SECRET_ACCESS_KEY: server.secretKey, AWS_ENDPOINT_URL_STS: proxy.endpoint, ...DEBUG_ENV },
    });
    const status = res.messages.find((m) => m.type === 'CONNECTION_STATUS')!.connectionStatus;
    expect(status.status, status.message).toBe('SUCCEEDED');
    for (const fault of ['DeleteObject:status500', 'DeleteObject:reset', 'AssumeRole:reset', 'AssumeRole:latency'])
      expect(proxy.stats.faults[fault], fault).toBe(1);
    expect(proxy.stats.requests.DeleteObject).toBe(4); // two objects, each deleted on its second attempt
    expect(await listKeys(bucket)).toEqual([]); // both test objects deleted
    expect(await multipartUploads(bucket)).toEqual([]);
  });
});
