// The type matrix through the real connector: every format × compression is written by `write`
// to radosgw, downloaded, and read back exactly — by DuckDB with the manifest's column types, and
// for Parquet also by hyparquet (an independent reader). The manifest's column types, and the
// Parquet file's own, are compared with the types the matrix expects. Beside the matrix, a stream
// whose schema declares no columns goes the same way, and so does a stream of reported cases
// (CASES: issue 10 items 1 and 9, issue 11 items 3 and 5).

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DuckDBConnection } from '@duckdb/node-api';
import { createDuckDbEngine, type DuckDbEngine } from '../src/formats/duckdb.js';
import { quoteLiteral } from '../src/formats/schema.js';
import { canonFromHyparquet, duckRows, hyparquetRead, JsonNumber, parseJsonExact } from '../test/unit/support/formats.js';
import { ALL_TYPES, EXPECTED_COLUMN_TYPES, MATRIX_RECORDS, MATRIX_SCHEMA } from '../test/unit/support/matrix.js';
import { expectMatrixRows } from '../test/unit/support/matrix-check.js';
import { runCli, tempJson } from './support/cli.js';
import { accessKeyConfig, catalog, streamStateLine, streamStatusLine } from './support/messages.js';
import { getObject, manifests } from './support/read-back.js';
import { freshBucket, s3Server } from './support/server.js';

const SYNC_ID = 981;
const GENERATION_ID = 3;

const FORMATS: Record<string, string>[] = [
  { format_type: 'parquet', compression_codec: 'snappy' },
  { format_type: 'parquet', compression_codec: 'zstd' },
  { format_type: 'parquet', compression_codec: 'gzip' },
  { format_type: 'parquet', compression_codec: 'uncompressed' },
  { format_type: 'csv', compression: 'none' },
  { format_type: 'csv', compression: 'gzip' },
  { format_type: 'jsonl', compression: 'none' },
  { format_type: 'jsonl', compression: 'gzip' },
];

let engine: DuckDbEngine;
let connection: DuckDBConnection;
let dir: string;

beforeAll(async () => {
  engine = await createDuckDbEngine({ threads: 1 });
  connection = await engine.connect();
  dir = await mkdtemp(join(tmpdir(), 'types-it-'));
});

afterAll(async () => {
  connection?.closeSync();
  engine?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The DuckDB reader for a written file, with the manifest's column types. */
function duckReader(path: string, format: Record<string, string>, columns: { name: string; type: string }[]): string {
  if (format.format_type === 'parquet') return `SELECT * FROM read_parquet(${quoteLiteral(path)})`;
  const spec = `{${columns.map((c) => `${quoteLiteral(c.name)}: ${quoteLiteral(c.type)}`).join(', ')}}`;
  if (format.format_type === 'csv') {
    return `SELECT * FROM read_csv(${quoteLiteral(path)}, header = true, auto_detect = false, delim = ',', quote = '"', escape = '"', allow_quoted_nulls = false, max_line_size = 8000000, columns = ${spec})`;
  }
  return `SELECT * FROM read_json(${quoteLiteral(path)}, format = 'newline_delimited', maximum_object_size = 8000000, columns = ${spec})`;
}

/** Records of the stream without columns: every field lands in _airbyte_additional_properties. */
const EMPTY_DATAS = ['{"a":1,"b":{"c":[true]}}', '{}', '{"big":123456789012345678901234567890}', '{"s":"x\\ud800"}'];
const EMPTY_EXTRAS = ['{"a":1,"b":{"c":[true]}}', null, '{"big":123456789012345678901234567890}', '{"s":"x\uFFFD"}'];

/**
 * Reported cases, in one stream so that their rows share a file (and DuckDB's chunks):
 * - issue 10.1: a timestamp without offset after one with a zone name is still read as UTC;
 * - issue 10.9: free-form values whose keys collide when case is folded stay readable by
 *   DuckDB's read_json in JSONL;
 * - issue 11.3: a plain `format: time` keeps times with and without an offset;
 * - issue 11.5: integers beyond int64 and numbers beyond double are NULLED with Airbyte's
 *   DESTINATION_FIELD_SIZE_LIMITATION; values of the wrong shape with DESTINATION_SERIALIZATION_ERROR.
 */
const CASES_SCHEMA = {
  id: { type: 'integer' },
  ts: { type: 'string', format: 'date-time' },
  tsw: { type: 'string', format: 'date-time' },
  t_plain: { type: 'string', format: 'time' },
  big: { type: 'integer' },
  num: { type: 'number' },
  free: {},
  clash: { type: 'object', properties: { a: { type: 'integer' }, A: { type: 'integer' } } },
};
const CASES_DATAS = [
  '{"id":1,"ts":"2022-01-23T01:23:45 America/New_York","tsw":"2022-01-23T01:23:45 Asia/Tokyo","t_plain":"10:30:00Z","big":9223372036854775808,"num":1e400,"free":{"a":1,"A":2},"clash":{"a":1,"A":2}}',
  '{"id":2,"ts":"2022-01-23T01:23:45","tsw":"2022-06-01","t_plain":"15:45:30+02:00","free":[{"b":{"c":1,"C":2}}]}',
  '{"id":3,"ts":"2022-01-23T01:23:45.5","tsw":"2022-01-23 01:23:45","t_plain":"10:30:00","big":-9223372036854775809,"free":{"x":1}}',
  '{"id":4,"t_plain":"25:00:00","big":1.5,"num":"1.5"}',
];
const FIELD_SIZE = 'DESTINATION_FIELD_SIZE_LIMITATION';
const SERIALIZATION = 'DESTINATION_SERIALIZATION_ERROR';
const CASES_EXPECTED = [
  {
    id: 1,
    ts: '2022-01-23T06:23:45.000Z',
    tsw: '2022-01-22T16:23:45.000Z',
    t_plain: '10:30:00Z',
    changes: [
      ['big', FIELD_SIZE],
      ['num', FIELD_SIZE],
    ],
  },
  { id: 2, ts: '2022-01-23T01:23:45.000Z', tsw: '2022-06-01T00:00:00.000Z', t_plain: '15:45:30+02:00', changes: [] },
  { id: 3, ts: '2022-01-23T01:23:45.500Z', tsw: '2022-01-23T01:23:45.000Z', t_plain: '10:30:00', changes: [['big', FIELD_SIZE]] },
  {
    id: 4,
    ts: null,
    tsw: null,
    t_plain: null,
    changes: [
      ['t_plain', SERIALIZATION],
      ['big', SERIALIZATION],
      ['num', SERIALIZATION],
    ],
  },
];

/** Name → type of a manifest's (or a file's) columns. */
const typeMap = (columns: { name: string; type: string }[]): Record<string, string> => Object.fromEntries(columns.map((c) => [c.name, c.type]));

describe.each(FORMATS)('type matrix through write: %o', (format) => {
  const type = format.format_type as 'parquet' | 'csv' | 'jsonl';
  const written: Record<string, { manifest: any; path: string }> = {};

  beforeAll(async () => {
    const bucket = await freshBucket('types');
    const config = tempJson('config.json', accessKeyConfig(s3Server(), bucket, { format }));
    const streams = [
      { name: 'matrix', namespace: 'public', properties: MATRIX_SCHEMA.properties, generationId: GENERATION_ID },
      { name: 'empty', namespace: 'public', properties: {}, generationId: GENERATION_ID },
      { name: 'cases', namespace: 'public', properties: CASES_SCHEMA, generationId: GENERATION_ID },
    ];
    const cat = tempJson('catalog.json', catalog(streams, SYNC_ID));
    const empty = EMPTY_DATAS.map((d) => `{"type":"RECORD","record":{"stream":"empty","namespace":"public","data":${d},"emitted_at":1700000000123}}`);
    const cases = CASES_DATAS.map((d) => `{"type":"RECORD","record":{"stream":"cases","namespace":"public","data":${d},"emitted_at":1700000000123}}`);
    const states = ['matrix', 'empty', 'cases'].map((n) => streamStateLine(n, 'end', 'public'));
    const statuses = streams.map((s) => streamStatusLine(s.name, 'COMPLETE', s.namespace));
    const input = [...MATRIX_RECORDS.map((r) => r.line), ...empty, ...cases, ...states, ...statuses].join('\n') + '\n';
    const res = await runCli(['write', '--config', config, '--catalog', cat], { stdin: input });
    expect(res.code, res.stderr + res.lines.join('\n')).toBe(0);
    expect(res.messages.filter((m) => m.type === 'STATE')).toHaveLength(3);
    for (const manifest of await manifests(bucket)) {
      expect(manifest.files).toHaveLength(1);
      const key: string = manifest.files[0].key;
      const ext = key.slice(key.indexOf('.', key.lastIndexOf('/')) + 1);
      const path = join(dir, `${manifest.stream.name}-${format.format_type}-${format.compression_codec ?? format.compression}.${ext}`);
      await writeFile(path, await getObject(bucket, key));
      written[manifest.stream.name] = { manifest, path };
    }
    expect(Object.keys(written).sort()).toEqual(['cases', 'empty', 'matrix']);
    expect(written.matrix!.manifest.record_count).toBe(MATRIX_RECORDS.length);
    expect(written.empty!.manifest.record_count).toBe(EMPTY_DATAS.length);
  });

  it('lists the columns in order with the types expected for the format, metadata first', async () => {
    const { manifest } = written.matrix!;
    const names = manifest.columns.map((c: { name: string }) => c.name);
    expect(names).toEqual([
      '_airbyte_raw_id',
      '_airbyte_extracted_at',
      '_airbyte_generation_id',
      '_airbyte_meta',
      ...Object.keys(MATRIX_SCHEMA.properties),
      '_airbyte_additional_properties',
    ]);
    expect(typeMap(manifest.columns)).toEqual(EXPECTED_COLUMN_TYPES[type]);
  });

  if (format.format_type === 'parquet') {
    it('writes the Parquet types expected, as DuckDB reads the file', async () => {
      const described = await connection.runAndReadAll(
        `SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet(${quoteLiteral(written.matrix!.path)}))`,
      );
      const types = described.getRowObjectsJS().map((r) => ({ name: String(r.column_name), type: String(r.column_type) }));
      expect(typeMap(types)).toEqual(EXPECTED_COLUMN_TYPES.parquet);
    });
  }

  it('keeps every field of a stream without columns in _airbyte_additional_properties', async () => {
    const { manifest, path } = written.empty!;
    const meta = Object.fromEntries(
      ['_airbyte_raw_id', '_airbyte_extracted_at', '_airbyte_generation_id', '_airbyte_meta', '_airbyte_additional_properties'].map((n) => [
        n,
        EXPECTED_COLUMN_TYPES[type][n],
      ]),
    );
    expect(manifest.columns).toEqual(Object.entries(meta).map(([name, t]) => ({ name, type: t })));
    const reader = await connection.runAndReadAll(
      `SELECT CAST(_airbyte_additional_properties AS VARCHAR) AS x FROM (${duckReader(path, format, manifest.columns)})`,
    );
    const rows = reader.getRowObjectsJS() as { x: string | null }[];
    // Compared exactly (numbers as their text: the big integer keeps its digits), in any order.
    const canon = (x: string | null): string | null =>
      x === null ? null : JSON.stringify(parseJsonExact(x), (_k, v) => (v instanceof JsonNumber ? `#${v.text}` : v));
    expect(rows.map((r) => canon(r.x)).sort()).toEqual(EMPTY_EXTRAS.map(canon).sort());
  });

  it('holds exact values, read back by DuckDB', async () => {
    const { manifest, path } = written.matrix!;
    const jsonText = new Set<string>(manifest.columns.filter((c: { type: string }) => c.type === 'JSON').map((c: { name: string }) => c.name));
    const rows = await duckRows(connection, duckReader(path, format, manifest.columns), ALL_TYPES, jsonText);
    expectMatrixRows(rows, 'duckdb', SYNC_ID, GENERATION_ID);
  });

  if (format.format_type === 'parquet') {
    it('holds exact values, read back by hyparquet', async () => {
      const { rows } = await hyparquetRead(written.matrix!.path);
      const canon = rows.map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, canonFromHyparquet(ALL_TYPES[k]!, v)])));
      expectMatrixRows(canon, 'hyparquet', SYNC_ID, GENERATION_ID);
    });
  }

  it("reads each timestamp on its own, keeps plain times with and without offsets, and gives Airbyte's reasons (issues 10.1, 11.3, 11.5)", async () => {
    const { manifest, path } = written.cases!;
    const reader = await connection.runAndReadAll(
      `SELECT id, epoch_ms(CAST(ts AS TIMESTAMPTZ)) AS ts, epoch_ms(CAST(tsw AS TIMESTAMPTZ)) AS tsw, CAST(t_plain AS VARCHAR) AS t_plain, ` +
        `CAST(big AS VARCHAR) AS big, CAST(num AS VARCHAR) AS num, CAST(_airbyte_meta AS JSON)::VARCHAR AS meta FROM (${duckReader(path, format, manifest.columns)}) ORDER BY id`,
    );
    const rows = (reader.getRowObjectsJS() as Record<string, unknown>[]).map((r) => ({
      id: Number(r.id),
      ts: r.ts === null ? null : new Date(Number(r.ts)).toISOString(),
      tsw: r.tsw === null ? null : new Date(Number(r.tsw)).toISOString(),
      t_plain: r.t_plain,
      changes: (JSON.parse(r.meta as string) as { changes: { field: string; reason: string }[] }).changes.map((c) => [c.field, c.reason]),
    }));
    expect(rows).toEqual(CASES_EXPECTED);
    expect(manifest.columns.find((c: { name: string }) => c.name === 't_plain').type).toBe('VARCHAR');
  });

  if (format.format_type === 'jsonl') {
    it("writes JSONL that DuckDB's read_json reads as the docs say, whatever keys free-form values hold (issue 10.9)", async () => {
      const { path } = written.cases!;
      // The reader of docs/reading.md, with its own detection of the columns.
      const reader = await connection.runAndReadAll(
        `SELECT id, CAST(free AS VARCHAR) AS free, CAST(clash AS VARCHAR) AS clash FROM read_json(${quoteLiteral(path)}) ORDER BY id`,
      );
      const rows = reader.getRowObjectsJS() as { id: bigint; free: string | null; clash: string | null }[];
      expect(rows.map((r) => Number(r.id))).toEqual([1, 2, 3, 4]);
      // Values whose keys collide by case are their JSON text (a JSON string), as Parquet keeps them.
      const text = (x: string | null): unknown => (x?.startsWith('"') ? JSON.parse(x) : x);
      expect(text(rows[0]!.free)).toBe('{"a":1,"A":2}');
      expect(text(rows[0]!.clash)).toBe('{"a":1,"A":2}');
      expect(text(rows[1]!.free)).toBe('[{"b":{"c":1,"C":2}}]');
    });
  }
});
