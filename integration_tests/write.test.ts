// write against radosgw, read back by an independent reader (hyparquet).

import { describe, expect, it } from 'vitest';
import { runCli, tempJson } from './support/cli.js';
import { protocolErrors, protocolSchemaAvailable } from './support/protocol.js';
import { getObject, listKeys, manifests, parquetRows } from './support/read-back.js';
import { accessKeyConfig, catalog, globalStateLine, recordLine, streamStateLine } from './support/messages.js';
import { freshBucket, s3Server } from './support/server.js';

const KEY_RE = /^(?:(.+)\/)?([^/]+)\/dt=(\d{4}-\d{2}-\d{2})\/part-(\d{5})_(\d{8}T\d{6}\d{3}Z)\.parquet$/;

function expectProtocol(lines: string[]): void {
  if (!protocolSchemaAvailable) return;
  for (const line of lines) expect(protocolErrors(line), line).toEqual([]);
}

describe('write', () => {
  it('lands records as Parquet with manifests at the bucket root and echoes every state after its data', async () => {
    const server = s3Server();
    const bucket = await freshBucket('write-basic');
    const config = tempJson('config.json', accessKeyConfig(server, bucket, { folder: 'exports/app', file_size_mb: 1 }));
    const cat = tempJson('catalog.json', catalog([{ name: 'users' }, { name: 'orders', namespace: 'shop' }, { name: 'empty' }]));
    const lines: string[] = [];
    const sent = { users: [] as number[], orders: [] as number[] };
    for (let i = 0; i < 3000; i++) {
      lines.push(recordLine('users', { id: i, name: `user ${i} "quoted"\nnewline ✓`, updated_at: '2024-05-01T10:00:00.123456+05:30' }, 1_700_000_000_000 + i));
      sent.users.push(i);
      if (i % 2 === 0) {
        lines.push(recordLine('orders', { id: i, name: null, updated_at: '1969-12-31T23:59:59Z' }, 1_700_000_000_000 + i, 'shop'));
        sent.orders.push(i);
      }
      if (i % 500 === 499) lines.push(streamStateLine('users', i), streamStateLine('orders', `c${i}`, 'shop'));
    }
    // a cursor no JS number can hold: it must come back byte for byte
    lines.push(globalStateLine('BIG').replace('"BIG"', '123456789012345678901234567890'));
    const res = await runCli(['write', '--config', config, '--catalog', cat], { stdin: lines.join('\n') + '\n' });
    expect(res.stderr).not.toMatch(/TRACE/);
    expect(res.code, res.stderr + res.lines.join('\n')).toBe(0);
    expectProtocol(res.lines);
    const states = res.messages.filter((m) => m.type === 'STATE');
    expect(states).toHaveLength(13);
    // the big-integer cursor is echoed byte for byte
    expect(res.lines.filter((l) => l.includes('"STATE"')).at(-1)).toContain('"cursor":123456789012345678901234567890');
    const userCounts = states.filter((s) => s.state.stream?.stream_descriptor.name === 'users').map((s) => s.state.destinationStats.recordCount);
    expect(userCounts.reduce((a: number, b: number) => a + b, 0)).toBe(3000);

    const keys = await listKeys(bucket);
    const dataKeys = keys.filter((k) => !k.startsWith('_manifests/'));
    for (const k of dataKeys) expect(k).toMatch(KEY_RE);
    const all = await manifests(bucket);
    expect(all.map((m) => m.model).sort()).toEqual(['empty', 'orders', 'users']);
    for (const m of all) {
      expect(m.status).toBe('complete');
      for (const f of m.files) expect(dataKeys).toContain(f.key);
    }
    expect(all.find((m) => m.model === 'empty').files).toEqual([]);
    for (const [model, ids] of Object.entries(sent)) {
      const m = all.find((x) => x.model === model);
      const got: number[] = [];
      for (const f of m.files) {
        const data = await getObject(bucket, f.key);
        expect(data.length).toBe(f.bytes);
        const rows = await parquetRows(data);
        expect(rows.length).toBe(f.records);
        got.push(...rows.map((r) => Number(r.id)));
      }
      expect(got.sort((a, b) => a - b)).toEqual(ids);
      expect(m.record_count).toBe(ids.length);
    }
  });

  it('an empty input is a valid transfer: a complete manifest with no files for each stream', async () => {
    const server = s3Server();
    const bucket = await freshBucket('write-empty');
    const config = tempJson('config.json', accessKeyConfig(server, bucket));
    const cat = tempJson('catalog.json', catalog([{ name: 'a' }, { name: 'b' }]));
    const res = await runCli(['write', '--config', config, '--catalog', cat], { stdin: '' });
    expect(res.code, res.lines.join('\n')).toBe(0);
    const all = await manifests(bucket);
    expect(all.map((m) => [m.model, m.status, m.files.length]).sort()).toEqual([
      ['a', 'complete', 0],
      ['b', 'complete', 0],
    ]);
    expect((await listKeys(bucket)).every((k) => k.startsWith('_manifests/'))).toBe(true);
  });

  it('bad input fails with its line number after finishing the files that earlier states wait on', async () => {
    const server = s3Server();
    const bucket = await freshBucket('write-bad');
    const config = tempJson('config.json', accessKeyConfig(server, bucket));
    const cat = tempJson('catalog.json', catalog([{ name: 'a' }]));
    const lines = [recordLine('a', { id: 1 }), recordLine('a', { id: 2 }), streamStateLine('a', 2), recordLine('a', { id: 3 }), 'not json'];
    const res = await runCli(['write', '--config', config, '--catalog', cat], { stdin: lines.join('\n') + '\n' });
    expect(res.code).toBe(1);
    expectProtocol(res.lines);
    const types = res.messages.map((m) => m.type);
    expect(types.filter((t) => t === 'STATE')).toHaveLength(1);
    const trace = res.messages.find((m) => m.type === 'TRACE')!;
    expect(trace.trace.error.failure_type).toBe('config_error');
    expect(trace.trace.error.message).toMatch(/line 5/);
    const [m] = await manifests(bucket);
    expect(m.status).toBe('incomplete');
    expect(m.files.map((f: { records: number }) => f.records)).toEqual([2]);
  });
});
