// SIGTERM and a closed stdout (DESIGN §1, §5.1): on SIGTERM, `write` finishes the files its held
// states wait on (within the grace period), echoes those states, reports transient_error and
// exits 143; when the reader of stdout goes away it exits 1 without crashing. Either way no
// manifest lists a missing object and no multipart upload is left behind.

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

const server = s3Server();
/** Buckets of this file, emptied after its tests (big test data). */
const freshBucket = cleanedBuckets();
const DEBUG_ENV = { DESTINATION_S3_EXPORT_DEBUG: '1' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let proxy: FaultProxy | undefined;
afterEach(async () => {
  await proxy?.stop();
  proxy = undefined;
});

/**
 * The input in two parts: the first (about 1.5 MB per stream) makes files due by size, so that
 * states come back while the sync runs; the second is small and ends with a few records after
 * the last state (a tail no state covers).
 */
function twoParts(work: Workload, firstShare: number): [string, string] {
  const cut = Math.floor(work.lines.length * firstShare);
  return [work.lines.slice(0, cut).join('\n') + '\n', work.lines.slice(cut).join('\n') + '\n'];
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
    await sleep(1500); // the connector reads the few KB of the second part (stdin stays open)
    live.child.kill('SIGTERM');
    const res = await live.done;

    expect(res.signal).toBeNull();
    expect(res.code).toBe(143);
    const traces = res.messages.filter((m) => m.type === 'TRACE');
    expect(traces).toHaveLength(1);
    expect(traces[0]!.trace.error.failure_type).toBe('transient_error');
    expect(traces[0]!.trace.error.message).toMatch(/SIGTERM/);
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
