// Value rules of docs/types.md that the type matrix does not pin: the conservative rule for lines
// carrying an inexact number, duplicate keys, and the timestamp forms DuckDB reads leniently.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Format } from '../../src/config/config.js';
import { createDuckDbEngine, type DuckDbEngine } from '../../src/formats/duckdb.js';
import { createStreamConverter } from '../../src/formats/converter.js';
import { recordLineToSpool } from '../../src/protocol/record-scan.js';
import { hyparquetRead, isoFromDays, isoFromMicros } from './support/formats.js';

let engine: DuckDbEngine;
let dir: string;
let counter = 0;

beforeAll(async () => {
  engine = await createDuckDbEngine({ threads: 1 });
  dir = await mkdtemp(join(tmpdir(), 'formats-values-'));
});

afterAll(async () => {
  engine?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Converts records (their `data`, spooled as the session spools them) to Parquet rows. */
async function rows(properties: Record<string, unknown>, datas: string[], indent = ''): Promise<Record<string, unknown>[]> {
  const format: Format = { type: 'parquet', compression: 'snappy' };
  const converter = await createStreamConverter(
    {
      stream: {
        stream: { name: 'values', json_schema: { type: 'object', properties }, supported_sync_modes: [] },
        sync_mode: 'full_refresh',
        destination_sync_mode: 'append',
      },
      format,
      syncId: 1,
      generationId: 1,
    },
    engine,
  );
  const spool = join(dir, `spool-${++counter}`);
  const lines = datas.map((d) =>
    recordLineToSpool(Buffer.from(`${indent}{"type":"RECORD","record":{"stream":"values","data":${d},"emitted_at":1000}}`)).toString('utf8'),
  );
  await writeFile(spool, lines.map((l) => l + '\n').join(''));
  const [file] = await converter.convert(spool, { targetFileBytes: 64 << 20, outDir: join(dir, `out-${counter}`) });
  return (await hyparquetRead(file!.path)).rows;
}

const nulled = (meta: unknown): string[] => (meta as { changes: { field: string }[] }).changes.map((c) => c.field);

describe('integer columns on a line with a number a double cannot tell from an integer', () => {
  it('null every value written with a fraction or exponent on that line (NULLED), and only there', async () => {
    const got = await rows({ a: { type: 'integer' }, b: { type: 'number' }, c: { type: 'integer' } }, [
      '{"a":5.0,"b":1.0000000000000001,"c":7}',
      '{"a":5.0,"b":1.5,"c":7}',
      '{"a":1.0000000000000001,"c":1e-400}',
    ]);
    expect(got.map((r) => [r.a, r.b, r.c])).toEqual([
      [null, 1, 7n],
      [5n, 1.5, 7n],
      [null, null, null],
    ]);
    expect(got.map((r) => nulled(r._airbyte_meta))).toEqual([['a'], [], ['a', 'c']]);
  });

  it('do so on a line sent with white space before its brace too', async () => {
    const got = await rows({ a: { type: 'integer' }, b: { type: 'number' } }, ['{"a":5.0,"b":0.99999999999999999}', '{"a":5.0}'], ' \t ');
    expect(got.map((r) => [r.a, nulled(r._airbyte_meta)])).toEqual([
      [null, ['a']],
      [5n, []],
    ]);
  });

  it('an integer column nulls 1.0000000000000001 with a NULLED change', async () => {
    const [row] = await rows({ n: { type: 'integer' } }, ['{"n":1.0000000000000001}']);
    expect(row!.n).toBeNull();
    expect(nulled(row!._airbyte_meta)).toEqual(['n']);
  });
});

describe('duplicate keys in data', () => {
  it('type the first value into its column; JSON text keeps every member as sent', async () => {
    const [row] = await rows({ a: { type: 'integer' }, j: {}, s: { type: 'object', properties: { x: { type: 'string' } } } }, [
      '{"a":1,"j":{"q":1,"q":2},"a":2,"s":{"x":"first","x":"second"}}',
    ]);
    expect(row!.a).toBe(1n);
    expect(row!.j).toBe('{"q":1,"q":2}');
    expect(row!.s).toEqual({ x: 'first' });
    expect(row!._airbyte_additional_properties).toBeNull();
  });
});

describe('timestamps DuckDB reads leniently (as docs/types.md lists)', () => {
  it('take one-digit fields, 24:00:00 and offsets beyond ±23:59 as written', async () => {
    const got = await rows({ ts: { type: 'string', format: 'date-time' } }, [
      '{"ts":"2022-1-3T1:2:3Z"}',
      '{"ts":"2022-01-23T24:00:00Z"}',
      '{"ts":"2022-01-23T01:23:45+25:00"}',
    ]);
    expect(got.map((r) => isoFromMicros(r.ts as bigint, true))).toEqual([
      '2022-01-03T01:02:03.000000Z',
      '2022-01-24T00:00:00.000000Z',
      '2022-01-22T00:23:45.000000Z',
    ]);
  });

  it('but not trailing white space, nor a date with one-digit fields or trailing text in a date column', async () => {
    const got = await rows({ ts: { type: 'string', format: 'date-time' }, d: { type: 'string', format: 'date' } }, [
      '{"ts":"2022-01-23T01:23:45Z\\t","d":"2022-1-3"}',
      '{"ts":"2022-01-23 ","d":"2022-01-2x"}',
      '{"ts":"2022-01-23","d":"2022-01-23T23:59:59-11:00"}',
    ]);
    expect(got.map((r) => [r.ts === null ? null : isoFromMicros(r.ts as bigint, true), r.d === null ? null : isoFromDays(r.d as number)])).toEqual([
      [null, null],
      [null, null],
      ['2022-01-23T00:00:00.000000Z', '2022-01-23'], // the date-time's own calendar date
    ]);
    expect(got.map((r) => nulled(r._airbyte_meta))).toEqual([['ts', 'd'], ['ts', 'd'], []]);
  });
});
