// The sample sync in integration_tests/sample/ (used by the acceptance test, the demo and the
// Node 22 smoke test) stays what its generator makes, and its catalog, config and recipes stay
// acceptable to the connector and to the docs.

import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { configProblems } from '../../src/config/validate.js';
import { connectionSpecification } from '../../src/config/spec.js';
import { parseCatalog } from '../../src/write/catalog.js';
import { DOC_BUCKET_URL, localRecipe, recipeSql } from '../../scripts/lib/recipes.mjs';

const SAMPLE = resolve(import.meta.dirname, '../../integration_tests/sample');
const read = (file: string): string => readFileSync(resolve(SAMPLE, file), 'utf8');

describe('integration_tests/sample', () => {
  it('messages.jsonl is exactly what generate.mjs prints (regenerate it after changing the script)', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [resolve(SAMPLE, 'generate.mjs'), '--stdout'], { maxBuffer: 16 * 1024 * 1024 });
    expect(stdout === read('messages.jsonl'), 'run `node integration_tests/sample/generate.mjs`').toBe(true);
  });

  it('has a few thousand records of the three catalog streams, STREAM states for each, and rows that share a primary key', () => {
    const messages = read('messages.jsonl')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, any>);
    const records = messages.filter((m) => m.type === 'RECORD').map((m) => m.record);
    expect(records.length).toBeGreaterThanOrEqual(2000);
    const catalog = parseCatalog(JSON.parse(read('configured_catalog.json')));
    expect(catalog.streams.map((s) => s.destination_sync_mode).sort()).toEqual(['append', 'append_dedup', 'overwrite']);
    for (const s of catalog.streams) {
      const name = s.stream.name;
      const pk = s.primary_key![0]![0]!;
      const rows = records.filter((r) => r.stream === name);
      expect(rows.length, name).toBeGreaterThan(500);
      expect(messages.filter((m) => m.type === 'STATE' && m.state.stream.stream_descriptor.name === name).length, name).toBeGreaterThan(1);
      if (s.destination_sync_mode !== 'overwrite')
        expect(new Set(rows.map((r) => r.data[pk])).size, `${name} has updated rows`).toBeLessThan(rows.length);
    }
    expect(catalog.streams.find((s) => s.destination_sync_mode === 'overwrite')).toMatchObject({ generation_id: 3, minimum_generation_id: 3 });
    // emitted_at identifies a record: the acceptance test relies on it
    expect(new Set(records.map((r) => r.emitted_at)).size).toBe(records.length);
  });

  it('sample_config.json is a valid config for the test radosgw started with its defaults (start.sh)', () => {
    const config = JSON.parse(read('sample_config.json')) as Record<string, any>;
    expect(configProblems(config, connectionSpecification())).toEqual([]);
    const startSh = readFileSync(resolve(import.meta.dirname, '../../scripts/s3-test-server/start.sh'), 'utf8');
    expect(startSh).toContain('RGW_PORT=${RGW_PORT:-7480}');
    expect(config.s3_endpoint).toBe('http://127.0.0.1:7480');
    expect(startSh).toContain(`--access-key=${config.credentials.access_key_id} --secret-key=${config.credentials.secret_access_key}`);
    // How it is used is written next to it.
    expect(read('README.md')).toContain('node dist/main.js check --config integration_tests/sample/sample_config.json');
  });
});

describe('integration_tests/sample/namespaces', () => {
  const NS = resolve(SAMPLE, 'namespaces');
  it('messages.jsonl is exactly what its generate.mjs prints', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [resolve(NS, 'generate.mjs'), '--stdout']);
    expect(stdout === readFileSync(resolve(NS, 'messages.jsonl'), 'utf8'), 'run `node integration_tests/sample/namespaces/generate.mjs`').toBe(true);
  });

  it('has one stream name in two namespaces, with records, states and a COMPLETE status for each', () => {
    const catalog = parseCatalog(JSON.parse(readFileSync(resolve(NS, 'configured_catalog.json'), 'utf8')));
    expect(catalog.streams.map((s) => [s.stream.namespace, s.stream.name])).toEqual([
      ['public', 'users'],
      ['billing', 'users'],
    ]);
    const messages = readFileSync(resolve(NS, 'messages.jsonl'), 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, any>);
    for (const ns of ['public', 'billing']) {
      expect(messages.filter((m) => m.type === 'RECORD' && m.record.namespace === ns)).toHaveLength(40);
      expect(messages.filter((m) => m.type === 'STATE' && m.state.stream.stream_descriptor.namespace === ns)).toHaveLength(4);
      expect(
        messages
          .filter((m) => m.type === 'TRACE' && m.trace.stream_status.stream_descriptor.namespace === ns)
          .map((m) => m.trace.stream_status.status),
      ).toEqual(['STARTED', 'COMPLETE']);
    }
  });
});

describe('recipes of docs/reading.md', () => {
  it('finds each named sql block and points it at a local copy of the bucket', () => {
    for (const name of [
      'duckdb-committed-rows',
      'duckdb-latest-users',
      'duckdb-history-orders',
      'duckdb-latest-events',
      'duckdb-latest-billing-users',
    ]) {
      const sql = recipeSql(name);
      expect(sql, name).toMatch(/^(CREATE|SELECT)/);
      expect(sql.endsWith(';')).toBe(false);
      expect(localRecipe(name, '/tmp/copy')).not.toContain(DOC_BUCKET_URL);
    }
    expect(localRecipe('duckdb-committed-rows', '/tmp/copy/')).toContain(`'/tmp/copy/_manifests/' || model`);
  });

  it('refuses a recipe name that is missing, or a marker not followed by its sql block', () => {
    expect(() => recipeSql('no-such-recipe')).toThrow(/no recipe "no-such-recipe"/);
    expect(() => recipeSql('x', '<!-- recipe: x -->\nsome words\n```sql\nSELECT 1;\n```\n')).toThrow(/right after/);
    expect(recipeSql('x', '<!-- recipe: x -->\n\n```sql\nSELECT 1;\n```\n')).toBe('SELECT 1');
  });
});
