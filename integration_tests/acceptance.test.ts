// Black-box acceptance test: the built CLI (dist/main.js) run as an orchestrator runs it, on the
// sample of integration_tests/sample/ and a real S3 (radosgw): spec, check, then three transfers
// into one bucket —
//   A. an older generation of `events` (overwrite, generation 2), rows that must end up hidden;
//   B. the sample itself (users append_dedup, orders append, events overwrite at generation 3);
//   C. a refresh of `events` to generation 4 that fails on a bad line, after one checkpoint.
// Every stdout line is checked against the protocol schema, the manifests against the layout
// contract, every record of the sample is read back once by hyparquet, and the DuckDB recipes of
// docs/reading.md, run as written on a copy of the bucket, must return what this file computes
// from the input itself.

import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { DuckDBInstance } from '@duckdb/node-api';
import { Validator, type Schema } from 'jsonschema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localRecipe } from '../scripts/lib/recipes.mjs';
import { runCli, tempJson, type CliResult } from './support/cli.js';
import { protocolErrors, protocolSchemaAvailable, protocolSchemaSkipReason } from './support/protocol.js';
import { getObject, listKeys, parquetRows } from './support/read-back.js';
import { adminClient, freshBucket, s3Server } from './support/server.js';

const ROOT = resolve(import.meta.dirname, '..');
const SAMPLE = join(import.meta.dirname, 'sample');
const CATALOG_PATH = join(SAMPLE, 'configured_catalog.json');
const catalog = JSON.parse(readFileSync(CATALOG_PATH, 'utf8')) as { streams: Record<string, any>[] };
const sampleText = readFileSync(join(SAMPLE, 'messages.jsonl'), 'utf8');
const sampleLines = sampleText.split('\n').filter((l) => l.length > 0);
const sampleMessages = sampleLines.map((l) => JSON.parse(l) as Record<string, any>);

interface SampleRecord {
  stream: string;
  data: Record<string, any>;
  emittedAt: number;
}
const sampleRecords: SampleRecord[] = sampleMessages
  .filter((m) => m.type === 'RECORD')
  .map((m) => ({ stream: m.record.stream, data: m.record.data, emittedAt: m.record.emitted_at }));
const STREAMS = catalog.streams.map((s) => s.stream.name as string);
const FOLDER = 'exports/shop';

function configured(name: string): Record<string, any> {
  return catalog.streams.find((s) => s.stream.name === name)!;
}

/** A catalog of the sample's `events` stream at another generation (transfers A and C). */
function eventsCatalog(generation: number, syncId: number): Record<string, unknown> {
  return { streams: [{ ...configured('events'), generation_id: generation, minimum_generation_id: generation, sync_id: syncId }] };
}

function eventLine(data: Record<string, unknown>, emittedAt: number): string {
  return JSON.stringify({ type: 'RECORD', record: { stream: 'events', data, emitted_at: emittedAt } });
}

const eventsComplete = JSON.stringify({
  type: 'TRACE',
  trace: { type: 'STREAM_STATUS', emitted_at: 1_700_000_100_000, stream_status: { stream_descriptor: { name: 'events' }, status: 'COMPLETE' } },
});

function eventsState(cursor: string): string {
  return JSON.stringify({ type: 'STATE', state: { type: 'STREAM', stream: { stream_descriptor: { name: 'events' }, stream_state: { cursor } } } });
}

// Transfer A: 30 events that share ids with the sample (dated 2030, so they would win every
// comparison if they were not hidden) and 10 the sample does not have.
const olderGeneration = [
  ...Array.from({ length: 30 }, (_, i) => ({
    event_id: `evt-${String(i + 1).padStart(6, '0')}`,
    user_id: 1,
    type: 'old',
    occurred_at: '2030-01-01T00:00:00Z',
    properties: {},
  })),
  ...Array.from({ length: 10 }, (_, i) => ({
    event_id: `evt-old-${i}`,
    user_id: 2,
    type: 'old',
    occurred_at: '2023-01-01T00:00:00Z',
    properties: {},
  })),
];
// Transfer C: 5 events checkpointed before the bad line.
const failedRefresh = Array.from({ length: 5 }, (_, i) => ({
  event_id: `evt-refresh-${i}`,
  user_id: 3,
  type: 'refresh',
  occurred_at: '2024-06-01T00:00:00Z',
  properties: { n: i },
}));
const A_EMITTED = 1_700_000_000_000;
const C_EMITTED = 1_800_000_000_000;

interface Transfer {
  result: CliResult;
  manifests: Record<string, any>[];
}

const run: {
  bucket: string;
  spec: CliResult;
  check: CliResult;
  keysAfterCheck: string[];
  a: Transfer;
  b: Transfer;
  c: Transfer;
  keysAfterWrites: string[];
} = {} as never;

/** Runs a write, then returns its result and the manifests it added to the bucket. */
async function transfer(config: string, catalogPath: string, stdin: string): Promise<Transfer> {
  const before = new Set(await listKeys(run.bucket, '_manifests/'));
  const result = await runCli(['write', '--config', config, '--catalog', catalogPath], { stdin });
  const added = (await listKeys(run.bucket, '_manifests/')).filter((k) => !before.has(k));
  const manifests = await Promise.all(
    added.map(async (k) => ({ ...(JSON.parse((await getObject(run.bucket, k)).toString('utf8')) as object), _key: k })),
  );
  return { result, manifests };
}

describe('acceptance: the built connector on the sample sync', () => {
  beforeAll(async () => {
    const server = s3Server();
    run.bucket = await freshBucket('acceptance');
    const template = JSON.parse(readFileSync(join(SAMPLE, 'sample_config.json'), 'utf8')) as Record<string, any>;
    const config = tempJson('config.json', {
      ...template,
      s3_bucket_name: run.bucket,
      s3_endpoint: server.endpoint,
      credentials: { ...template.credentials, access_key_id: server.accessKey, secret_access_key: server.secretKey },
    });
    run.spec = await runCli(['spec']);
    run.check = await runCli(['check', '--config', config]);
    run.keysAfterCheck = await listKeys(run.bucket);
    const older = [...olderGeneration.map((e, i) => eventLine(e, A_EMITTED + i)), eventsState('a'), eventsComplete];
    run.a = await transfer(config, tempJson('catalog-a.json', eventsCatalog(2, 1000)), older.join('\n') + '\n');
    run.b = await transfer(config, CATALOG_PATH, sampleText);
    const refresh = [...failedRefresh.map((e, i) => eventLine(e, C_EMITTED + i)), eventsState('c'), 'this line is not JSON'];
    run.c = await transfer(config, tempJson('catalog-c.json', eventsCatalog(4, 1002)), refresh.join('\n') + '\n');
    run.keysAfterWrites = await listKeys(run.bucket);
  }, 300_000);

  it('spec prints exactly one SPEC message, equal to spec/spec.json, and exits 0', () => {
    expect(run.spec.code).toBe(0);
    expect(run.spec.messages).toHaveLength(1);
    expect(run.spec.messages[0]!.type).toBe('SPEC');
    expect(run.spec.messages[0]!.spec).toEqual(JSON.parse(readFileSync(join(ROOT, 'spec/spec.json'), 'utf8')));
  });

  it('check of the sample config succeeds, exits 0 and leaves nothing in the bucket', () => {
    expect(run.check.code).toBe(0);
    expect(run.check.messages.map((m) => m.type)).toEqual(['CONNECTION_STATUS']);
    expect(run.check.messages[0]!.connectionStatus.status, run.check.messages[0]!.connectionStatus.message).toBe('SUCCEEDED');
    expect(run.keysAfterCheck).toEqual([]);
  });

  const allLines = (): string[] => [run.spec, run.check, run.a.result, run.b.result, run.c.result].flatMap((r) => r.lines);

  it('every stdout line of spec, check and the three writes is one JSON object with a type', () => {
    const all = allLines();
    expect(all.length).toBeGreaterThan(25);
    for (const line of all) expect(JSON.parse(line)).toHaveProperty('type');
  });

  it.skipIf(!protocolSchemaAvailable)('every stdout line of spec, check and the three writes conforms to the Airbyte protocol schema', () => {
    for (const line of allLines()) expect(protocolErrors(line), line).toEqual([]);
  });
  if (!protocolSchemaAvailable) it.skip(`protocol conformance of every stdout line: ${protocolSchemaSkipReason}`, () => undefined);

  it('write of the sample exits 0 and echoes each of its states once, in input order, with the records it covers', () => {
    const { result } = run.b;
    expect(result.code, result.stderr + result.lines.join('\n')).toBe(0);
    expect(result.messages.filter((m) => m.type === 'TRACE' && m.trace.type === 'ERROR')).toEqual([]);
    const expected: { state: Record<string, any>; count: number; bytes: number }[] = [];
    const since = new Map<string, number>();
    const bytesSince = new Map<string, number>();
    sampleMessages.forEach((m, i) => {
      if (m.type === 'RECORD') {
        since.set(m.record.stream, (since.get(m.record.stream) ?? 0) + 1);
        bytesSince.set(m.record.stream, (bytesSince.get(m.record.stream) ?? 0) + Buffer.byteLength(sampleLines[i]!));
      }
      if (m.type === 'STATE') {
        const stream = m.state.stream.stream_descriptor.name as string;
        expected.push({ state: m.state, count: since.get(stream) ?? 0, bytes: bytesSince.get(stream) ?? 0 });
        since.set(stream, 0);
        bytesSince.set(stream, 0);
      }
    });
    const echoed = result.messages.filter((m) => m.type === 'STATE');
    expect(echoed).toHaveLength(expected.length);
    echoed.forEach((m, i) => {
      const { destinationStats, committedRecordsCount, committedBytesCount, ...rest } = m.state as Record<string, any>;
      expect(rest).toEqual(expected[i]!.state);
      expect(destinationStats).toEqual({ recordCount: expected[i]!.count });
      // Airbyte's committed counts beside it: the same records, their RECORD messages' bytes
      expect([committedRecordsCount, committedBytesCount]).toEqual([expected[i]!.count, expected[i]!.bytes]);
    });
    // Progress and the final summary go out as LOG messages, one summary line per stream.
    const summaries = result.messages.filter((m) => m.type === 'LOG' && /^Stream /.test(m.log.message));
    expect(summaries.map((m) => m.log.message.split(':')[0])).toEqual(STREAMS.map((s) => `Stream ${s}`));
  });

  it('the sample transfer has one complete manifest per stream that matches the catalog and lists every file it wrote', async () => {
    const schema = JSON.parse(readFileSync(join(ROOT, 'spec/manifest.schema.json'), 'utf8')) as Schema;
    const manifests = run.b.manifests;
    expect(manifests.map((m) => m.model).sort()).toEqual([...STREAMS].sort());
    const transferIds = new Set(manifests.map((m) => m.transfer_id));
    expect(transferIds.size).toBe(1);
    for (const m of manifests) {
      const { _key: key, ...manifest } = m;
      expect(new Validator().validate(manifest, schema).errors.map((e) => `${e.property} ${e.message}`)).toEqual([]);
      expect(key).toBe(`_manifests/${m.model}/dt=${m.transfer_date}/manifest_${m.transfer_id}.json`);
      const c = configured(m.model);
      expect(m).toMatchObject({
        status: 'complete',
        stream: { name: m.model, namespace: null },
        sync_id: c.sync_id,
        destination_sync_mode: c.destination_sync_mode,
        primary_key: c.primary_key,
        cursor_field: c.cursor_field,
        generation_id: c.generation_id,
        minimum_generation_id: c.minimum_generation_id,
        format: { type: 'parquet', compression: 'snappy' },
      });
      expect(m.columns.slice(0, 4).map((col: { name: string }) => col.name)).toEqual([
        '_airbyte_raw_id',
        '_airbyte_extracted_at',
        '_airbyte_generation_id',
        '_airbyte_meta',
      ]);
      expect(m.record_count).toBe(sampleRecords.filter((r) => r.stream === m.model).length);
      expect(m.files.reduce((n: number, f: { records: number }) => n + f.records, 0)).toBe(m.record_count);
      for (const [i, f] of (m.files as Record<string, any>[]).entries()) {
        expect(f.key).toBe(`${FOLDER}/${m.model}/dt=${m.transfer_date}/part-${String(i).padStart(5, '0')}_${m.transfer_timestamp}.parquet`);
        const data = await getObject(run.bucket, f.key);
        expect(data.length).toBe(f.bytes);
        expect(createHash('sha256').update(data).digest('hex')).toBe(f.sha256);
      }
    }
    // Every data object in the bucket is listed by exactly one manifest of the three transfers.
    const listed = [...run.a.manifests, ...run.b.manifests, ...run.c.manifests].flatMap((m) => m.files.map((f: { key: string }) => f.key));
    expect(new Set(listed).size).toBe(listed.length);
    expect(run.keysAfterWrites.filter((k) => !k.startsWith('_manifests/')).sort()).toEqual([...listed].sort());
  });

  it('every record of the sample is read back exactly once, with its values (hyparquet)', async () => {
    const byEmitted = new Map(sampleRecords.map((r) => [r.emittedAt, r]));
    expect(byEmitted.size).toBe(sampleRecords.length); // emitted_at identifies a record of the sample
    const seen = new Set<number>();
    const rawIds = new Set<string>();
    for (const m of run.b.manifests) {
      const types = new Map<string, string>(m.columns.map((c: { name: string; type: string }) => [c.name, c.type]));
      const c = configured(m.model);
      for (const f of m.files as Record<string, any>[]) {
        const rows = await parquetRows(await getObject(run.bucket, f.key));
        expect(rows).toHaveLength(f.records);
        const extracted = rows.map((r) => (r._airbyte_extracted_at as Date).getTime());
        expect(new Date(Math.min(...extracted)).toISOString()).toBe(f.min_extracted_at);
        expect(new Date(Math.max(...extracted)).toISOString()).toBe(f.max_extracted_at);
        for (const row of rows) {
          const ms = (row._airbyte_extracted_at as Date).getTime();
          const input = byEmitted.get(ms);
          expect(input, `row extracted at ${ms} is not a record of the sample`).toBeDefined();
          expect(input!.stream).toBe(m.model);
          expect(seen.has(ms), `record emitted at ${ms} read twice`).toBe(false);
          seen.add(ms);
          rawIds.add(row._airbyte_raw_id as string);
          expect(row._airbyte_generation_id).toBe(BigInt(c.generation_id));
          const meta = row._airbyte_meta as { sync_id: bigint; changes: Record<string, unknown>[] };
          expect(meta.sync_id).toBe(BigInt(c.sync_id));
          const nulled = input!.data.amount === 'n/a' ? ['amount'] : [];
          expect(meta.changes).toEqual(nulled.map((field) => ({ field, change: 'NULLED', reason: 'DESTINATION_SERIALIZATION_ERROR' })));
          for (const [name, value] of Object.entries(input!.data)) {
            const type = types.get(name)!;
            let actual = normalised(row[name], type);
            // An object the schema leaves open is written as JSON text.
            if (type === 'VARCHAR' && typeof value === 'object' && value !== null) actual = JSON.parse(actual as string);
            expect(actual, `${m.model}.${name} of the record emitted at ${ms}`).toEqual(nulled.includes(name) ? null : expectedValue(value, type));
          }
        }
      }
    }
    expect(seen.size).toBe(sampleRecords.length);
    expect(rawIds.size).toBe(sampleRecords.length);
  });

  it('a refresh that fails after a checkpoint leaves an incomplete manifest listing the checkpointed rows', async () => {
    const { result, manifests } = run.c;
    expect(result.code).toBe(1);
    const trace = result.messages.find((m) => m.type === 'TRACE')!;
    expect(trace.trace.error.failure_type).toBe('config_error');
    expect(trace.trace.error.message).toMatch(/line 7/);
    expect(result.messages.filter((m) => m.type === 'STATE')).toHaveLength(1);
    expect(manifests).toHaveLength(1);
    expect(manifests[0]).toMatchObject({ model: 'events', status: 'incomplete', generation_id: 4, minimum_generation_id: 4, record_count: 5 });
    expect(run.a.result.code).toBe(0);
    expect(run.a.manifests).toHaveLength(1);
    expect(run.a.manifests[0]).toMatchObject({ status: 'complete', generation_id: 2, minimum_generation_id: 2, record_count: 40 });
  });

  describe('the DuckDB recipes of docs/reading.md, as written, on a copy of the bucket', () => {
    let dir: string;
    let db: DuckDBInstance;
    let query: (sql: string) => Promise<Record<string, any>[]>;

    beforeAll(async () => {
      // A file that no manifest lists (as a transfer stopped between upload and manifest leaves
      // it): a copy of the failed refresh's file. The recipes must not read it.
      const refreshFile = run.c.manifests[0]!.files[0].key as string;
      const stray = refreshFile.replace(/part-\d+_(\d{8}T\d{9}Z)/, 'part-00007_$1');
      await adminClient().send(new PutObjectCommand({ Bucket: run.bucket, Key: stray, Body: await getObject(run.bucket, refreshFile) }));
      dir = mkdtempSync(join(tmpdir(), 'dse-acceptance-'));
      for (const key of await listKeys(run.bucket)) {
        mkdirSync(dirname(join(dir, key)), { recursive: true });
        writeFileSync(join(dir, key), await getObject(run.bucket, key));
      }
      db = await DuckDBInstance.create(':memory:', { threads: '1' });
      const conn = await db.connect();
      query = async (sql) => (await conn.runAndReadAll(sql)).getRowObjectsJson() as Record<string, any>[];
      await conn.run(`SET TimeZone = 'UTC'`);
      await conn.run(localRecipe('duckdb-committed-rows', dir));
    });
    afterAll(() => {
      db?.closeSync();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    /** record key → emitted_at of the record that must win, over the given records. */
    function latestBy(records: { key: string; cursor: string; emittedAt: number }[]): Map<string, number> {
      const best = new Map<string, { cursor: number; emittedAt: number }>();
      for (const r of records) {
        const cursor = Date.parse(r.cursor);
        const b = best.get(r.key);
        if (!b || cursor > b.cursor || (cursor === b.cursor && r.emittedAt > b.emittedAt)) best.set(r.key, { cursor, emittedAt: r.emittedAt });
      }
      return new Map([...best].map(([k, v]) => [k, v.emittedAt]));
    }

    async function recipeResult(name: string, key: string): Promise<Map<string, number>> {
      const rows = await query(`SELECT CAST(${key} AS VARCHAR) AS k, epoch_ms(_airbyte_extracted_at) AS ms FROM (${localRecipe(name, dir)})`);
      const result = new Map(rows.map((r) => [r.k as string, Number(r.ms)]));
      expect(result.size, `${name} returned one key twice`).toBe(rows.length);
      return result;
    }

    it('committed_rows reads the files that manifests list, at or above the generation floor', async () => {
      const counts = await query(
        `SELECT (SELECT count(*) FROM committed_rows('users')) AS users, (SELECT count(*) FROM committed_rows('events')) AS events`,
      );
      // events: the sample's 900 and the failed refresh's 5; not transfer A's 40 (generation 2 <
      // floor 3), not the unlisted copy.
      expect(counts[0]).toEqual({ users: '1000', events: String(900 + failedRefresh.length) });
    });

    it('duckdb-latest-users keeps the latest cursor, then the latest _airbyte_extracted_at, per id', async () => {
      const users = sampleRecords.filter((r) => r.stream === 'users');
      const expected = latestBy(users.map((r) => ({ key: String(r.data.id), cursor: r.data.updated_at, emittedAt: r.emittedAt })));
      expect(expected.size).toBe(500);
      expect(await recipeResult('duckdb-latest-users', 'id')).toEqual(expected);
    });

    it('duckdb-history-orders keeps every change once, without the re-sent copies', async () => {
      const orders = sampleRecords.filter((r) => r.stream === 'orders');
      const expected = latestBy(
        orders.map((r) => ({ key: `${r.data.order_id}|${Date.parse(r.data.updated_at)}`, cursor: r.data.updated_at, emittedAt: r.emittedAt })),
      );
      expect(expected.size).toBeLessThan(orders.length);
      const rows = await query(
        `SELECT order_id, epoch_ms(updated_at) AS u, epoch_ms(_airbyte_extracted_at) AS ms FROM (${localRecipe('duckdb-history-orders', dir)})`,
      );
      expect(new Map(rows.map((r) => [`${r.order_id}|${r.u}`, Number(r.ms)]))).toEqual(expected);
      expect(rows).toHaveLength(expected.size);
    });

    it('duckdb-latest-events hides the older generation but not the rows of the failed refresh', async () => {
      const events = [
        ...sampleRecords
          .filter((r) => r.stream === 'events')
          .map((r) => ({ key: r.data.event_id as string, cursor: r.data.occurred_at as string, emittedAt: r.emittedAt })),
        ...failedRefresh.map((e, i) => ({ key: e.event_id, cursor: e.occurred_at, emittedAt: C_EMITTED + i })),
      ];
      expect(await recipeResult('duckdb-latest-events', 'event_id')).toEqual(latestBy(events));
    });
  });
});

/** What hyparquet returns, in the shape of the JSON input: numbers, ISO strings, plain objects. */
function normalised(value: unknown, type: string): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof Date) return type === 'DATE' ? value.toISOString().slice(0, 10) : value.toISOString();
  if (Array.isArray(value)) return value.map((v) => normalised(v, ''));
  if (typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalised(v, '')]));
  return value;
}

/** The input value as the connector must have written it, in the same shape. */
function expectedValue(value: unknown, type: string): unknown {
  if (value === null) return null;
  if (type === 'TIMESTAMP WITH TIME ZONE') return new Date(value as string).toISOString();
  return value;
}
