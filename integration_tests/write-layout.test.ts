// write: splitting, many interleaved streams, namespaces and names that are not paths.

import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { runCli, startCli, tempJson } from './support/cli.js';
import { getObject, listKeys, manifests, parquetRows } from './support/read-back.js';
import { accessKeyConfig, catalog, recordLine, streamStateLine, streamStatusLine } from './support/messages.js';
import { freshBucket, s3Server } from './support/server.js';

const MB = 1024 * 1024;

describe('write layout', () => {
  it('splits a large stream into consecutive parts that end at state boundaries and stay within the size bounds', async () => {
    const bucket = await freshBucket('write-split');
    const config = tempJson('config.json', accessKeyConfig(s3Server(), bucket, { file_size_mb: 1 }));
    const cat = tempJson('catalog.json', catalog([{ name: 'events', properties: { id: { type: 'integer' }, blob: { type: 'string' } } }]));
    const lines: string[] = [];
    const boundaries = new Set<number>();
    const total = 40_000;
    for (let i = 0; i < total; i++) {
      // incompressible payload, so output size tracks input size
      lines.push(recordLine('events', { id: i, blob: randomBytes(60).toString('base64') }, 1_700_000_000_000 + i));
      if (i % 1000 === 999) {
        lines.push(streamStateLine('events', i));
        boundaries.add(i + 1);
      }
    }
    lines.push(streamStatusLine('events'));
    const res = await runCli(['write', '--config', config, '--catalog', cat], { stdin: lines.join('\n') + '\n' });
    expect(res.code, res.stderr).toBe(0);
    expect(res.messages.filter((m) => m.type === 'STATE')).toHaveLength(total / 1000);
    const [m] = await manifests(bucket);
    expect(m.files.length).toBeGreaterThanOrEqual(3);
    let end = 0;
    const ids: number[] = [];
    m.files.forEach((f: { key: string; records: number; bytes: number }, i: number) => {
      expect(f.key).toContain(`/part-${String(i).padStart(5, '0')}_`);
      expect(f.records).toBeGreaterThan(0);
      // no file past twice file_size_mb plus one row group (an eighth of it)
      expect(f.bytes).toBeLessThanOrEqual(2 * MB + MB / 8);
      end += f.records;
      if (i < m.files.length - 1) expect(boundaries.has(end), `file ${i} ends after record ${end}`).toBe(true);
    });
    for (const f of m.files) ids.push(...(await parquetRows(await getObject(bucket, f.key))).map((r) => Number(r.id)));
    expect(ids.sort((a, b) => a - b)).toEqual(Array.from({ length: total }, (_, i) => i));
  });

  it('cuts files only at state boundaries once the output ratio is learned from earlier files (paced input)', async () => {
    // The audit's case: stdin that arrives while earlier files are converted, so that the session
    // estimates each spool's output with the ratio learned from the previous file. A converter
    // that split again at file_size_mb then cut every file a little past its target, mid-state.
    const bucket = await freshBucket('write-paced');
    const config = tempJson('config.json', accessKeyConfig(s3Server(), bucket, { file_size_mb: 1 }));
    const cat = tempJson('catalog.json', catalog([{ name: 'events', properties: { id: { type: 'integer' }, blob: { type: 'string' } } }]));
    const boundaries = new Set<number>();
    const chunk = (from: number, to: number): string => {
      const lines: string[] = [];
      for (let i = from; i < to; i++) {
        lines.push(recordLine('events', { id: i, blob: randomBytes(60).toString('base64') }, 1_700_000_000_000 + i));
        if (i % 1000 === 999) {
          lines.push(streamStateLine('events', i));
          boundaries.add(i + 1);
        }
      }
      return lines.join('\n') + '\n';
    };
    const total = 60_000;
    const live = startCli(['write', '--config', config, '--catalog', cat]);
    // Phase 1: enough for the first file (cut at the first state past 1 MB of input, as the ratio
    // starts at 1); its echoed state says that the ratio is now learned.
    await live.write(chunk(0, 10_000));
    await live.waitFor((m) => m.type === 'STATE');
    // Phase 2: the rest, estimated with the learned ratio.
    for (let from = 10_000; from < total; from += 10_000) await live.write(chunk(from, from + 10_000));
    live.child.stdin.end(streamStatusLine('events') + '\n');
    const res = await live.done;
    expect(res.code, res.stderr).toBe(0);
    expect(res.messages.filter((m) => m.type === 'STATE')).toHaveLength(total / 1000);
    const [m] = await manifests(bucket);
    const files = m.files as { key: string; records: number; bytes: number }[];
    const layout = files.map((f) => `${f.records} records/${(f.bytes / MB).toFixed(2)} MB`).join(' | ');
    expect(files.length, layout).toBeGreaterThanOrEqual(4);
    let end = 0;
    files.forEach((f, i) => {
      end += f.records;
      // A state every ~0.1 MB of output: no file reaches the hard bound, so every file but the
      // last (end of input) ends at a state boundary, past the target, within the hard bound.
      if (i < files.length - 1) {
        expect(boundaries.has(end), `file ${i} ends after record ${end}: ${layout}`).toBe(true);
        expect(f.bytes, `file ${i} is smaller than half the target: ${layout}`).toBeGreaterThanOrEqual(MB / 2);
      }
      expect(f.bytes, layout).toBeLessThanOrEqual(2 * MB + MB / 8);
    });
    expect(end).toBe(total);
    const ids: number[] = [];
    for (const f of files) ids.push(...(await parquetRows(await getObject(bucket, f.key))).map((r) => Number(r.id)));
    expect(ids.sort((a, b) => a - b)).toEqual(Array.from({ length: total }, (_, i) => i));
  });

  it('keeps 25 interleaved streams, namespaces and path-like names apart, with awkward values intact', async () => {
    const bucket = await freshBucket('write-many');
    const config = tempJson('config.json', accessKeyConfig(s3Server(), bucket, { folder: 'raw' }));
    const names: { name: string; namespace?: string }[] = Array.from({ length: 22 }, (_, i) => ({ name: `stream_${i}` }));
    const funky = [
      { name: '../escape', namespace: 'ns one' },
      { name: 'a/b\\c Ünïcødé ✓', namespace: 'ns/two' },
      { name: 'quiet' }, // receives no record
    ];
    const streams = [...names, ...funky];
    const cat = tempJson('catalog.json', catalog(streams.map((s) => ({ ...s, properties: { id: { type: 'integer' }, name: { type: 'string' } } }))));
    const awkward = 'line\nbreak "quote" \'single\' ,comma; tab\t ✓ 𝄞 \u0000nul';
    const lines: string[] = [];
    const sent = new Map<string, number>();
    for (let i = 0; i < 2500; i++) {
      const s = streams[i % (streams.length - 1)]!;
      lines.push(recordLine(s.name, { id: i, name: awkward }, 1_700_000_000_000 + i, s.namespace));
      sent.set(s.name, (sent.get(s.name) ?? 0) + 1);
      if (i % 200 === 199) lines.push(streamStateLine(s.name, i, s.namespace));
    }
    lines.push(...streams.map((s) => streamStatusLine(s.name, 'COMPLETE', s.namespace)));
    const res = await runCli(['write', '--config', config, '--catalog', cat], { stdin: lines.join('\n') + '\n' });
    expect(res.code, res.stderr).toBe(0);
    const all = await manifests(bucket);
    expect(all).toHaveLength(streams.length);
    const keys = await listKeys(bucket);
    for (const k of keys) {
      expect(k.split('/')).not.toContain('..');
      expect(k.startsWith('raw/') || k.startsWith('_manifests/')).toBe(true);
    }
    for (const s of streams) {
      const m = all.find((x) => x.stream.name === s.name && (x.stream.namespace ?? undefined) === s.namespace);
      expect(m, s.name).toBeDefined();
      expect(m.status).toBe('complete');
      expect(m.record_count).toBe(sent.get(s.name) ?? 0);
      for (const f of m.files) {
        expect(f.key.startsWith(`raw/${m.model}/dt=`)).toBe(true);
        const rows = await parquetRows(await getObject(bucket, f.key));
        for (const r of rows) expect(r.name).toBe(awkward);
      }
    }
    expect(all.find((x) => x.stream.name === 'quiet').files).toEqual([]);
  });
});
