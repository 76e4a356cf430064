// The converter's side of the pipeline contract (docs/architecture.md): convertSegment makes one
// part of a closed segment, assemble joins parts into one output file, an abort stops DuckDB and
// leaves nothing behind.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Format } from '../../src/config/config.js';
import { createDuckDbEngine, type DuckDbEngine } from '../../src/formats/duckdb.js';
import { createStreamConverter } from '../../src/formats/converter.js';
import type { Segment, StreamConverter } from '../../src/formats/format.js';
import { AbortedError } from '../../src/errors.js';
import { createRecordScanner } from '../../src/protocol/record-scan.js';
import { hyparquetRead, parseCsv, readText } from './support/formats.js';

const SCHEMA = { type: 'object', properties: { id: { type: 'integer' }, name: { type: 'string' }, at: { type: 'string', format: 'date-time' } } };

let engine: DuckDbEngine;
let dir: string;

beforeAll(async () => {
  engine = await createDuckDbEngine({ threads: 1 });
  dir = await mkdtemp(join(tmpdir(), 'formats-parts-'));
});

afterAll(async () => {
  engine?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

let seq = 0;

/** A segment of records with ids [from, to), spooled as the session does (through a scanner). */
async function segment(from: number, to: number, pad = 0): Promise<Segment> {
  const scanner = createRecordScanner([{ name: 's', jsonSchema: SCHEMA }]);
  const lines: Buffer[] = [];
  let longest = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let id = from; id < to; id++) {
    const at = 1_700_000_000_000 + id * 1000;
    const line = `{"type":"RECORD","record":{"stream":"s","data":{"id":${id},"name":"n${id}${'x'.repeat(pad)}","at":"${new Date(at).toISOString()}"},"emitted_at":${at}}}`;
    const scanned = scanner.scan(Buffer.from(line))!;
    lines.push(Buffer.from(scanned.spoolLine), Buffer.from('\n'));
    longest = Math.max(longest, scanned.spoolLine.length);
    min = Math.min(min, scanned.extractedAtMs);
    max = Math.max(max, scanned.extractedAtMs);
  }
  const path = join(dir, `segment-${seq++}.spool`);
  const bytes = Buffer.concat(lines);
  await writeFile(path, bytes);
  return { path, records: to - from, bytes: bytes.length, longestLine: longest, minExtractedAtMs: min, maxExtractedAtMs: max };
}

function converterFor(format: Format): Promise<StreamConverter> {
  return createStreamConverter(
    {
      stream: { stream: { name: 's', json_schema: SCHEMA, supported_sync_modes: [] }, sync_mode: 'full_refresh', destination_sync_mode: 'append' },
      format,
      syncId: 1,
      generationId: 0,
    },
    engine,
  );
}

async function idsOf(path: string, format: Format): Promise<number[]> {
  if (format.type === 'parquet') return (await hyparquetRead(path)).rows.map((r) => Number(r.id as bigint));
  const text = await readText(path);
  if (format.type === 'csv') {
    const [header, ...rows] = parseCsv(text);
    const at = header!.findIndex((c) => c.text === 'id');
    return rows.map((cells) => Number(cells[at]!.text));
  }
  return text
    .trimEnd()
    .split('\n')
    .map((l) => (JSON.parse(l) as { id: number }).id);
}

describe.each<[string, Format]>([
  ['parquet/zstd', { type: 'parquet', compression: 'zstd' }],
  ['csv', { type: 'csv', compression: 'none' }],
  ['csv/gzip', { type: 'csv', compression: 'gzip' }],
  ['jsonl', { type: 'jsonl', compression: 'none' }],
  ['jsonl/gzip', { type: 'jsonl', compression: 'gzip' }],
])('%s', (label, format) => {
  it('converts segments into parts and assembles them into one file with every record once, the range from the segments', async () => {
    const converter = await converterFor(format);
    const outDir = join(dir, `parts-${label.replace('/', '-')}`);
    const segments = [await segment(0, 100), await segment(100, 150), await segment(150, 400)];
    const parts = [];
    for (const s of segments) parts.push(await converter.convertSegment(s, { outDir }));
    expect(parts.map((p) => p.records)).toEqual([100, 50, 250]);
    expect(parts[1]).toMatchObject({ minExtractedAtMs: 1_700_000_100_000, maxExtractedAtMs: 1_700_000_149_000 });
    const outPath = join(dir, `out-${label.replace('/', '-')}.${converter.extension}`);
    const file = await converter.assemble(parts, { outPath });
    expect(file).toMatchObject({
      path: outPath,
      records: 400,
      minExtractedAt: new Date(1_700_000_000_000).toISOString(),
      maxExtractedAt: new Date(1_700_000_399_000).toISOString(),
    });
    expect((await idsOf(outPath, format)).sort((a, b) => a - b)).toEqual(Array.from({ length: 400 }, (_, i) => i));
    if (format.type === 'csv') expect((await readText(outPath)).match(/_airbyte_raw_id/g)).toHaveLength(1); // one header
    expect(await readdir(outDir)).toEqual([]); // the parts were consumed
  });

  it('assembles a single part (moved when it needs no compression)', async () => {
    const converter = await converterFor(format);
    const outDir = join(dir, `single-${label.replace('/', '-')}`);
    const part = await converter.convertSegment(await segment(0, 10), { outDir });
    const file = await converter.assemble([part], { outPath: join(dir, `single-${label.replace('/', '-')}.${converter.extension}`) });
    expect(file.records).toBe(10);
    expect((await idsOf(file.path, format)).sort((a, b) => a - b)).toEqual(Array.from({ length: 10 }, (_, i) => i));
    expect(await readdir(outDir)).toEqual([]);
  });
});

describe('an abort', () => {
  it('before the conversion starts rejects with an AbortedError and writes nothing', async () => {
    const converter = await converterFor({ type: 'parquet', compression: 'snappy' });
    const outDir = join(dir, 'aborted-early');
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await expect(converter.convertSegment(await segment(0, 10), { outDir, signal: controller.signal })).rejects.toBeInstanceOf(AbortedError);
    expect(await readdir(outDir).catch(() => [])).toEqual([]);
  });

  it('while DuckDB converts interrupts it, removes the part and rejects with an AbortedError', async () => {
    const converter = await converterFor({ type: 'jsonl', compression: 'none' });
    const outDir = join(dir, 'aborted-late');
    const big = await segment(0, 50_000, 200);
    const controller = new AbortController();
    const started = Date.now();
    const work = converter.convertSegment(big, { outDir, signal: controller.signal });
    setTimeout(() => controller.abort(new Error('stop')), 100);
    await expect(work).rejects.toBeInstanceOf(AbortedError);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(await readdir(outDir)).toEqual([]);
  }, 60_000);
});
