// How DuckDB reads a spool (src/formats/spool-reader.ts) and how row groups are sized
// (src/formats/query.ts rowGroupBytes).

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createDuckDbEngine } from '../../src/formats/duckdb.js';
import { MAX_ROW_GROUP_BYTES, rowGroupBytes } from '../../src/formats/query.js';
import { spoolLineOf, spoolLinesSource } from '../../src/formats/spool-line.js';

const MiB = 1024 * 1024;
const dir = mkdtempSync(join(tmpdir(), 'dse-reader-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function readBack(lines: string[]): Promise<string[]> {
  const path = join(dir, `spool-${Math.random().toString(36).slice(2)}.jsonl`);
  const spooled = lines.map((l) => spoolLineOf('doubtful', 1, Buffer.from(l, 'utf8')));
  writeFileSync(path, Buffer.concat(spooled.flatMap((l) => [l, Buffer.from('\n')])));
  const longest = Math.max(...spooled.map((l) => l.length));
  const engine = await createDuckDbEngine({ threads: 2 });
  try {
    const connection = await engine.connect();
    const reader = await connection.runAndReadAll(`SELECT CAST(__j AS VARCHAR) AS j FROM ${spoolLinesSource(path, longest)}`);
    connection.closeSync();
    return (reader.getRowObjectsJS() as { j: string }[]).map((r) => r.j);
  } finally {
    engine.close();
  }
}

describe('spoolLinesSource', () => {
  it('yields every line of a spool as it was written, whatever JSON text it holds', async () => {
    const lines = [
      '{"type":"RECORD","record":{"stream":"s","data":{"a":1},"emitted_at":1}}',
      '{"a":"comma, \\"quoted\\" \\u0001 escaped control, tab\\t and ✓ 𝄞"}',
      '{ "spaced" : [ 1 , 2 ] ,\t"tabbed": null }',
      '{"quote":"\\"","empty":""}',
      `{"long":"${'x'.repeat(3 * MiB)}"}`,
      '{}',
    ];
    expect((await readBack(lines)).sort()).toEqual([...lines].sort());
  });

  it('takes a raw carriage return for a line break (which is why the spool writes it as a space)', async () => {
    await expect(readBack(['{"a":1,\r"b":2}', '{"c":3}'])).rejects.toThrow();
  });

  it('reads lines longer than its default buffer when told the longest line', async () => {
    const line = `{"blob":"${'y'.repeat(20 * MiB)}"}`;
    expect(await readBack([line, '{"b":1}'])).toHaveLength(2);
  });
});

describe('rowGroupBytes', () => {
  it.each([
    [1 * MiB, MiB / 8],
    [64 * MiB, 8 * MiB],
    [128 * MiB, 16 * MiB],
    [256 * MiB, MAX_ROW_GROUP_BYTES],
    [4096 * MiB, MAX_ROW_GROUP_BYTES],
  ])('for %i-byte files is %i bytes (an eighth of the file, at most 16 MiB)', (file, expected) => {
    expect(rowGroupBytes(file)).toBe(expected);
  });
});
