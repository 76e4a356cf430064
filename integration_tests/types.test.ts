// The type matrix through the real connector: every format × compression is written by `write`
// to radosgw, downloaded, and read back exactly — by DuckDB with the manifest's column types, and
// for Parquet also by hyparquet (an independent reader).

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DuckDBConnection } from '@duckdb/node-api';
import { createDuckDbEngine, type DuckDbEngine } from '../src/formats/duckdb.js';
import { quoteLiteral } from '../src/formats/schema.js';
import { canonFromHyparquet, duckRows, hyparquetRead } from '../test/unit/support/formats.js';
import { ALL_TYPES, MATRIX_RECORDS, MATRIX_SCHEMA } from '../test/unit/support/matrix.js';
import { expectMatrixRows } from '../test/unit/support/matrix-check.js';
import { runCli, tempJson } from './support/cli.js';
import { accessKeyConfig, catalog, streamStateLine } from './support/messages.js';
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

describe.each(FORMATS)('type matrix through write: %o', (format) => {
  let manifest: any;
  let path: string;

  beforeAll(async () => {
    const bucket = await freshBucket('types');
    const config = tempJson('config.json', accessKeyConfig(s3Server(), bucket, { format }));
    const cat = tempJson('catalog.json', catalog([{ name: 'matrix', namespace: 'public', properties: MATRIX_SCHEMA.properties, generationId: GENERATION_ID }], SYNC_ID));
    const input = MATRIX_RECORDS.map((r) => r.line).concat(streamStateLine('matrix', 'end', 'public')).join('\n') + '\n';
    const res = await runCli(['write', '--config', config, '--catalog', cat], { stdin: input });
    expect(res.code, res.stderr + res.lines.join('\n')).toBe(0);
    expect(res.messages.filter((m) => m.type === 'STATE')).toHaveLength(1);
    [manifest] = await manifests(bucket);
    expect(manifest.files).toHaveLength(1);
    expect(manifest.record_count).toBe(MATRIX_RECORDS.length);
    const key: string = manifest.files[0].key;
    const ext = key.slice(key.indexOf('.', key.lastIndexOf('/')) + 1);
    path = join(dir, `${format.format_type}-${format.compression_codec ?? format.compression}.${ext}`);
    await writeFile(path, await getObject(bucket, key));
  });

  it('lists the columns in order with their written types, metadata first', async () => {
    const names = manifest.columns.map((c: { name: string }) => c.name);
    expect(names).toEqual(['_airbyte_raw_id', '_airbyte_extracted_at', '_airbyte_generation_id', '_airbyte_meta', ...Object.keys(MATRIX_SCHEMA.properties), '_airbyte_additional_properties']);
    if (format.format_type === 'parquet') {
      const described = await connection.runAndReadAll(`SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet(${quoteLiteral(path)}))`);
      const types = described.getRowObjectsJS().map((r) => ({ name: r.column_name, type: r.column_type }));
      expect(types).toEqual(manifest.columns);
    }
  });

  it('holds exact values, read back by DuckDB', async () => {
    const jsonText = new Set<string>(manifest.columns.filter((c: { type: string }) => c.type === 'JSON').map((c: { name: string }) => c.name));
    const rows = await duckRows(connection, duckReader(path, format, manifest.columns), ALL_TYPES, jsonText);
    expectMatrixRows(rows, 'duckdb', SYNC_ID, GENERATION_ID);
  });

  if (format.format_type === 'parquet') {
    it('holds exact values, read back by hyparquet', async () => {
      const { rows } = await hyparquetRead(path);
      const canon = rows.map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, canonFromHyparquet(ALL_TYPES[k]!, v)])));
      expectMatrixRows(canon, 'hyparquet', SYNC_ID, GENERATION_ID);
    });
  }
});
