// Memory (docs/operations.md, "Resources"): one budget for buffers, conversions and uploads,
// whatever the number of interleaved streams. The budget bounds what the connector holds on top of
// the runtime itself (Node, the AWS SDK, DuckDB's code), so the test measures that runtime first,
// with the same config and catalog and no records, and then a sync of 50 interleaved streams whose
// files are cut while the input is still coming (conversions and uploads overlap the reading).

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generate } from '../scripts/bench/generate.mjs';
import { startCli, tempJson, type LiveCli } from './support/cli.js';
import { cleanedBuckets } from './support/invariants.js';
import { accessKeyConfig } from './support/messages.js';
import { manifests } from './support/read-back.js';
import { s3Server } from './support/server.js';

const MiB = 1024 * 1024;
const BUDGET_MB = 256;
const STREAMS = 50;

const dir = mkdtempSync(join(tmpdir(), 'dse-memory-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const freshBucket = cleanedBuckets();

/** Peak resident memory of a child process (VmHWM), read from /proc until it exits. */
function watchPeakRss(live: LiveCli): () => number {
  let peak = 0;
  const read = (): void => {
    try {
      const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${live.child.pid}/status`, 'utf8'));
      if (hwm) peak = Math.max(peak, Number(hwm[1]) * 1024);
    } catch {
      // the process has exited
    }
  };
  const timer = setInterval(read, 25);
  void live.done.finally(() => clearInterval(timer));
  return () => peak;
}

async function write(
  configPath: string,
  catalogPath: string,
  input: Buffer,
): Promise<{ peak: number; states: number; code: number | null; stderr: string }> {
  const live = startCli(['write', '--config', configPath, '--catalog', catalogPath]);
  const peak = watchPeakRss(live);
  await live.write(input);
  live.child.stdin.end();
  const result = await live.done;
  return { peak: peak(), states: result.messages.filter((m) => m.type === 'STATE').length, code: result.code, stderr: result.stderr };
}

describe('memory', () => {
  it(`50 interleaved streams stay within memory_budget_mb (${BUDGET_MB} MB) above the runtime's own memory`, async () => {
    // ~100 MB of analytics-like records (nested objects, arrays, timestamps) over 50 streams, a
    // state every 200 records of a stream, 1 MB files: about a hundred conversions and uploads
    // while the input is read.
    const data = generate({ dir, streams: STREAMS, bytes: 100 * MiB, stateEvery: 200 });
    const bucket = await freshBucket('memory');
    const config = tempJson('config.json', accessKeyConfig(s3Server(), bucket, { memory_budget_mb: BUDGET_MB, file_size_mb: 1 }));

    // the runtime's own memory: a sync with no record (only the streams' COMPLETE statuses)
    const statuses = readFileSync(data.messagesPath, 'utf8')
      .split('\n')
      .filter((l) => l.includes('"STREAM_STATUS"'));
    const idle = await write(config, data.catalogPath, Buffer.from(statuses.join('\n') + '\n'));
    expect(idle.code, idle.stderr).toBe(0);
    const sync = await write(config, data.catalogPath, readFileSync(data.messagesPath));
    expect(sync.code, sync.stderr).toBe(0);
    expect(sync.states).toBe(data.states);

    const listed = await manifests(bucket);
    const perStream = new Map<string, number>();
    for (const m of listed) perStream.set(m.stream.name, (perStream.get(m.stream.name) ?? 0) + m.record_count);
    const sent = data.perStream;
    expect(perStream.size).toBe(STREAMS);
    expect([...perStream.values()].reduce((a, b) => a + b, 0)).toBe(sent.reduce((a, b) => a + b, 0));
    const files = listed.reduce((n, m) => n + m.files.length, 0);

    const above = sync.peak - idle.peak;
    console.info(
      `[memory] ${STREAMS} streams, ${(data.messageBytes / MiB).toFixed(0)} MiB of messages, ${files} files: peak RSS ${(sync.peak / MiB).toFixed(0)} MiB, ` +
        `runtime alone ${(idle.peak / MiB).toFixed(0)} MiB, above it ${(above / MiB).toFixed(0)} MiB of a ${BUDGET_MB} MB budget`,
    );
    expect(files).toBeGreaterThanOrEqual(STREAMS * 2);
    expect(above).toBeLessThanOrEqual(BUDGET_MB * 1e6);
  });
});
