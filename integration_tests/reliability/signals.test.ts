// SIGTERM and a closed stdout (docs/reliability.md, "SIGTERM and a closed stdout"): on SIGTERM, in
// the middle of the input or after its end, `write` finishes the files its held states wait on
// (within the grace period), echoes those states, reports transient_error and exits 143; when the
// grace period runs out it aborts the uploads in flight before it exits. When the reader of stdout
// goes away it exits 1 without crashing. Either way no manifest lists a missing object and no
// multipart upload is left behind.

import { afterEach, describe, expect, it } from 'vitest';
import { startCli, tempJson, type LiveCli } from '../support/cli.js';
import { FaultProxy } from '../support/fault-proxy.js';
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
} from '../support/invariants.js';
import { accessKeyConfig } from '../support/messages.js';
import { s3Server } from '../support/server.js';
import { makeWorkload, workloadCatalog, type Workload } from '../support/workload.js';
import { startWriteInProcess } from './write-in-process.js';

const server = s3Server();
/** Buckets of this file, emptied after its tests (big test data). */
const freshBucket = cleanedBuckets();
const DEBUG_ENV = { DESTINATION_S3_EXPORT_DEBUG: '1' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** A message type the connector does not know: its WARN LOG says that every line before it was read. */
const MARKER = JSON.stringify({ type: 'FUTURE_MESSAGE' });
const isMarkerWarning = (m: Record<string, any>): boolean => m.type === 'LOG' && m.log.level === 'WARN' && /FUTURE_MESSAGE/.test(m.log.message);

let proxy: FaultProxy | undefined;
afterEach(async () => {
  await proxy?.stop();
  proxy = undefined;
});

/**
 * The input in two parts: the first (about 1.5 MB per stream) makes files due by size, so that
 * states come back while the sync runs; the second is small and ends with a few records after
 * the last state (a tail no state covers), then the marker.
 */
function twoParts(work: Workload, firstShare: number): [string, string] {
  const cut = Math.floor(work.lines.length * firstShare);
  return [work.lines.slice(0, cut).join('\n') + '\n', [...work.lines.slice(cut), MARKER].join('\n') + '\n'];
}

function expectInterrupted(messages: Record<string, any>[]): void {
  const traces = messages.filter((m) => m.type === 'TRACE');
  expect(traces).toHaveLength(1);
  expect(traces[0]!.trace.error.failure_type).toBe('transient_error');
  expect(traces[0]!.trace.error.message).toMatch(/SIGTERM/);
}

function start(bucket: string, streams: string[], endpoint?: string): LiveCli {
  const config = tempJson('config.json', accessKeyConfig(server, bucket, { file_size_mb: 1, ...(endpoint ? { s3_endpoint: endpoint } : {}) }));
  return startCli(['write', '--config', config, '--catalog', tempJson('catalog.json', workloadCatalog(streams))], { env: DEBUG_ENV });
}

async function expectNothingBroken(bucket: string, work: Workload, tokens: string[]): Promise<void> {
  const manifests = await readManifests(bucket, await manifestKeys(bucket));
  const ids = await readListedFiles(bucket, manifests); // every listed object exists, complete
  expectNoDuplicateIds(ids);
  expectInInputOrder(work, tokens);
  expectEchoedCovered(work, tokens, ids);
  expect(await multipartUploads(bucket)).toEqual([]);
}

describe('write on SIGTERM', () => {
  it.each([
    ['while idle', 0],
    ['while the last uploads are slow', 2500],
  ])('%s: finishes and echoes every state it read, reports transient_error, exits 143', async (_name, latencyMs) => {
    const streams = ['a', 'b'];
    // 2 × 1600 records of ~1 KB: the first part makes a file due in each stream
    const work = makeWorkload({ streams, recordsPerStream: 1600, payloadChars: 1000, stateEvery: 80, seed: 31 });
    // a tail of records after the last state
    work.lines.push(...work.lines.filter((l) => l.includes('"RECORD"')).slice(0, 3));
    const bucket = await freshBucket('rel-sigterm');
    if (latencyMs) {
      proxy = await new FaultProxy(server.endpoint, 2).start();
    }
    const live = start(bucket, streams, proxy?.endpoint);
    const [first, second] = twoParts(work, 0.8);
    await live.write(first);
    await live.waitFor((m) => m.type === 'STATE');
    if (proxy) proxy.rules = [{ operation: 'PutObject', fault: 'latency', rate: 1, delayMs: latencyMs }];
    await live.write(second);
    await live.waitFor(isMarkerWarning); // the connector has read the whole input (stdin stays open)
    live.child.kill('SIGTERM');
    const res = await live.done;

    expect(res.signal).toBeNull();
    expect(res.code).toBe(143);
    expectInterrupted(res.messages);
    // every state was read before SIGTERM: all of them are finished and echoed, in order
    const tokens = echoedTokens(res.messages);
    expect(tokens).toEqual(work.states.map((s) => s.token));
    await expectNothingBroken(bucket, work, tokens);
    const manifests = await readManifests(bucket, await manifestKeys(bucket));
    expect(manifests.map((m) => m.status)).toEqual(['incomplete', 'incomplete']);
    // the tail after the last state is not committed (the source sends it again)
    expect(manifests.reduce((n, m) => n + m.record_count, 0)).toBe(2 * 1600);
    if (proxy) expect(proxy.stats.faults['PutObject:latency']).toBeGreaterThan(0);
  });
});

describe('write on SIGTERM after the end of its input', () => {
  it('while the last files upload: exits 143 with transient_error, after echoing what became durable', async () => {
    const streams = ['a', 'b'];
    const work = makeWorkload({ streams, recordsPerStream: 1600, payloadChars: 1000, stateEvery: 80, seed: 33 });
    const bucket = await freshBucket('rel-sigterm-end');
    proxy = await new FaultProxy(server.endpoint, 5).start();
    // every PutObject (files and manifests) 3 s late: the finish after the end of input takes a while
    proxy.rules = [{ operation: 'PutObject', fault: 'latency', rate: 1, delayMs: 3000 }];
    const live = start(bucket, streams, proxy.endpoint);
    await live.write([...work.lines, MARKER].join('\n') + '\n');
    live.child.stdin.end();
    await live.waitFor(isMarkerWarning); // the last line was read: the finish has begun
    live.child.kill('SIGTERM');
    const res = await live.done;

    expect(res.signal).toBeNull();
    expect(res.code).toBe(143); // not 0: the orchestrator asked the sync to stop (docs/architecture.md, "Commands and exit codes")
    expectInterrupted(res.messages);
    const tokens = echoedTokens(res.messages);
    await expectNothingBroken(bucket, work, tokens);
    // the finish went on within the grace period (60 s; it needs about 15 s here): every state
    // became durable and was echoed; the SIGTERM came before the final manifests
    expect(tokens).toEqual(work.states.map((s) => s.token));
    const manifests = await readManifests(bucket, await manifestKeys(bucket));
    expect(manifests.map((m) => m.status)).toEqual(['incomplete', 'incomplete']);
    expect(res.messages.filter((m) => m.type === 'LOG' && /^Stream /.test(m.log.message))).toHaveLength(2);
    console.info(
      `[reliability] SIGTERM after the end of input: exit ${res.code}, ${tokens.length} of ${work.states.length} states echoed, ${proxy.stats.faults['PutObject:latency']} PutObjects 3 s late`,
    );
  });
});

describe('write when the SIGTERM grace period runs out', () => {
  it('aborts the multipart upload in flight before it returns: none left open, no manifest lists a missing object', async () => {
    proxy = await new FaultProxy(server.endpoint, 6).start();
    // every part 4 s late: the upload cannot finish within the 1 s grace period
    proxy.rules = [{ operation: 'UploadPart', fault: 'latency', rate: 1, delayMs: 4000 }];
    let partArrived!: () => void;
    const firstPart = new Promise<void>((r) => (partArrived = r));
    proxy.onRequest = (op) => {
      if (op === 'UploadPart') partArrived();
    };
    // one 12 MB file (two parts of a multipart upload) becomes due and uploads mid-input, one part
    // at a time: when the sync stops, the second part is not sent yet and the upload is aborted
    // (with every part in flight it could still complete, which leaves nothing open either)
    const work = makeWorkload({ streams: ['big'], recordsPerStream: 14_000, payloadChars: 1000, stateEvery: 500, seed: 34 });
    const bucket = await freshBucket('rel-sigterm-mpu');
    const config = tempJson('config.json', accessKeyConfig(server, bucket, { s3_endpoint: proxy.endpoint, file_size_mb: 12, upload_concurrency: 1 }));
    const live = startWriteInProcess({ config, catalog: tempJson('catalog.json', workloadCatalog(['big'])), graceMs: 1000 });
    live.stdin.write(work.text()); // stdin stays open
    await firstPart;
    live.sigterm();
    const res = await live.done;

    expect(res.code).toBe(143);
    expectInterrupted(res.messages);
    // checked the moment write returned, as src/main.ts exits the process then
    expect(await multipartUploads(bucket)).toEqual([]);
    expect(proxy.stats.requests.AbortMultipartUpload).toBeGreaterThan(0);
    expect(proxy.stats.requests.CompleteMultipartUpload).toBeUndefined();
    await expectNothingBroken(bucket, work, echoedTokens(res.messages));
  });
});

describe('write on a second SIGTERM during the grace period', () => {
  it('changes nothing: the finish goes on, TRACE, the multipart upload completed or aborted, exit 143', async () => {
    proxy = await new FaultProxy(server.endpoint, 7).start();
    // every part 3 s late: the held file is still uploading when the second signal comes
    proxy.rules = [{ operation: 'UploadPart', fault: 'latency', rate: 1, delayMs: 3000 }];
    let partArrived!: () => void;
    const firstPart = new Promise<void>((r) => (partArrived = r));
    proxy.onRequest = (op) => {
      if (op === 'UploadPart') partArrived();
    };
    const work = makeWorkload({ streams: ['big'], recordsPerStream: 14_000, payloadChars: 1000, stateEvery: 500, seed: 35 });
    const bucket = await freshBucket('rel-sigterm-twice');
    const config = tempJson('config.json', accessKeyConfig(server, bucket, { s3_endpoint: proxy.endpoint, file_size_mb: 12, upload_concurrency: 1 }));
    const live = startCli(['write', '--config', config, '--catalog', tempJson('catalog.json', workloadCatalog(['big']))], { env: DEBUG_ENV });
    void live.write(work.text()); // stdin stays open
    await firstPart;
    live.child.kill('SIGTERM');
    await sleep(500);
    live.child.kill('SIGTERM'); // (was: Node's default action, the process killed at once)
    const res = await live.done;

    expect(res.signal).toBeNull();
    expect(res.code).toBe(143);
    expectInterrupted(res.messages);
    expect(await multipartUploads(bucket)).toEqual([]);
    const tokens = echoedTokens(res.messages);
    expect(tokens.length).toBeGreaterThan(0); // the held file was finished and its states echoed
    await expectNothingBroken(bucket, work, tokens);
    console.info(
      `[reliability] second SIGTERM: exit ${res.code}, ${tokens.length} of ${work.states.length} states echoed, ${proxy.stats.requests.UploadPart ?? 0} parts`,
    );
  });
});

describe('write when the reader of stdout goes away', () => {
  it('exits 1 without crashing, even with stdin still open, and leaves nothing half-written', async () => {
    const streams = ['a', 'b'];
    const work = makeWorkload({ streams, recordsPerStream: 2600, payloadChars: 1000, stateEvery: 80, seed: 32 });
    const bucket = await freshBucket('rel-stdout');
    const live = start(bucket, streams);
    const [first, second] = twoParts(work, 0.45);
    await live.write(first);
    await live.waitFor((m) => m.type === 'STATE');
    live.child.stdout.destroy(); // the orchestrator stops reading
    // more files become due and their states cannot be echoed; stdin stays open and idle
    await live.write(second);
    const exited = await Promise.race([live.done.then(() => true), sleep(30_000).then(() => false)]);
    if (!exited) live.child.stdin.end();
    const res = await live.done;
    expect(exited, 'the connector kept waiting for input after stdout closed').toBe(true);
    expect(res.signal).toBeNull();
    expect(res.code).toBe(1);
    expect(res.stderr).not.toMatch(/Uncaught|unhandled|node:internal/i);
    await expectNothingBroken(bucket, work, echoedTokens(res.messages));
  });
});
