// An abort stops the whole-spool convert() (the committer's path) while DuckDB runs: the
// connection is interrupted, its files removed, and convert() rejects with AbortedError
// (issue 13: a SIGTERM during a long conversion must not wait for it to end).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDuckDbEngine, type DuckDbEngine } from '../../src/formats/duckdb.js';
import { createStreamConverter } from '../../src/formats/converter.js';
import type { StreamConverter } from '../../src/formats/format.js';
import { AbortedError } from '../../src/errors.js';
import { spoolText } from '../support/spool-lines.js';

// A flat spool big enough that DuckDB spends seconds executing the COPY (a deeply nested schema
// spends its time planning the query instead, which DuckDB's interrupt does not stop).
const RECORDS = 800_000;
const SCHEMA = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    name: { type: 'string' },
    at: { type: 'string', format: 'date-time' },
    n: { type: 'number' },
    ok: { type: 'boolean' },
  },
};

let engine: DuckDbEngine;
let dir: string;
let converter: StreamConverter;
let spool: string;

beforeAll(async () => {
  engine = await createDuckDbEngine({ threads: 1 });
  dir = await mkdtemp(join(tmpdir(), 'formats-abort-'));
  converter = await createStreamConverter(
    {
      stream: { stream: { name: 'flat', json_schema: SCHEMA, supported_sync_modes: [] }, sync_mode: 'full_refresh', destination_sync_mode: 'append' },
      format: { type: 'parquet', compression: 'zstd' },
      syncId: 1,
      generationId: 0,
    },
    engine,
  );
  spool = join(dir, 'flat.spool');
  const lines: string[] = [];
  for (let id = 0; id < RECORDS; id++) {
    const at = 1_700_000_000_000 + id;
    const data = `{"id":${id},"name":"n${id}${'x'.repeat(40)}","at":"${new Date(at).toISOString()}","n":${id / 7},"ok":${id % 2 === 0}}`;
    lines.push(`{"type":"RECORD","record":{"stream":"flat","data":${data},"emitted_at":${at}}}\n`);
  }
  await writeFile(spool, spoolText(lines.join('')));
}, 60_000);

afterAll(async () => {
  engine?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('convert() with a signal', () => {
  it('rejects at once with an AbortedError when aborted before it starts, writing nothing', async () => {
    const outDir = join(dir, 'early');
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await expect(converter.convert(spool, { targetFileBytes: 64 << 20, outDir, signal: controller.signal })).rejects.toBeInstanceOf(AbortedError);
    expect(await readdir(outDir).catch(() => [])).toEqual([]);
  });

  it('interrupts a running conversion, rejects with an AbortedError long before it would end, and leaves no file', async () => {
    // The same conversion unstopped, for the time it takes (and that it works).
    let started = Date.now();
    const files = await converter.convert(spool, { targetFileBytes: 64 << 20, outDir: join(dir, 'full') });
    const fullMs = Date.now() - started;
    expect(files.reduce((n, f) => n + f.records, 0)).toBe(RECORDS);
    expect(fullMs).toBeGreaterThan(1_500); // else the abort below proves nothing

    const outDir = join(dir, 'late');
    const controller = new AbortController();
    started = Date.now();
    const work = converter.convert(spool, { targetFileBytes: 64 << 20, outDir, signal: controller.signal });
    setTimeout(() => controller.abort(new Error('stop')), 200);
    await expect(work).rejects.toBeInstanceOf(AbortedError);
    const abortedMs = Date.now() - started;
    console.log(`convert(): ${fullMs} ms unstopped, rejected ${abortedMs} ms after start when aborted at 200 ms`);
    expect(abortedMs).toBeLessThan(200 + fullMs / 2);
    expect(await readdir(outDir)).toEqual([]);
  }, 240_000);
});
