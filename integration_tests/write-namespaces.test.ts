// One stream name in two namespaces (issue 11, item 1), through the built connector on radosgw,
// in every format: the sample of integration_tests/sample/namespaces/ (`public.users` and
// `billing.users`, ids 1-40 in both) lands both streams and both manifests apart, under
// <folder>/<namespace>/users/ and _manifests/<namespace>/users/, and reads back whole; a later
// transfer of one of them alone lands in the same place; the flat layout refuses the catalog with
// a config error that names the option.

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localRecipe } from '../scripts/lib/recipes.mjs';
import { runCli, tempJson } from './support/cli.js';
import { getObject, jsonlRows, listKeys, manifests, parquetRows } from './support/read-back.js';
import { accessKeyConfig } from './support/messages.js';
import { freshBucket, s3Server } from './support/server.js';

const SAMPLE = join(import.meta.dirname, 'sample/namespaces');
const CATALOG = join(SAMPLE, 'configured_catalog.json');
const MESSAGES = readFileSync(join(SAMPLE, 'messages.jsonl'), 'utf8');
const FOLDER = 'exports/shop';
const NAMESPACES = ['public', 'billing'];

/** The records of the sample per namespace, by id. */
const sent = new Map<string, Map<number, Record<string, unknown>>>(NAMESPACES.map((ns) => [ns, new Map()]));
for (const line of MESSAGES.trimEnd().split('\n')) {
  const m = JSON.parse(line) as Record<string, any>;
  if (m.type === 'RECORD') sent.get(m.record.namespace)!.set(m.record.data.id, m.record.data);
}

const FORMATS = [
  { format_type: 'parquet', compression_codec: 'snappy' },
  { format_type: 'csv', compression: 'gzip' },
  { format_type: 'jsonl', compression: 'none' },
] as const;

let db: DuckDBInstance;
let work: string;
beforeAll(async () => {
  db = await DuckDBInstance.create(':memory:', { threads: '1' });
  work = mkdtempSync(join(tmpdir(), 'dse-namespaces-'));
});
afterAll(() => {
  db?.closeSync();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** The data rows of one file, as plain values (numbers as numbers, everything else as text). */
async function rowsOf(key: string, data: Buffer): Promise<Record<string, unknown>[]> {
  if (key.endsWith('.parquet')) return parquetRows(data);
  if (key.endsWith('.jsonl')) return jsonlRows(data);
  // CSV: DuckDB reads its own output here; every column as text, then compared as text.
  const path = join(work, key.replaceAll('/', '_'));
  writeFileSync(path, data);
  const conn = await db.connect();
  try {
    return (await conn.runAndReadAll(`SELECT * FROM read_csv('${path}', header = true, all_varchar = true)`)).getRowObjectsJson() as Record<
      string,
      unknown
    >[];
  } finally {
    conn.closeSync();
  }
}

const text = (v: unknown): string =>
  v instanceof Date
    ? v.toISOString().replace('.000Z', 'Z')
    : typeof v === 'bigint'
      ? String(v)
      : String(v).replace(/^(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d)(\.0+)?(\+00(:00)?|Z)$/, '$1T$2Z');

describe.each(FORMATS)('two namespaces, one stream name: %o', (format) => {
  it('lands public.users and billing.users, and their manifests, apart; both read back whole', async () => {
    const bucket = await freshBucket(`ns-${format.format_type}`);
    const config = tempJson('config.json', accessKeyConfig(s3Server(), bucket, { folder: FOLDER, format }));
    const res = await runCli(['write', '--config', config, '--catalog', CATALOG], { stdin: MESSAGES });
    expect(res.code, res.stderr + res.lines.join('\n')).toBe(0);
    expect(res.messages.filter((m) => m.type === 'TRACE' && m.trace.type === 'ERROR')).toEqual([]);
    expect(res.messages.filter((m) => m.type === 'STATE')).toHaveLength(8);

    const all = await manifests(bucket);
    expect(all).toHaveLength(2);
    const keys = await listKeys(bucket);
    const manifestKeys = keys.filter((k) => k.startsWith('_manifests/'));
    for (const ns of NAMESPACES) {
      const m = all.find((x) => x.stream.namespace === ns);
      expect(m, ns).toBeDefined();
      expect(m).toMatchObject({
        manifest_version: 2,
        model: `${ns}/users`,
        stream: { name: 'users', namespace: ns },
        status: 'complete',
        record_count: 40,
      });
      expect(manifestKeys.filter((k) => k.startsWith(`_manifests/${ns}/users/dt=`))).toEqual([
        `_manifests/${ns}/users/dt=${m.transfer_date}/manifest_${m.transfer_id}.json`,
      ]);
      const seen = new Map<number, Record<string, unknown>>();
      for (const f of m.files as { key: string; records: number }[]) {
        expect(f.key.startsWith(`${FOLDER}/${ns}/users/dt=${m.transfer_date}/part-`)).toBe(true);
        const rows = await rowsOf(f.key, await getObject(bucket, f.key));
        expect(rows).toHaveLength(f.records);
        for (const row of rows) {
          const id = Number(row.id);
          expect(seen.has(id), `${ns}.users id ${id} read twice`).toBe(false);
          seen.set(id, row);
        }
      }
      // Whole: every record of this namespace once, with its own columns and values.
      expect([...seen.keys()].sort((a, b) => a - b)).toEqual([...sent.get(ns)!.keys()].sort((a, b) => a - b));
      for (const [id, data] of sent.get(ns)!) {
        const row = seen.get(id)!;
        for (const [field, value] of Object.entries(data)) expect(text(row[field]), `${ns}.users ${id}.${field}`).toBe(text(value));
      }
      // and none of the other namespace's columns
      const other = NAMESPACES.find((x) => x !== ns)!;
      const ownColumns = new Set(Object.keys(sent.get(ns)!.get(1)!));
      for (const column of Object.keys(sent.get(other)!.get(1)!)) if (!ownColumns.has(column)) expect(seen.get(1)!).not.toHaveProperty(column);
    }
    // Nothing else in the bucket: the two prefixes hold everything, and neither holds the other's.
    for (const k of keys)
      expect(
        k.startsWith(`${FOLDER}/public/users/`) ||
          k.startsWith(`${FOLDER}/billing/users/`) ||
          k.startsWith('_manifests/public/users/') ||
          k.startsWith('_manifests/billing/users/'),
        k,
      ).toBe(true);

    if (format.format_type === 'parquet') {
      // The reader SQL of docs/reading.md, as written, on a copy of the bucket: each model is a table of its own.
      const copy = join(work, 'bucket');
      for (const key of keys) {
        mkdirSync(dirname(join(copy, key)), { recursive: true });
        writeFileSync(join(copy, key), await getObject(bucket, key));
      }
      const conn = await db.connect();
      try {
        await conn.run(`SET TimeZone = 'UTC'`);
        await conn.run(localRecipe('duckdb-committed-rows', copy));
        const rows = async (sql: string) => (await conn.runAndReadAll(sql)).getRowObjectsJson() as Record<string, any>[];
        const latest = await rows(`SELECT id, plan, balance_cents FROM (${localRecipe('duckdb-latest-billing-users', copy)}) ORDER BY id`);
        expect(latest).toEqual(
          [...sent.get('billing')!.values()].map((d) => ({ id: String(d.id), plan: d.plan, balance_cents: String(d.balance_cents) })),
        );
        const publicRows = await rows(`SELECT count(*) AS n, count(DISTINCT email) AS emails FROM committed_rows('public/users')`);
        expect(publicRows).toEqual([{ n: '40', emails: '40' }]);
      } finally {
        conn.closeSync();
      }
    }
  });
});

describe('namespaces across transfers and layouts', () => {
  it('lands a stream in the same place whether or not the catalog has the other namespace', async () => {
    const bucket = await freshBucket('ns-stable');
    const config = tempJson('config.json', accessKeyConfig(s3Server(), bucket, { folder: FOLDER }));
    const both = await runCli(['write', '--config', config, '--catalog', CATALOG], { stdin: MESSAGES });
    expect(both.code, both.stderr).toBe(0);
    const full = JSON.parse(readFileSync(CATALOG, 'utf8')) as { streams: { stream: { namespace: string } }[] };
    const billingOnly = tempJson('catalog.json', { streams: full.streams.filter((s) => s.stream.namespace === 'billing') });
    const lines = MESSAGES.trimEnd()
      .split('\n')
      .filter((l) => l.includes('"namespace":"billing"'));
    const alone = await runCli(['write', '--config', config, '--catalog', billingOnly], { stdin: lines.join('\n') + '\n' });
    expect(alone.code, alone.stderr).toBe(0);
    const billing = (await manifests(bucket)).filter((m) => m.stream.namespace === 'billing');
    expect(billing).toHaveLength(2);
    expect(new Set(billing.map((m) => m.model))).toEqual(new Set(['billing/users']));
    for (const m of billing) for (const f of m.files) expect(f.key.startsWith(`${FOLDER}/billing/users/`)).toBe(true);
  });

  it('with namespace_layout flat, refuses the catalog before writing anything, naming the option', async () => {
    const bucket = await freshBucket('ns-flat');
    const config = tempJson('config.json', accessKeyConfig(s3Server(), bucket, { folder: FOLDER, namespace_layout: 'flat' }));
    const res = await runCli(['write', '--config', config, '--catalog', CATALOG], { stdin: MESSAGES });
    expect(res.code).not.toBe(0);
    const trace = res.messages.find((m) => m.type === 'TRACE' && m.trace.type === 'ERROR');
    expect(trace?.trace.error.failure_type).toBe('config_error');
    expect(trace?.trace.error.message).toContain('"users" (namespace "public") and "users" (namespace "billing") both map to the model "users"');
    expect(trace?.trace.error.message).toContain('namespace_layout');
    expect(res.messages.filter((m) => m.type === 'STATE')).toEqual([]);
    expect(await listKeys(bucket)).toEqual([]);
  });
});
