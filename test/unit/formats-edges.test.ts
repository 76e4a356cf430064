import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { Format } from '../../src/config/config.js';
import { createDuckDbEngine, type DuckDbEngine } from '../../src/formats/duckdb.js';
import { createStreamConverter, longestLineBytes } from '../../src/formats/converter.js';
import type { ConvertedFile, StreamWriterContext } from '../../src/formats/format.js';
import { quoteLiteral } from '../../src/formats/schema.js';
import { SystemError } from '../../src/errors.js';
import { hyparquetRead, isoFromDays, isoFromMicros, parseCsv, parseJsonExact, readText, type ExactJson } from './support/formats.js';
import { spoolText } from '../support/spool-lines.js';

let engine: DuckDbEngine;
let connection: DuckDBConnection;
let dir: string;
let counter = 0;

beforeAll(async () => {
  engine = await createDuckDbEngine({ threads: 1 });
  connection = await engine.connect();
  dir = await mkdtemp(join(tmpdir(), 'formats-edges-'));
});

afterAll(async () => {
  connection?.closeSync();
  engine?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function convert(
  schema: Record<string, unknown>,
  datas: string[],
  format: Format = { type: 'parquet', compression: 'snappy' },
): Promise<ConvertedFile[]> {
  const converter = await createStreamConverter(
    {
      stream: {
        stream: { name: 'edges', json_schema: schema, supported_sync_modes: [] },
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
  await writeFile(spool, spoolText(datas.map((d) => `{"type":"RECORD","record":{"stream":"edges","data":${d},"emitted_at":1000}}\n`).join('')));
  return converter.convert(spool, { targetFileBytes: 64 << 20, outDir: join(dir, `out-${counter}`) });
}

async function parquetRows(file: ConvertedFile): Promise<Record<string, unknown>[]> {
  return (await hyparquetRead(file.path)).rows;
}

function nulled(meta: unknown): string[] {
  return ((meta as { changes: { field: string; change: string }[] }).changes ?? []).filter((c) => c.change === 'NULLED').map((c) => c.field);
}

describe('timestamps and dates in the forms Airbyte sends', () => {
  const schema = {
    type: 'object',
    properties: {
      ts: { type: 'string', format: 'date-time' },
      day: { type: 'string', format: 'date' },
      ttz: { type: 'string', format: 'time', airbyte_type: 'time_with_timezone' },
    },
  };
  const datas = [
    '{"ts":"2022-01-23T01:23:45.678-11:30 BC","day":"2022-01-23 BC","ttz":"01:23:45+5:30"}',
    '{"ts":"2022-01-23t01:23:45.5z","day":"0001-01-01","ttz":"01:23:45z"}',
    '{"ts":"2022-01-23T01:23:45.1234567+00:00","day":"2022-01-23T10:00:00Z","ttz":"01:23:45.678-11:30"}',
  ];

  it('reads BC eras, lower-case t/z, one-digit offset hours and nanoseconds (truncated to micros)', async () => {
    const [file] = await convert(schema, datas);
    const rows = await parquetRows(file!);
    expect(rows.map((r) => isoFromMicros(r.ts as bigint, true))).toEqual([
      '-2021-01-23T12:53:45.678000Z', // 2022 BC is astronomical year -2021
      '2022-01-23T01:23:45.500000Z',
      '2022-01-23T01:23:45.123456Z',
    ]);
    expect(rows.map((r) => isoFromDays(r.day as number))).toEqual(['-2021-01-23', '0001-01-01', '2022-01-23']);
    expect(rows.map((r) => r.ttz)).toEqual(['01:23:45+5:30', '01:23:45z', '01:23:45.678-11:30']);
    expect(rows.flatMap((r) => nulled(r._airbyte_meta))).toEqual([]);
  });

  it('writes them as ISO-8601 text in CSV, astronomical years included', async () => {
    const [file] = await convert(schema, datas, { type: 'csv', compression: 'none' });
    const [header, ...rows] = parseCsv(await readText(file!.path));
    const col = (name: string) => header!.findIndex((c) => c.text === name);
    expect(rows.map((r) => r[col('ts')]!.text)).toEqual([
      '-2021-01-23T12:53:45.678000Z',
      '2022-01-23T01:23:45.500000Z',
      '2022-01-23T01:23:45.123456Z',
    ]);
    expect(rows.map((r) => r[col('day')]!.text)).toEqual(['-2021-01-23', '0001-01-01', '2022-01-23']);
  });
});

describe('timestamps with and without a zone', () => {
  it('read a date alone as midnight UTC, and keep the wall clock of a zoned value sent for a timestamp without time zone', async () => {
    const schema = {
      type: 'object',
      properties: {
        tz: { type: 'string', format: 'date-time' },
        ntz: { type: 'string', format: 'date-time', airbyte_type: 'timestamp_without_timezone' },
      },
    };
    const [file] = await convert(schema, [
      '{"tz":"2022-01-23","ntz":"2022-01-23T01:23:45+05:30"}',
      '{"tz":"2022-01-23 01:23:45 UTC","ntz":"2022-01-23T01:23:45.5"}',
    ]);
    const rows = await parquetRows(file!);
    expect(rows.map((r) => isoFromMicros(r.tz as bigint, true))).toEqual(['2022-01-23T00:00:00.000000Z', '2022-01-23T01:23:45.000000Z']);
    expect(rows.map((r) => isoFromMicros(r.ntz as bigint, false))).toEqual(['2022-01-23T01:23:45.000000', '2022-01-23T01:23:45.500000']);
  });
});

describe('values that are not what the schema says', () => {
  it('keep a record whose data is not an object, whole, in _airbyte_additional_properties', async () => {
    const [file] = await convert({ type: 'object', properties: { a: { type: 'integer' } } }, ['"just text"', '[1,2]', '{"a":1}']);
    const rows = await parquetRows(file!);
    expect(rows.map((r) => r.a)).toEqual([null, null, 1n]);
    expect(rows.map((r) => r._airbyte_additional_properties)).toEqual(['"just text"', '[1,2]', null]);
  });

  it('keep NUL characters in strings', async () => {
    for (const format of [
      { type: 'parquet', compression: 'snappy' },
      { type: 'jsonl', compression: 'none' },
    ] as Format[]) {
      const [file] = await convert({ type: 'object', properties: { s: { type: 'string' } } }, ['{"s":"a\\u0000b"}'], format);
      if (format.type === 'parquet') expect((await parquetRows(file!))[0]!.s).toBe('a\u0000b');
      else expect((parseJsonExact((await readText(file!.path)).trim()) as Record<string, ExactJson>).s).toBe('a\u0000b');
    }
  });

  it('null a nested value as a whole when one leaf does not fit, and name the field', async () => {
    const schema = {
      type: 'object',
      properties: {
        deep: { type: 'object', properties: { list: { type: 'array', items: { type: 'object', properties: { n: { type: 'integer' } } } } } },
      },
    };
    const [file] = await convert(schema, [
      '{"deep":{"list":[{"n":1},{"n":2}]}}',
      '{"deep":{"list":[{"n":1},{"n":"two"}]}}',
      '{"deep":{"list":"nope"}}',
      '{"deep":{"list":[{"n":1,"m":2}]}}',
    ]);
    const rows = await parquetRows(file!);
    expect(rows.map((r) => r.deep)).toEqual([{ list: [{ n: 1n }, { n: 2n }] }, null, null, { list: [{ n: 1n }] }]);
    expect(rows.map((r) => nulled(r._airbyte_meta))).toEqual([[], ['deep'], ['deep'], []]);
    // An undeclared member deep inside keeps the whole original value.
    expect(rows.map((r) => r._airbyte_additional_properties)).toEqual([null, null, null, '{"deep":{"list":[{"n":1,"m":2}]}}']);
  });
});

describe('fields the schema does not declare', () => {
  const declared = Array.from({ length: 12 }, (_, i) => `d${i}`);
  const schema = { type: 'object', properties: Object.fromEntries(declared.map((n) => [n, { type: 'integer' }])) };
  const extras = (n: number): Record<string, unknown> => Object.fromEntries(Array.from({ length: n }, (_, i) => [`x${i}`, i % 2 ? { i } : i]));
  const cases: [string, Record<string, unknown>, Record<string, unknown> | null][] = [
    ['declared keys only, in schema order', Object.fromEntries(declared.map((n, i) => [n, i])), null],
    ['declared keys only, some absent, others reordered', { d5: 5, d0: 0, d11: null }, null],
    [
      'new fields after the declared ones',
      { ...Object.fromEntries(declared.map((n, i) => [n, i])), late: 'x', later: [1] },
      { late: 'x', later: [1] },
    ],
    [
      'special key names',
      { d1: 1, 'a/b': 1, 't~0': 2, 'q"': 3, '': null, 'd1 ': 4, D1: 5 },
      { 'a/b': 1, 't~0': 2, 'q"': 3, '': null, 'd1 ': 4, D1: 5 },
    ],
    ['a few undeclared among declared', { x: 1, d0: 0, y: null, d3: 3 }, { x: 1, y: null }],
    ['many undeclared (more than declared)', { d2: 2, ...extras(20) }, extras(20)],
    ['many undeclared (fewer than declared)', { ...extras(9), d2: 2 }, extras(9)],
  ];

  it.each(cases)('%s', async (_name, data, expected) => {
    const [file] = await convert(schema, [JSON.stringify(data)]);
    const [row] = await parquetRows(file!);
    const extra = row!._airbyte_additional_properties as string | null;
    expect(extra === null ? null : JSON.parse(extra)).toEqual(expected);
    if (expected) expect(Object.keys(JSON.parse(extra!))).toEqual(Object.keys(expected)); // record order
    for (const n of declared) expect(row![n], n).toBe(typeof data[n] === 'number' ? BigInt(data[n] as number) : null);
  });
});

describe('conversions and their files', () => {
  const schema = { type: 'object', properties: { id: { type: 'integer' } } };
  const context: StreamWriterContext = {
    stream: { stream: { name: 'files', json_schema: schema, supported_sync_modes: [] }, sync_mode: 'full_refresh', destination_sync_mode: 'append' },
    format: { type: 'csv', compression: 'none' },
    syncId: 1,
    generationId: 1,
  };

  it('share an output directory without touching each other’s files', async () => {
    const converter = await createStreamConverter(context, engine);
    const out = join(dir, 'shared');
    const spoolA = join(dir, 'a.spool');
    const spoolB = join(dir, 'b.spool');
    await writeFile(spoolA, spoolText('{"type":"RECORD","record":{"stream":"files","data":{"id":1},"emitted_at":1}}\n'));
    await writeFile(spoolB, spoolText('{"type":"RECORD","record":{"stream":"files","data":{"id":2},"emitted_at":2}}\n'));
    const [a, b] = await Promise.all([
      converter.convert(spoolA, { targetFileBytes: 1 << 20, outDir: out }),
      converter.convert(spoolB, { targetFileBytes: 1 << 20, outDir: out }),
    ]);
    expect(a![0]!.path).not.toBe(b![0]!.path);
    const ids = async (path: string) =>
      parseCsv(await readText(path))
        .slice(1)
        .map((cells) => cells[4]!.text);
    expect(await ids(a![0]!.path)).toEqual(['1']);
    expect(await ids(b![0]!.path)).toEqual(['2']);
    expect((await readdir(out)).sort()).toEqual([a![0]!.path, b![0]!.path].map((p) => p.slice(out.length + 1)).sort());
  });

  it('fail with a system error naming the stream, and leave no file behind, when DuckDB cannot read the spool', async () => {
    const converter = await createStreamConverter(context, engine);
    const out = join(dir, 'failed');
    const spool = join(dir, 'bad.spool');
    await writeFile(spool, spoolText('{"type":"RECORD","record":{"stream":"files","data":{"id":1},"emitted_at":1}}\n{"type":"RECORD", not json\n'));
    const failure = await converter.convert(spool, { targetFileBytes: 1 << 20, outDir: out }).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(SystemError);
    expect((failure as SystemError).message).toMatch(/stream files/);
    expect((failure as SystemError).stream).toEqual({ name: 'files', namespace: undefined });
    expect(await readdir(out)).toEqual([]);
  });
});

describe('large records', () => {
  it('convert a record longer than DuckDB’s default 16 MiB object limit', async () => {
    const spool = join(dir, 'large.spool');
    const size = 20 * 1024 * 1024;
    const head = 'd\u00011\u0001{"type":"RECORD","record":{"stream":"edges","data":{"id":1,"blob":"'; // a spool line (spool-line.ts)
    const tail = '"},"emitted_at":1}}';
    await new Promise<void>((resolve, reject) => {
      const out = createWriteStream(spool);
      out.on('error', reject);
      out.write(head);
      const chunk = 'abcdefgh'.repeat(128 * 1024); // 1 MiB
      for (let written = 0; written < size; written += chunk.length) out.write(chunk);
      out.end(`${tail}\n${spoolText('{"type":"RECORD","record":{"stream":"edges","data":{"id":2,"blob":"small"},"emitted_at":2}}\n')}`, () =>
        resolve(),
      );
    });
    expect(await longestLineBytes(spool)).toBe(head.length + size + tail.length);
    for (const format of [
      { type: 'parquet', compression: 'zstd' },
      { type: 'csv', compression: 'gzip' },
    ] as Format[]) {
      const converter = await createStreamConverter(
        {
          stream: {
            stream: {
              name: 'edges',
              json_schema: { type: 'object', properties: { id: { type: 'integer' }, blob: { type: 'string' } } },
              supported_sync_modes: [],
            },
            sync_mode: 'full_refresh',
            destination_sync_mode: 'append',
          },
          format,
          syncId: 1,
          generationId: 1,
        },
        engine,
      );
      const files = await converter.convert(spool, { targetFileBytes: 64 << 20, outDir: join(dir, `large-${format.type}`) });
      expect(files.map((f) => f.records)).toEqual([2]);
      const source =
        format.type === 'parquet'
          ? `read_parquet(${quoteLiteral(files[0]!.path)})`
          : `read_csv(${quoteLiteral(files[0]!.path)}, max_line_size = 100000000)`;
      const lengths = await connection.runAndReadAll(`SELECT id, length(blob) FROM ${source} ORDER BY id`);
      expect(lengths.getRowsJS()).toEqual([
        [1n, expect.any(BigInt)],
        [2n, 5n],
      ]);
      expect(Number(lengths.getRowsJS()[0]![1])).toBeGreaterThanOrEqual(size);
    }
  }, 60_000);
});
