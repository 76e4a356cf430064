import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { Format } from '../../src/config/config.js';
import { createDuckDbEngine, type DuckDbEngine } from '../../src/formats/duckdb.js';
import { createStreamConverter } from '../../src/formats/converter.js';
import type { ConvertedFile, StreamConverter, StreamWriterContext } from '../../src/formats/format.js';
import { quoteIdent, quoteLiteral } from '../../src/formats/schema.js';
import {
  canonFromCsvCell,
  canonFromHyparquet,
  canonFromJson,
  duckRows,
  hyparquetRead,
  parseCsv,
  parseJsonExact,
  readText,
  type Canon,
  type ExactJson,
} from './support/formats.js';
import { ALL_TYPES, EXPECTED_COLUMN_TYPES, MATRIX_RECORDS, MATRIX_SCHEMA, matrixSpool } from './support/matrix.js';
import { expectMatrixRows } from './support/matrix-check.js';
import { spoolText } from '../support/spool-lines.js';

const SYNC_ID = 981;
const GENERATION_ID = 3;

const FORMATS: Format[] = [
  { type: 'parquet', compression: 'snappy' },
  { type: 'parquet', compression: 'zstd' },
  { type: 'parquet', compression: 'gzip' },
  { type: 'parquet', compression: 'uncompressed' },
  { type: 'csv', compression: 'none' },
  { type: 'csv', compression: 'gzip' },
  { type: 'jsonl', compression: 'none' },
  { type: 'jsonl', compression: 'gzip' },
];

const EXPECTED_EXTENSION: Record<string, string> = {
  'parquet/snappy': 'parquet',
  'parquet/zstd': 'parquet',
  'parquet/gzip': 'parquet',
  'parquet/uncompressed': 'parquet',
  'csv/none': 'csv',
  'csv/gzip': 'csv.gz',
  'jsonl/none': 'jsonl',
  'jsonl/gzip': 'jsonl.gz',
};

function context(format: Format, jsonSchema: Record<string, unknown> = MATRIX_SCHEMA, name = 'matrix'): StreamWriterContext {
  return {
    stream: {
      stream: { name, namespace: 'public', json_schema: jsonSchema, supported_sync_modes: ['full_refresh'] },
      sync_mode: 'full_refresh',
      destination_sync_mode: 'append',
    },
    format,
    syncId: SYNC_ID,
    generationId: GENERATION_ID,
  };
}

let engine: DuckDbEngine;
let connection: DuckDBConnection;
let dir: string;
let spool: string;

beforeAll(async () => {
  engine = await createDuckDbEngine({ threads: 1 });
  connection = await engine.connect();
  dir = await mkdtemp(join(tmpdir(), 'formats-types-'));
  spool = join(dir, 'matrix.spool');
  await writeFile(spool, matrixSpool());
});

afterAll(async () => {
  connection?.closeSync();
  engine?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function expectMatrix(rows: Record<string, Canon>[], reader: string): void {
  expectMatrixRows(rows, reader, SYNC_ID, GENERATION_ID);
}

async function convertAll(converter: StreamConverter, format: Format): Promise<ConvertedFile[]> {
  const files = await converter.convert(spool, { targetFileBytes: 64 * 1024 * 1024, outDir: join(dir, `${format.type}-${format.compression}`) });
  expect(files).toHaveLength(1);
  const file = files[0]!;
  expect(file.path.endsWith(`.${converter.extension}`)).toBe(true);
  expect(file.records).toBe(MATRIX_RECORDS.length);
  expect(file.minExtractedAt).toBe('1969-12-31T23:59:59.999Z');
  expect(file.maxExtractedAt).toBe('2023-11-14T22:13:20.123Z');
  return files;
}

describe.each(FORMATS)('type matrix: $type / $compression', (format) => {
  let converter: StreamConverter;
  let file: ConvertedFile;

  beforeAll(async () => {
    converter = await createStreamConverter(context(format), engine);
    file = (await convertAll(converter, format))[0]!;
  });

  it('names the columns in order, metadata first, with the extension of docs/layout.md ("Object keys")', () => {
    expect(converter.extension).toBe(EXPECTED_EXTENSION[`${format.type}/${format.compression}`]);
    expect(converter.columns.map((c) => c.name)).toEqual([
      '_airbyte_raw_id',
      '_airbyte_extracted_at',
      '_airbyte_generation_id',
      '_airbyte_meta',
      ...Object.keys(MATRIX_SCHEMA.properties),
      '_airbyte_additional_properties',
    ]);
  });

  it('lists each column with the type DuckDB reads it as (the manifest types)', () => {
    expect(Object.fromEntries(converter.columns.map((c) => [c.name, c.type]))).toEqual(EXPECTED_COLUMN_TYPES[format.type]);
  });

  if (format.type === 'parquet') {
    it('writes the declared Parquet types, read back by DuckDB', async () => {
      const described = await connection.runAndReadAll(
        `SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet(${quoteLiteral(file.path)}))`,
      );
      const types = Object.fromEntries(described.getRowObjectsJS().map((r) => [r.column_name as string, r.column_type as string]));
      expect(types).toEqual(EXPECTED_COLUMN_TYPES.parquet);
    });

    it('holds exact values, read back by DuckDB', async () => {
      expectMatrix(await duckRows(connection, `SELECT * FROM read_parquet(${quoteLiteral(file.path)})`, ALL_TYPES), 'duckdb');
    });

    it('holds exact values, read back by hyparquet', async () => {
      const { rows, schema } = await hyparquetRead(file.path);
      const canon = rows.map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, canonFromHyparquet(ALL_TYPES[k]!, v)])));
      expectMatrix(canon, 'hyparquet');
      // Spark reads neither Parquet UUID nor TIME (before 4.1): the raw id and times are strings.
      const element = (name: string) => schema.children.find((c) => c.element.name === name)!.element;
      expect(element('_airbyte_raw_id')).toMatchObject({ type: 'BYTE_ARRAY', converted_type: 'UTF8' });
      expect(element('t')).toMatchObject({ type: 'BYTE_ARRAY', converted_type: 'UTF8' });
      expect(element('ts').logical_type).toMatchObject({ type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MICROS' });
      expect(element('ts_ntz').logical_type).toMatchObject({ type: 'TIMESTAMP', isAdjustedToUTC: false, unit: 'MICROS' });
      expect(element('day').converted_type).toBe('DATE');
      expect(element('int')).toMatchObject({ type: 'INT64' });
    });

    it(`compresses with ${format.compression}`, async () => {
      const meta = await connection.runAndReadAll(`SELECT DISTINCT compression FROM parquet_metadata(${quoteLiteral(file.path)})`);
      expect(meta.getRowsJS().map((r) => r[0])).toEqual([format.compression.toUpperCase()]);
    });
  }

  if (format.type === 'csv') {
    it('writes RFC 4180 CSV with a header row, read back by an independent parser', async () => {
      const text = await readText(file.path);
      const [header, ...rows] = parseCsv(text);
      expect(header!.map((c) => c.text)).toEqual(converter.columns.map((c) => c.name));
      const canon = rows.map((cells) =>
        Object.fromEntries(cells.map((cell, i) => [header![i]!.text, canonFromCsvCell(ALL_TYPES[header![i]!.text]!, cell)])),
      );
      expectMatrix(canon, 'csv parser');
    });

    it('is read back by DuckDB with the manifest column types', async () => {
      const columns = `{${converter.columns.map((c) => `${quoteLiteral(c.name)}: ${quoteLiteral(c.type)}`).join(', ')}}`;
      const sql =
        `SELECT * FROM read_csv(${quoteLiteral(file.path)}, header = true, auto_detect = false, delim = ',', quote = '"', escape = '"', allow_quoted_nulls = false, ` +
        `max_line_size = 8000000, columns = ${columns})`;
      const jsonText = new Set(converter.columns.filter((c) => c.type === 'JSON').map((c) => c.name));
      const canon = await duckRows(connection, sql, ALL_TYPES, jsonText);
      expectMatrix(canon, 'duckdb read_csv');
    });
  }

  if (format.type === 'jsonl') {
    it('writes one JSON object a line, read back by an exact JSON parser', async () => {
      const text = await readText(file.path);
      expect(text.endsWith('\n')).toBe(true);
      const lines = text.slice(0, -1).split('\n');
      expect(lines).toHaveLength(MATRIX_RECORDS.length);
      const canon = lines.map((l) => {
        const obj = parseJsonExact(l) as Record<string, ExactJson>;
        expect(Object.keys(obj)).toEqual(converter.columns.map((c) => c.name));
        return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, canonFromJson(ALL_TYPES[k]!, v)]));
      });
      expectMatrix(canon, 'json parser');
    });

    it('is read back by DuckDB with the manifest column types', async () => {
      const columns = `{${converter.columns.map((c) => `${quoteLiteral(c.name)}: ${quoteLiteral(c.type)}`).join(', ')}}`;
      const sql = `SELECT * FROM read_json(${quoteLiteral(file.path)}, format = 'newline_delimited', maximum_object_size = 8000000, columns = ${columns})`;
      const rows = await duckRows(connection, sql, ALL_TYPES);
      expectMatrix(rows, 'duckdb read_json');
    });
  }
});

describe('streams with no declared columns', () => {
  it.each([{}, { type: 'object' }, { type: 'object', properties: {} }])(
    'keep every field in _airbyte_additional_properties (schema %j)',
    async (schema) => {
      const converter = await createStreamConverter(context({ type: 'parquet', compression: 'snappy' }, schema, 'empty'), engine);
      expect(converter.columns.map((c) => c.name)).toEqual([
        '_airbyte_raw_id',
        '_airbyte_extracted_at',
        '_airbyte_generation_id',
        '_airbyte_meta',
        '_airbyte_additional_properties',
      ]);
      const path = join(dir, `empty-${Object.keys(schema).length}.spool`);
      await writeFile(
        path,
        spoolText(
          ['{"a":1,"b":{"c":[true]}}', '{}', '{"big":123456789012345678901234567890}']
            .map((d) => `{"type":"RECORD","record":{"stream":"empty","data":${d},"emitted_at":5}}\n`)
            .join(''),
        ),
      );
      const [file] = await converter.convert(path, { targetFileBytes: 1 << 20, outDir: join(dir, 'empty') });
      const rows = await connection.runAndReadAll(`SELECT _airbyte_additional_properties AS x FROM read_parquet(${quoteLiteral(file!.path)})`);
      const values = rows.getRowsJS().map((r) => r[0]);
      expect(values[0] === null ? null : JSON.parse(values[0] as string)).toEqual({ a: 1, b: { c: [true] } });
      expect(values[1]).toBeNull();
      // The big integer keeps its digits: DuckDB, not JS, carried the text.
      expect(values[2]).toBe('{"big":123456789012345678901234567890}');
    },
  );
});

describe('records without a usable emitted_at', () => {
  it('get the scan time as _airbyte_extracted_at (the scanner decides it)', async () => {
    const converter = await createStreamConverter(
      context({ type: 'parquet', compression: 'snappy' }, { type: 'object', properties: { id: { type: 'integer' } } }, 'clock'),
      engine,
    );
    const path = join(dir, 'clock.spool');
    const now = () => Date.parse('2024-05-06T07:08:09.010Z');
    await writeFile(
      path,
      spoolText(
        '{"type":"RECORD","record":{"stream":"clock","data":{"id":1},"emitted_at":1e300}}\n{"type":"RECORD","record":{"stream":"clock","data":{"id":2},"emitted_at":-8640000000000001}}\n',
        { now },
      ),
    );
    const [file] = await converter.convert(path, { targetFileBytes: 1 << 20, outDir: join(dir, 'clock') });
    expect(file).toMatchObject({ records: 2, minExtractedAt: '2024-05-06T07:08:09.010Z', maxExtractedAt: '2024-05-06T07:08:09.010Z' });
  });
});

describe('column names that readers cannot tell apart', () => {
  it('keep the later property in _airbyte_additional_properties', async () => {
    const schema = {
      type: 'object',
      properties: { Name: { type: 'string' }, name: { type: 'string' }, _AIRBYTE_META: { type: 'string' }, 'we"ird.na me': { type: 'integer' } },
    };
    const converter = await createStreamConverter(context({ type: 'parquet', compression: 'snappy' }, schema, 'names'), engine);
    expect(converter.columns.map((c) => c.name).slice(4)).toEqual(['Name', 'we"ird.na me', '_airbyte_additional_properties']);
    const path = join(dir, 'names.spool');
    await writeFile(
      path,
      spoolText(
        '{"type":"RECORD","record":{"stream":"names","data":{"Name":"A","name":"b","_AIRBYTE_META":"m","we\\"ird.na me":7},"emitted_at":1}}\n',
      ),
    );
    const [file] = await converter.convert(path, { targetFileBytes: 1 << 20, outDir: join(dir, 'names') });
    const rows = await connection.runAndReadAll(
      `SELECT "Name", ${quoteIdent('we"ird.na me')}, _airbyte_additional_properties FROM read_parquet(${quoteLiteral(file!.path)})`,
    );
    const [row] = rows.getRowsJS();
    expect(row![0]).toBe('A');
    expect(row![1]).toBe(7n);
    expect(JSON.parse(row![2] as string)).toEqual({ name: 'b', _AIRBYTE_META: 'm' });
  });
});
