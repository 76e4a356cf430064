// Crash safety (DESIGN §4, §5.1): `write` is SIGKILLed at 20 seeded points of a multi-stream
// sync with STREAM and GLOBAL states. After each kill, every STATE that reached stdout has its
// records in manifest-listed, complete objects (bytes and SHA-256 as listed, rows as counted),
// and every listed object exists. Then the same input, rerun into the same bucket, completes.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startCli, tempJson, type CliResult } from '../support/cli.js';
import { seeded } from '../support/fault-proxy.js';
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
import { accessKeyConfig } from '../support/messages.js';
import { listKeys } from '../support/read-back.js';
import { s3Server } from '../support/server.js';
import { makeWorkload, workloadCatalog, type Workload } from '../support/workload.js';

const server = s3Server();
/** Buckets of this file, emptied after its tests (big test data). */
const freshBucket = cleanedBuckets();
const SEED = 20260601;
const KILLS = 20;
const PER_STREAM = 1100;
/** Runs per kill point at most: the first at its seeded point, the others ever earlier. */
const MAX_ATTEMPTS = 4;
// Killed runs cannot clean their temp files: give them a temp directory of our own.
const scratch = mkdtempSync(join(tmpdir(), 'dse-crash-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface Run {
  result: CliResult;
  ms: number;
  /** When the first STATE reached stdout (ms after the start), if one did. */
  firstStateMs: number | undefined;
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
  let firstStateMs: number | undefined;
  void live.waitFor((m) => m.type === 'STATE').then(
    () => (firstStateMs = Date.now() - started),
    () => undefined,
  );
  const inputEnd = live.write(work.text()).then(() => live.child.stdin.end());
  let timer: NodeJS.Timeout | undefined;
  if (kill) {
    let seen = 0;
    const point = kill.point;
    const anchor =
      point.anchor === 'start' ? Promise.resolve() : point.anchor === 'input-end' ? inputEnd : live.waitFor((m) => m.type === 'STATE' && ++seen === point.k);
    anchor.then(
      () => (timer = setTimeout(() => live.child.kill('SIGKILL'), kill.delayMs)),
      () => undefined, // the run ended before the anchor
    );
  }
  const result = await live.done;
  clearTimeout(timer);
  return { result, ms: Date.now() - started, firstStateMs };
}

/** The manifests of the one transfer that appeared since `before`, if any. */
async function newTransfer(bucket: string, before: Set<string>): Promise<{ id: string | undefined; manifests: Manifest[] }> {
  const fresh = [...(await transferIds(bucket))].filter((id) => !before.has(id));
  expect(fresh.length).toBeLessThanOrEqual(1);
  if (!fresh[0]) return { id: undefined, manifests: [] };
  return { id: fresh[0], manifests: await readManifests(bucket, await manifestKeys(bucket, fresh[0])) };
}

describe('write killed with SIGKILL', () => {
  it(`keeps every echoed state's records listed and complete at ${KILLS} kill points, and a rerun completes`, async () => {
    const streams = ['alpha', 'beta', 'gamma'];
    const work = makeWorkload({ streams, recordsPerStream: PER_STREAM, payloadChars: 1000, stateEvery: 60, globalEvery: 900, seed: SEED });
    // Two lanes, each with its own bucket, run side by side (the runs wait on S3 half the time).
    const lanes = await Promise.all(
      [0, 1].map(async () => {
        const bucket = await freshBucket('rel-crash');
        const args = ['write', '--config', tempJson('config.json', accessKeyConfig(server, bucket, { file_size_mb: 1 })), '--catalog', tempJson('catalog.json', workloadCatalog(streams))];
        return { bucket, args };
      }),
    );

    // a first, complete run tells how long the sync takes here and how many states it echoes
    const reference = await run(lanes[0]!.args, work);
    expect(reference.result.code, reference.result.stderr).toBe(0);
    const stateCount = echoedTokens(reference.result.messages).length;
    const random = seeded(SEED);
    const anchors: KillPoint['anchor'][] = ['start', 'state', 'state', 'input-end', 'state'];
    const points = Array.from({ length: KILLS }, (_, i): Kill => {
      const anchor = anchors[i % anchors.length]!;
      if (anchor === 'start') return { point: { anchor }, delayMs: Math.round(random() * (reference.firstStateMs ?? reference.ms)) };
      if (anchor === 'input-end') return { point: { anchor }, delayMs: Math.round(random() * 600) };
      return { point: { anchor, k: 1 + Math.floor(random() * stateCount) }, delayMs: Math.round(random() * 400) };
    });

    const figures: string[] = [];
    let withStates = 0;
    let killed = 0;
    let finished = 0;
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
            tried.push(`${describePoint(kill)}→${outcome} ${tokens.length}st/${listed}f`);
            if (result.signal === 'SIGKILL') {
              killed++;
              if (tokens.length > 0) withStates++;
              break;
            }
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

    console.info(`[reliability] SIGKILL: reference run ${reference.ms} ms, ${stateCount} states; ${killed} of ${KILLS} points killed a running sync (${finished} runs finished before their kill and were checked too), ${withStates} after states were echoed; points (anchor+delay → outcome, states echoed / files listed): ${figures.join('; ')}`);
    // the kill points were meaningful: every one killed a running sync, several after states were out
    expect(killed).toBe(KILLS);
    expect(withStates).toBeGreaterThanOrEqual(8);
  });
});
