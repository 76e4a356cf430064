import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Validator, type Schema } from 'jsonschema';
import type { Column } from '../../src/formats/format.js';
import { newTransfer } from '../../src/layout/transfer.js';
import {
  buildManifest,
  manifestProblems,
  serializeManifest,
  type CommittedFile,
  type Manifest,
  type ManifestInput,
} from '../../src/write/manifest.js';
import { configuredStream } from './support/catalog.js';

const schema = JSON.parse(readFileSync(new URL('../../spec/manifest.schema.json', import.meta.url), 'utf8')) as Schema & {
  required: string[];
  properties: Record<string, unknown>;
};
const schemaErrors = (value: unknown): string[] => new Validator().validate(value, schema).errors.map((e) => `${e.property} ${e.message}`);

const transfer = newTransfer(
  () => Date.parse('2024-05-01T23:59:59.999Z'),
  () => new Uint8Array(10).fill(7),
);
const columns: Column[] = [
  { name: '_airbyte_raw_id', type: 'VARCHAR' },
  { name: '_airbyte_extracted_at', type: 'TIMESTAMP WITH TIME ZONE' },
  { name: '_airbyte_generation_id', type: 'BIGINT' },
  { name: '_airbyte_meta', type: 'STRUCT(sync_id BIGINT, changes JSON)' },
  { name: 'id', type: 'BIGINT' },
];
const file = (part: number, records: number): CommittedFile => ({
  key: `exp/users/dt=2024-05-01/part-0000${part}_20240501T235959999Z.parquet`,
  records,
  bytes: 1000 + part,
  sha256: String(part).repeat(64),
  minExtractedAt: '2024-05-01T23:00:00.000Z',
  maxExtractedAt: '2024-05-01T23:59:00.000Z',
});

function input(change: Partial<ManifestInput> = {}): ManifestInput {
  return {
    stream: configuredStream('users', {
      namespace: 'public',
      destination_sync_mode: 'append_dedup',
      primary_key: [['id']],
      cursor_field: ['updated_at'],
      sync_id: 812,
      generation_id: 3,
      minimum_generation_id: 0,
    }),
    model: 'users',
    transfer,
    format: { type: 'parquet', compression: 'snappy' },
    columns,
    files: [file(0, 10), file(1, 5)],
    status: 'in_progress',
    now: () => Date.parse('2024-05-02T00:05:00.000Z'),
    ...change,
  };
}

describe('buildManifest', () => {
  it('carries every field of docs/layout.md ("Manifests") from the stream, the transfer and the committed files', () => {
    expect(buildManifest(input())).toEqual({
      manifest_version: 2,
      transfer_id: transfer.transferId,
      sync_id: 812,
      model: 'users',
      stream: { name: 'users', namespace: 'public' },
      transfer_date: '2024-05-01',
      transfer_timestamp: '20240501T235959999Z',
      status: 'in_progress',
      started_at: '2024-05-01T23:59:59.999Z',
      updated_at: '2024-05-02T00:05:00.000Z',
      destination_sync_mode: 'append_dedup',
      generation_id: 3,
      minimum_generation_id: 0,
      primary_key: [['id']],
      cursor_field: ['updated_at'],
      format: { type: 'parquet', compression: 'snappy' },
      columns,
      files: [
        {
          key: file(0, 10).key,
          records: 10,
          bytes: 1000,
          sha256: '0'.repeat(64),
          min_extracted_at: '2024-05-01T23:00:00.000Z',
          max_extracted_at: '2024-05-01T23:59:00.000Z',
        },
        {
          key: file(1, 5).key,
          records: 5,
          bytes: 1001,
          sha256: '1'.repeat(64),
          min_extracted_at: '2024-05-01T23:00:00.000Z',
          max_extracted_at: '2024-05-01T23:59:00.000Z',
        },
      ],
      record_count: 15,
    } satisfies Manifest);
  });

  it('gives a stream that received no record a manifest without files', () => {
    const m = buildManifest(input({ files: [], status: 'complete' }));
    expect(m.files).toEqual([]);
    expect(m.record_count).toBe(0);
    expect(m.status).toBe('complete');
    expect(schemaErrors(m)).toEqual([]);
  });

  it('falls back to the source-defined primary key and default cursor, then to none', () => {
    const stream = configuredStream('users');
    stream.stream.source_defined_primary_key = [['org'], ['user', 'id']];
    stream.stream.default_cursor_field = ['meta', 'updated'];
    const m = buildManifest(input({ stream }));
    expect(m.primary_key).toEqual([['org'], ['user', 'id']]);
    expect(m.cursor_field).toEqual(['meta', 'updated']);
    const bare = buildManifest(input({ stream: configuredStream('users') }));
    expect(bare.primary_key).toEqual([]);
    expect(bare.cursor_field).toEqual([]);
  });

  it('writes 0 for ids the catalog leaves out and null for a missing namespace', () => {
    const m = buildManifest(input({ stream: configuredStream('users', { destination_sync_mode: 'overwrite' }) }));
    expect([m.sync_id, m.generation_id, m.minimum_generation_id]).toEqual([0, 0, 0]);
    expect(m.stream).toEqual({ name: 'users', namespace: null });
    expect(schemaErrors(m)).toEqual([]);
  });

  it("copies its inputs: appending to the session's file list later does not change a built manifest", () => {
    const files = [file(0, 10)];
    const cols = [...columns];
    const m = buildManifest(input({ files, columns: cols }));
    files.push(file(1, 5));
    cols.push({ name: 'x', type: 'VARCHAR' });
    expect(m.files).toHaveLength(1);
    expect(m.columns).toHaveLength(columns.length);
    expect(m.record_count).toBe(10);
  });

  it.each([[{ type: 'parquet', compression: 'zstd' }], [{ type: 'csv', compression: 'gzip' }], [{ type: 'jsonl', compression: 'none' }]] as const)(
    'records the format %j',
    (format) => {
      const m = buildManifest(input({ format }));
      expect(m.format).toEqual(format);
      expect(schemaErrors(m)).toEqual([]);
    },
  );
});

describe('serializeManifest', () => {
  it('prints the fields in the documented order on one line, with a final newline', () => {
    const text = serializeManifest(buildManifest(input()));
    expect(text.endsWith('}\n')).toBe(true);
    expect(text.indexOf('\n')).toBe(text.length - 1);
    expect(text).toContain('{"manifest_version":2,"transfer_id":');
    const parsed = JSON.parse(text) as Record<string, unknown>;
    expect(Object.keys(parsed)).toEqual(Object.keys(schema.properties));
    expect(Object.keys((parsed.files as object[])[0]!)).toEqual(['key', 'records', 'bytes', 'sha256', 'min_extracted_at', 'max_extracted_at']);
    expect(parsed).toEqual(buildManifest(input()));
  });

  it("gives the same text whatever order the object's keys were set in", () => {
    const m = buildManifest(input());
    const shuffled = Object.fromEntries(Object.entries(m).reverse()) as unknown as Manifest;
    shuffled.stream = { namespace: m.stream.namespace, name: m.stream.name };
    expect(serializeManifest(shuffled)).toBe(serializeManifest(m));
  });
});

describe('spec/manifest.schema.json', () => {
  it('requires exactly the fields of docs/layout.md ("Manifests")', () => {
    const design = [
      'manifest_version',
      'transfer_id',
      'sync_id',
      'model',
      'stream',
      'transfer_date',
      'transfer_timestamp',
      'status',
      'started_at',
      'updated_at',
      'destination_sync_mode',
      'generation_id',
      'minimum_generation_id',
      'primary_key',
      'cursor_field',
      'format',
      'columns',
      'files',
      'record_count',
    ];
    expect(schema.required).toEqual(design);
    expect(Object.keys(schema.properties)).toEqual(design);
    expect((schema as { $schema: string }).$schema).toBe('http://json-schema.org/draft-07/schema#');
  });

  it('accepts built manifests of every status, and manifestProblems agrees', () => {
    for (const status of ['in_progress', 'complete', 'incomplete'] as const) {
      const m = JSON.parse(serializeManifest(buildManifest(input({ status })))) as unknown;
      expect(schemaErrors(m)).toEqual([]);
      expect(manifestProblems(m)).toEqual([]);
    }
  });

  const broken: [string, (m: Record<string, any>) => void, string][] = [
    ['a missing files list', (m) => delete m.files, 'files'],
    ['an unknown status', (m) => (m.status = 'done'), 'status'],
    ['a transfer id that is not a UUIDv7', (m) => (m.transfer_id = '6ba7b810-9dad-11d1-80b4-00c04fd430c8'), 'transfer_id'],
    ['an updated_at with a local offset', (m) => (m.updated_at = '2024-05-02T02:05:00+02:00'), 'updated_at'],
    ['an upper-case sha256', (m) => (m.files[0].sha256 = 'A'.repeat(64)), 'sha256'],
    ['a short sha256', (m) => (m.files[0].sha256 = 'abc'), 'sha256'],
    ['an empty file', (m) => (m.files[0].records = 0), 'records'],
    ['a byte count as text', (m) => (m.files[0].bytes = '1000'), 'bytes'],
    ['a file without its extraction times', (m) => delete m.files[1].max_extracted_at, 'max_extracted_at'],
    ['an unknown top-level field', (m) => (m.recordCount = 15), 'recordCount'],
    ['a parquet format with a CSV compression', (m) => (m.format = { type: 'parquet', compression: 'none' }), 'format'],
    ['a sync mode the connector refuses', (m) => (m.destination_sync_mode = 'update'), 'destination_sync_mode'],
    ['a model with ..', (m) => (m.model = 'a..b'), 'model'],
    ['a model of three segments', (m) => (m.model = 'a/b/c'), 'model'],
    ['a model with an empty segment', (m) => (m.model = 'a/'), 'model'],
    ['a model whose second segment is hidden', (m) => (m.model = 'a/.b'), 'model'],
    ['a negative record count', (m) => (m.record_count = -1), 'record_count'],
    ['an empty primary key path', (m) => (m.primary_key = [[]]), 'primary_key'],
    ['a namespace left out', (m) => delete m.stream.namespace, 'namespace'],
    ['another manifest version', (m) => (m.manifest_version = 1), 'manifest_version'],
    ['a transfer date in another form', (m) => (m.transfer_date = '20240501'), 'transfer_date'],
  ];
  it.each(broken)('rejects a manifest with %s', (_what, breakIt, field) => {
    const m = JSON.parse(serializeManifest(buildManifest(input()))) as Record<string, any>;
    breakIt(m);
    const errors = schemaErrors(m);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.join('\n')).toContain(field);
    expect(manifestProblems(m).length).toBeGreaterThan(0);
  });
});
