// write against radosgw, read back by an independent reader (hyparquet).

import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, tempJson } from './support/cli.js';
import { protocolErrors, protocolSchemaAvailable } from './support/protocol.js';
import { getJson, getObject, listKeys, manifests, parquetRows } from './support/read-back.js';
import { accessKeyConfig, catalog, completeLines, globalStateLine, recordLine, streamStateLine, streamStatusLine } from './support/messages.js';
import { freshBucket, s3Server } from './support/server.js';

/** YYYYMMDDTHHMMSSmmmZ → epoch ms. */
function timestampMs(ts: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})Z$/.exec(ts);
  expect(m, `transfer_timestamp ${ts}`).not.toBeNull();
  const [, y, mo, d, h, mi, s, ms] = m!.map(Number);
  return Date.UTC(y!, mo! - 1, d!, h!, mi!, s!, ms!);
}

/** A fresh TMPDIR for the connector: whatever it leaves there is a temp file it did not remove. */
const freshTmpdir = () => mkdtempSync(join(tmpdir(), 'dse-tmpdir-'));

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
      lines.push(
        recordLine('users', { id: i, name: `user ${i} "quoted"\nnewline ✓`, updated_at: '2024-05-01T10:00:00.123456+05:30' }, 1_700_000_000_000 + i),
      );
      sent.users.push(i);
      if (i % 2 === 0) {
        lines.push(recordLine('orders', { id: i, name: null, updated_at: '1969-12-31T23:59:59Z' }, 1_700_000_000_000 + i, 'shop'));
        sent.orders.push(i);
      }
      if (i % 500 === 499) lines.push(streamStateLine('users', i), streamStateLine('orders', `c${i}`, 'shop'));
    }
    // a cursor no JS number can hold: it must come back byte for byte
    lines.push(globalStateLine('BIG').replace('"BIG"', '123456789012345678901234567890'));
    lines.push(...completeLines(JSON.parse(readFileSync(cat, 'utf8'))));
    const tmp = freshTmpdir();
    const startedBefore = Date.now();
    const res = await runCli(['write', '--config', config, '--catalog', cat], { stdin: lines.join('\n') + '\n', env: { TMPDIR: tmp } });
    const endedAfter = Date.now();
    expect(res.stderr).not.toMatch(/TRACE/);
    expect(res.code, res.stderr + res.lines.join('\n')).toBe(0);
    expectProtocol(res.lines);
    expect(readdirSync(tmp), 'temp files left behind').toEqual([]);
    // Every state echoed once, in input order, as sent but for destinationStats.
    const states = res.messages.filter((m) => m.type === 'STATE');
    const withoutStats = states.map((m) => {
      const { destinationStats: _, committedRecordsCount: _r, committedBytesCount: _b, ...state } = m.state;
      return { ...m, state };
    });
    expect(withoutStats).toEqual(lines.filter((l) => l.includes('"type":"STATE"')).map((l) => JSON.parse(l)));
    expect(states).toHaveLength(13);
    // the big-integer cursor is echoed byte for byte
    expect(res.lines.filter((l) => l.includes('"STATE"')).at(-1)).toContain('"cursor":123456789012345678901234567890');
    // recordCount: each stream's records since its previous state; the GLOBAL state, every record
    // since the previous GLOBAL one (there is none): all of them.
    const countsOf = (name: string) =>
      states.filter((s) => s.state.stream?.stream_descriptor.name === name).map((s) => s.state.destinationStats.recordCount as number);
    expect(countsOf('users')).toEqual(Array.from({ length: 6 }, () => 500));
    expect(countsOf('orders')).toEqual(Array.from({ length: 6 }, () => 250));
    expect(states.at(-1)!.state.destinationStats.recordCount).toBe(sent.users.length + sent.orders.length);
    // Airbyte's committed counts, beside destinationStats (issue 11.4): the same records, and the
    // bytes of their RECORD messages as received (each line without its newline).
    const expectedBytes: number[] = [];
    const sinceState = new Map<string, number>();
    let sinceGlobal = 0;
    for (const l of lines) {
      const m = JSON.parse(l);
      if (m.type === 'RECORD') {
        const n = Buffer.byteLength(l);
        sinceState.set(m.record.stream, (sinceState.get(m.record.stream) ?? 0) + n);
        sinceGlobal += n;
      } else if (m.type !== 'STATE') {
      } else if (m.state.type === 'STREAM') {
        expectedBytes.push(sinceState.get(m.state.stream.stream_descriptor.name) ?? 0);
        sinceState.set(m.state.stream.stream_descriptor.name, 0);
      } else {
        expectedBytes.push(sinceGlobal);
      }
    }
    expect(states.map((s) => s.state.committedRecordsCount)).toEqual(states.map((s) => s.state.destinationStats.recordCount));
    expect(states.map((s) => s.state.committedBytesCount)).toEqual(expectedBytes);
    expect(res.lines.filter((l) => l.includes('"STATE"')).every((l) => /"committedRecordsCount":\d+,"committedBytesCount":\d+\}\}$/.test(l))).toBe(
      true,
    );

    const keys = await listKeys(bucket);
    const manifestKeys = keys.filter((k) => k.startsWith('_manifests/'));
    const dataKeys = keys.filter((k) => !k.startsWith('_manifests/'));
    const all = await Promise.all(manifestKeys.map(async (key) => ({ key, m: await getJson(bucket, key) })));
    // orders has the namespace shop: it lands under shop/ (docs/layout.md, "Namespaces")
    expect(all.map(({ m }) => m.model).sort()).toEqual(['empty', 'shop/orders', 'users']);
    // One transfer: its id, date and timestamp are shared, and the timestamp is its start (UTC).
    const first = all[0]!.m;
    const started = timestampMs(first.transfer_timestamp);
    expect(started).toBeGreaterThanOrEqual(startedBefore);
    expect(started).toBeLessThanOrEqual(endedAfter);
    expect(first.transfer_date).toBe(new Date(started).toISOString().slice(0, 10));
    const listed: string[] = [];
    for (const { key, m } of all) {
      expect([m.transfer_id, m.transfer_date, m.transfer_timestamp]).toEqual([first.transfer_id, first.transfer_date, first.transfer_timestamp]);
      // docs/layout.md, "Object keys": _manifests/<model>/dt=<transfer_date>/manifest_<transfer_id>.json at the bucket root
      expect(key).toBe(`_manifests/${m.model}/dt=${m.transfer_date}/manifest_${m.transfer_id}.json`);
      expect(m.status).toBe('complete');
      m.files.forEach((f: { key: string }, i: number) => {
        // <folder>/<model>/dt=<transfer_date>/<file_part>_<transfer_timestamp>.<ext>
        expect(f.key).toBe(`exports/app/${m.model}/dt=${m.transfer_date}/part-${String(i).padStart(5, '0')}_${m.transfer_timestamp}.parquet`);
        listed.push(f.key);
      });
    }
    // every data object is listed by a manifest, once
    expect([...listed].sort()).toEqual(dataKeys);
    expect(all.find(({ m }) => m.model === 'empty')!.m.files).toEqual([]);
    for (const [stream, ids] of Object.entries(sent)) {
      const { m } = all.find(({ m: x }) => x.stream.name === stream)!;
      const got: number[] = [];
      for (const f of m.files) {
        const data = await getObject(bucket, f.key);
        expect(data.length).toBe(f.bytes);
        expect(createHash('sha256').update(data).digest('hex'), `sha256 of ${f.key}`).toBe(f.sha256);
        const rows = await parquetRows(data);
        expect(rows.length).toBe(f.records);
        got.push(...rows.map((r) => Number(r.id)));
      }
      expect(got.sort((a, b) => a - b)).toEqual(ids);
      expect(m.record_count).toBe(ids.length);
    }
  });

  it('a source with nothing to send (only its COMPLETE statuses) is a valid transfer: a complete manifest with no files for each stream', async () => {
    const server = s3Server();
    const bucket = await freshBucket('write-empty');
    const config = tempJson('config.json', accessKeyConfig(server, bucket));
    const cat = tempJson('catalog.json', catalog([{ name: 'a' }, { name: 'b' }]));
    const res = await runCli(['write', '--config', config, '--catalog', cat], {
      stdin: [streamStatusLine('a'), streamStatusLine('b')].join('\n') + '\n',
    });
    expect(res.code, res.lines.join('\n')).toBe(0);
    const all = await manifests(bucket);
    expect(all.map((m) => [m.model, m.status, m.files.length]).sort()).toEqual([
      ['a', 'complete', 0],
      ['b', 'complete', 0],
    ]);
    expect((await listKeys(bucket)).every((k) => k.startsWith('_manifests/'))).toBe(true);
  });

  it("an input without any STREAM_STATUS is not a complete transfer: transient_error, manifests incomplete (as Airbyte's bulk CDK)", async () => {
    const server = s3Server();
    const bucket = await freshBucket('write-empty-nostatus');
    const config = tempJson('config.json', accessKeyConfig(server, bucket));
    const cat = tempJson('catalog.json', catalog([{ name: 'a' }, { name: 'b' }]));
    const res = await runCli(['write', '--config', config, '--catalog', cat], { stdin: '' });
    expect(res.code).toBe(1);
    expectProtocol(res.lines);
    const trace = res.messages.find((m) => m.type === 'TRACE')!;
    expect(trace.trace.error.failure_type).toBe('transient_error');
    expect(trace.trace.error.message).toMatch(/"a" \(no namespace\), "b" \(no namespace\) got a terminal STREAM_STATUS/);
    expect((await manifests(bucket)).map((m) => [m.model, m.status]).sort()).toEqual([
      ['a', 'incomplete'],
      ['b', 'incomplete'],
    ]);
  });

  it('bad input fails with its line number after finishing the files that earlier states wait on', async () => {
    const server = s3Server();
    const bucket = await freshBucket('write-bad');
    const config = tempJson('config.json', accessKeyConfig(server, bucket));
    const cat = tempJson('catalog.json', catalog([{ name: 'a' }]));
    const lines = [recordLine('a', { id: 1 }), recordLine('a', { id: 2 }), streamStateLine('a', 2), recordLine('a', { id: 3 }), 'not json'];
    const tmp = freshTmpdir();
    const res = await runCli(['write', '--config', config, '--catalog', cat], { stdin: lines.join('\n') + '\n', env: { TMPDIR: tmp } });
    expect(res.code).toBe(1);
    expectProtocol(res.lines);
    expect(readdirSync(tmp), 'temp files left behind').toEqual([]);
    const types = res.messages.map((m) => m.type);
    expect(types.filter((t) => t === 'STATE')).toHaveLength(1);
    const trace = res.messages.find((m) => m.type === 'TRACE')!;
    expect(trace.trace.error.failure_type).toBe('config_error');
    expect(trace.trace.error.message).toMatch(/line 5/);
    const [m] = await manifests(bucket);
    expect(m.status).toBe('incomplete');
    expect(m.files.map((f: { records: number }) => f.records)).toEqual([2]);
  });

  it('writes the manifest of a stream the source marked INCOMPLETE with status incomplete, the others complete', async () => {
    const server = s3Server();
    const bucket = await freshBucket('write-incomplete');
    const config = tempJson('config.json', accessKeyConfig(server, bucket));
    const cat = tempJson('catalog.json', catalog([{ name: 'a' }, { name: 'b' }]));
    const status = (name: string, value: string) =>
      JSON.stringify({
        type: 'TRACE',
        trace: { type: 'STREAM_STATUS', emitted_at: 1_700_000_000_000, stream_status: { stream_descriptor: { name }, status: value } },
      });
    const lines = [
      status('a', 'RUNNING'),
      recordLine('a', { id: 1 }),
      recordLine('b', { id: 2 }),
      status('a', 'INCOMPLETE'),
      status('b', 'COMPLETE'),
      streamStateLine('b', 1),
    ];
    const res = await runCli(['write', '--config', config, '--catalog', cat], { stdin: lines.join('\n') + '\n' });
    expect(res.code, res.stderr + res.lines.join('\n')).toBe(0);
    const all = await manifests(bucket);
    expect(all.map((m) => [m.model, m.status, m.record_count]).sort()).toEqual([
      ['a', 'incomplete', 1],
      ['b', 'complete', 1],
    ]);
  });

  it('refuses a catalog with a soft_delete stream before writing anything, naming the stream', async () => {
    const server = s3Server();
    const bucket = await freshBucket('write-soft-delete');
    const config = tempJson('config.json', accessKeyConfig(server, bucket));
    const cat = tempJson('catalog.json', catalog([{ name: 'kept' }, { name: 'tombstones', mode: 'soft_delete' }]));
    const res = await runCli(['write', '--config', config, '--catalog', cat], { stdin: recordLine('kept', { id: 1 }) + '\n' });
    expect(res.code).toBe(1);
    const trace = res.messages.find((m) => m.type === 'TRACE')!;
    expect(trace.trace.error.failure_type).toBe('config_error');
    expect(trace.trace.error.message).toMatch(/tombstones.*soft_delete|soft_delete.*tombstones/);
    expect(res.messages.filter((m) => m.type === 'STATE')).toEqual([]);
    expect(await listKeys(bucket)).toEqual([]);
  });
});
