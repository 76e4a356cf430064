// Crash safety (docs/reliability.md, "SIGKILL at 20 points"): `write` is SIGKILLed at 20 seeded
// points of a multi-stream sync with STREAM and GLOBAL states, behind a proxy that makes every
// upload request 50–300 ms late (so that kills land in the middle of commits), with one file large
// enough for a multipart upload. After each kill, every STATE that reached stdout has its records
// in manifest-listed, complete objects (bytes and SHA-256 as listed, rows as counted), and every
// listed object exists. Then the same input, rerun into the same bucket, completes.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AbortMultipartUploadCommand, ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { afterAll, describe, expect, it } from 'vitest';
import { startCli, tempJson, type CliResult } from '../support/cli.js';
import { FaultProxy, seeded } from '../support/fault-proxy.js';
import {
  cleanedBuckets,
  echoedTokens,
  expectEchoedCovered,
  expectInInputOrder,
  expectNoDuplicateIds,
  type Manifest,
  manifestKeys,
  readListedFiles,
  readManifests,
  transferIds,
} from '../support/invariants.js';
import { accessKeyConfig, recordLine } from '../support/messages.js';
import { listKeys } from '../support/read-back.js';
import { adminClient, s3Server } from '../support/server.js';
import { makeWorkload, workloadCatalog, type Workload } from '../support/workload.js';

const server = s3Server();
/** Buckets of this file, emptied after its tests (big test data). */
const freshBucket = cleanedBuckets();
const SEED = 20260601;
const KILLS = 20;
const PER_STREAM = 1100;
/** Runs per kill point at most: the first at its seeded point, the others ever earlier. */
const MAX_ATTEMPTS = 4;
/** Kills that must come after some states were echoed and before all of them. */
const MIN_MID_SYNC_KILLS = 8;
// Killed runs cannot clean their temp files: give them a temp directory of our own.
const scratch = mkdtempSync(join(tmpdir(), 'dse-crash-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/**
 * Aborts the multipart uploads a killed run left open (the bucket's lifecycle rule would, in
 * production: docs/setup.md); returns their keys.
 */
async function abortOpenUploads(bucket: string): Promise<string[]> {
  const client = adminClient();
  try {
    const open = (await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads ?? [];
    for (const u of open) await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: u.Key!, UploadId: u.UploadId! }));
    return open.map((u) => u.Key!);
  } finally {
    client.destroy();
  }
}

/** Data objects (outside _manifests/) that appeared since `before` and that no manifest of the bucket lists. */
async function unlistedSince(bucket: string, before: Set<string>, manifests: readonly Manifest[]): Promise<string[]> {
  const listed = new Set(manifests.flatMap((m) => m.files.map((f) => f.key)));
  return (await listKeys(bucket)).filter((k) => !before.has(k) && !k.startsWith('_manifests/') && !listed.has(k));
}

interface Run {
  result: CliResult;
  ms: number;
  /** When the input was all written and stdin closed (ms after the start). */
  inputEndMs: number;
}

/**
 * Where a run is killed: a seeded delay after its start (while it reads and converts), after the
 * k-th STATE reached stdout (while later files commit), or after its input ended (while the
 * last files are finished). Anchoring on events keeps the points meaningful on a busy machine.
 */
type KillPoint = { anchor: 'start' } | { anchor: 'state'; k: number } | { anchor: 'input-end' };

interface Kill {
  point: KillPoint;
  delayMs: number;
}

function describePoint({ point, delayMs }: Kill): string {
  return `${point.anchor === 'state' ? `state#${point.k}` : point.anchor}+${delayMs}ms`;
}

/** The same kind of point, earlier: half the delay, and half the states for a state anchor. */
function earlier({ point, delayMs }: Kill): Kill {
  const half = Math.floor(delayMs / 2);
  return point.anchor === 'state' ? { point: { anchor: 'state', k: Math.max(1, Math.floor(point.k / 2)) }, delayMs: half } : { point, delayMs: half };
}

/** Runs write with the whole input; kills it with SIGKILL at `kill` (if given). */
async function run(args: string[], work: Workload, kill?: Kill): Promise<Run> {
  const started = Date.now();
  const live = startCli(args, { env: { TMPDIR: scratch, DESTINATION_S3_EXPORT_DEBUG: '1' }, allowPartialLastLine: kill !== undefined });
  let inputEndMs = 0;
  const inputEnd = live.write(work.text()).then(() => {
    live.child.stdin.end();
    inputEndMs = Date.now() - started;
  });
  let timer: NodeJS.Timeout | undefined;
  if (kill) {
    let seen = 0;
    const point = kill.point;
    const anchor =
      point.anchor === 'start'
        ? Promise.resolve()
        : point.anchor === 'input-end'
          ? inputEnd
          : live.waitFor((m) => m.type === 'STATE' && ++seen === point.k);
    anchor.then(
      () => (timer = setTimeout(() => live.child.kill('SIGKILL'), kill.delayMs)),
      () => undefined, // the run ended before the anchor
    );
  }
  const result = await live.done;
  clearTimeout(timer);
  return { result, ms: Date.now() - started, inputEndMs };
}

/** The manifests of the one transfer that appeared since `before`, if any. */
async function newTransfer(bucket: string, before: Set<string>): Promise<{ id: string | undefined; manifests: Manifest[] }> {
  const fresh = [...(await transferIds(bucket))].filter((id) => !before.has(id));
  expect(fresh.length).toBeLessThanOrEqual(1);
  if (!fresh[0]) return { id: undefined, manifests: [] };
  return { id: fresh[0], manifests: await readManifests(bucket, await manifestKeys(bucket, fresh[0])) };
}

describe('write killed with SIGKILL', () => {
  let proxy: FaultProxy | undefined;
  afterAll(async () => proxy?.stop());

  it(`keeps every echoed state's records listed and complete at ${KILLS} kill points, and a rerun completes`, { timeout: 300_000 }, async () => {
    const streams = ['alpha', 'beta', 'gamma'];
    const work = makeWorkload({ streams, recordsPerStream: PER_STREAM, payloadChars: 1000, stateEvery: 60, globalEvery: 900, seed: SEED });
    // A record of 9 MB (incompressible): the file that holds it is a multipart upload.
    const payload = seeded(SEED + 1);
    for (const [stream, id] of [['beta', 550]] as const) {
      const at = work.lines.findIndex((l) => l.includes(`"stream":"${stream}"`) && l.includes(`"id":${id},`));
      const big = Buffer.from(Array.from({ length: 9 * 1024 * 1024 }, () => '0123456789abcdef'.charCodeAt(Math.floor(payload() * 16)))).toString(
        'latin1',
      );
      work.lines[at] = recordLine(stream, { id, name: big, updated_at: '2024-05-01T10:00:00.123456Z' }, 1_700_000_000_000 + at);
    }
    // Uploads 50–300 ms late: commits take long enough for kills to land in their middle.
    proxy = await new FaultProxy(server.endpoint, SEED).start();
    proxy.rules = (['PutObject', 'UploadPart', 'CompleteMultipartUpload'] as const).map((operation) => ({
      operation,
      fault: 'latency',
      rate: 1,
      delayMs: [50, 300] as const,
    }));
    const endpoint = proxy.endpoint;
    // Two lanes, each with its own bucket, run side by side (the runs wait on S3 half the time).
    const lanes = await Promise.all(
      [0, 1].map(async () => {
        const bucket = await freshBucket('rel-crash');
        const config = accessKeyConfig(server, bucket, { file_size_mb: 1, s3_endpoint: endpoint });
        const args = ['write', '--config', tempJson('config.json', config), '--catalog', tempJson('catalog.json', workloadCatalog(streams))];
        return { bucket, args };
      }),
    );

    // a first, complete run tells how long the sync takes here and how many states it echoes
    const started = Date.now();
    const reference = { ...(await run(lanes[0]!.args, work)), requests: { ...proxy.stats.requests } };
    expect(reference.result.code, reference.result.stderr).toBe(0);
    expect(reference.requests.CompleteMultipartUpload, 'the file of the 9 MB record is a multipart upload').toBeGreaterThanOrEqual(1);
    const stateCount = echoedTokens(reference.result.messages).length;
    const random = seeded(SEED);
    const anchors: KillPoint['anchor'][] = ['start', 'state', 'state', 'input-end', 'state'];
    // Delays spread over the phase each anchor starts: the whole run, the commits that follow a
    // state, the finish after the end of the input. States come out in bursts (a GLOBAL state,
    // and every state after it, waits for a file of every stream), the last burst at the very
    // end: state anchors from the first half land between bursts, with commits in flight.
    const points = Array.from({ length: KILLS }, (_, i): Kill => {
      const anchor = anchors[i % anchors.length]!;
      if (anchor === 'start') return { point: { anchor }, delayMs: Math.round(random() * reference.ms) };
      if (anchor === 'input-end') return { point: { anchor }, delayMs: Math.round(random() * Math.max(100, reference.ms - reference.inputEndMs)) };
      return { point: { anchor, k: 1 + Math.floor(random() * Math.floor(stateCount / 2)) }, delayMs: Math.round(random() * 400) };
    });

    const figures: string[] = [];
    let midSync = 0;
    let killed = 0;
    let finished = 0;
    /** Kills after which an uploaded object was listed by no manifest (allowed: not committed data). */
    let leftUnlisted = 0;
    /** Kills that left a multipart upload open (a lifecycle rule's job in production). */
    let leftOpenUploads = 0;
    await Promise.all(
      lanes.map(async ({ bucket, args }, lane) => {
        for (const [i, first] of points.entries()) {
          if (i % lanes.length !== lane) continue;
          // A run may finish before its kill fires (states come out in bursts, and a busy or
          // quiet machine moves them): it is checked like the others, then the point moves
          // earlier, so that each of the KILLS points does kill a running sync.
          const tried: string[] = [];
          let kill = first;
          for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
            const before = await transferIds(bucket);
            const keysBefore = new Set(await listKeys(bucket));
            const { result } = await run(args, work, kill);
            const tokens = echoedTokens(result.messages);
            expectInInputOrder(work, tokens);
            const { manifests } = await newTransfer(bucket, before);
            // a state reached stdout only if its transfer's manifests list its records
            if (tokens.length > 0) expect(manifests.length, `run ${i}: states echoed without a manifest`).toBeGreaterThan(0);
            const ids = await readListedFiles(bucket, manifests);
            expectNoDuplicateIds(ids);
            expectEchoedCovered(work, tokens, ids);
            const listed = manifests.reduce((n, m) => n + m.files.length, 0);
            const outcome = result.signal === 'SIGKILL' ? 'killed' : 'finished';
            if (result.signal === 'SIGKILL') {
              killed++;
              if (tokens.length > 0 && tokens.length < stateCount) midSync++;
              const unlisted = await unlistedSince(bucket, keysBefore, await readManifests(bucket, await manifestKeys(bucket)));
              const open = await abortOpenUploads(bucket);
              if (unlisted.length > 0) leftUnlisted++;
              if (open.length > 0) leftOpenUploads++;
              tried.push(
                `${describePoint(kill)}→killed ${tokens.length}st/${listed}f${unlisted.length ? ` +${unlisted.length} unlisted` : ''}${open.length ? ` +${open.length} open upload` : ''}`,
              );
              break;
            }
            tried.push(`${describePoint(kill)}→${outcome} ${tokens.length}st/${listed}f`);
            expect(result.code, `run ${i} ended on its own`).toBe(0);
            finished++;
            kill = earlier(kill);
          }
          figures[i] = tried.join(', ');
        }

        // every manifest of every transfer lists only objects that exist
        const keys = new Set(await listKeys(bucket));
        for (const m of await readManifests(bucket, await manifestKeys(bucket))) {
          for (const f of m.files) expect(keys.has(f.key), `${f.key} listed by ${m.transfer_id}`).toBe(true);
        }

        // the same input into the same bucket completes, every row once in its transfer
        const before = await transferIds(bucket);
        const rerun = await run(args, work);
        expect(rerun.result.code, rerun.result.stderr).toBe(0);
        expect(echoedTokens(rerun.result.messages)).toEqual(work.states.map((s) => s.token));
        const { manifests } = await newTransfer(bucket, before);
        expect(manifests.map((m) => m.status)).toEqual(streams.map(() => 'complete'));
        const ids = await readListedFiles(bucket, manifests);
        expectNoDuplicateIds(ids);
        for (const s of streams) expect(ids.get(s)!.sort((a, b) => a - b)).toEqual(Array.from({ length: PER_STREAM }, (_, i) => i));
      }),
    );

    console.info(
      `[reliability] SIGKILL: reference run ${reference.ms} ms (input written in ${reference.inputEndMs} ms), ${stateCount} states, ${JSON.stringify(reference.requests)}; ${killed} of ${KILLS} points killed a running sync ` +
        `(${finished} runs finished before their kill and were checked too), ${midSync} with 0 < states echoed < ${stateCount}; ` +
        `${leftUnlisted} kills left an uploaded object that no manifest lists, ${leftOpenUploads} a multipart upload open; ${Math.round((Date.now() - started) / 1000)} s in all; ` +
        `points (anchor+delay → outcome, states echoed / files listed): ${figures.join('; ')}`,
    );
    // the kill points were meaningful: every one killed a running sync, many in the middle of it
    expect(killed).toBe(KILLS);
    expect(midSync).toBeGreaterThanOrEqual(MIN_MID_SYNC_KILLS);
  });
});
