// verifyExport over an in-memory reader: every kind of problem, unlisted objects attributed to
// their transfer, scope by model and date, progress, bounded concurrency, and what it reads.

import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { buildConfig, type Config } from '../../src/config/config.js';
import { verifyExport } from '../../src/commands/verify.js';
import { renderVerifyText } from '../../src/commands/verify-report.js';
import { newTransfer, manifestKey, dataKey } from '../../src/layout/index.js';
import type { ObjectInfo, ObjectReader, OpenUpload } from '../../src/storage/port.js';
import { ConfigError } from '../../src/errors.js';
import { buildManifest, serializeManifest, type ManifestStatus } from '../../src/write/manifest.js';
import { configuredStream } from './support/catalog.js';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

class MemoryReader implements ObjectReader {
  readonly objects = new Map<string, Buffer>();
  uploads: OpenUpload[] | Error = [];
  inFlight = 0;
  maxInFlight = 0;
  gets: string[] = [];
  delayMs = 0;

  async list(prefix: string): Promise<ObjectInfo[]> {
    return [...this.objects].filter(([k]) => k.startsWith(prefix)).map(([key, body]) => ({ key, size: body.length }));
  }
  async getStream(key: string): Promise<Readable | undefined> {
    this.gets.push(key);
    const body = this.objects.get(key);
    if (!body) return undefined;
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    const delay = this.delayMs;
    const self = this;
    return Readable.from(
      (async function* () {
        if (delay) await new Promise((r) => setTimeout(r, delay));
        for (let i = 0; i < body.length; i += 1000) yield body.subarray(i, i + 1000);
        self.inFlight--;
      })(),
    );
  }
  async listUploads(prefix: string): Promise<OpenUpload[]> {
    if (this.uploads instanceof Error) throw this.uploads;
    return this.uploads.filter((u) => u.key.startsWith(prefix));
  }
}

const config: Config = buildConfig({
  s3_bucket_name: 'acme-exports',
  s3_bucket_region: 'us-east-1',
  folder: 'exports/shop',
  credentials: { auth_type: 'access_key', access_key_id: 'AKIAEXAMPLE', secret_access_key: 'not-a-real-secret' },
});

let clock = Date.parse('2026-03-01T02:00:00.000Z');

/** Writes `files` data objects of a model and its manifest; returns the data keys. */
function transfer(
  reader: MemoryReader,
  model: string,
  files: number,
  status: ManifestStatus = 'complete',
  at?: number,
): { keys: string[]; transferTimestamp: string } {
  const t = newTransfer(
    () => at ?? (clock += 3_600_000),
    () => new Uint8Array(10).fill(files),
  );
  const committed = [];
  for (let part = 0; part < files; part++) {
    const key = dataKey({
      folder: config.folder,
      model,
      transferDate: t.transferDate,
      part,
      transferTimestamp: t.transferTimestamp,
      extension: 'parquet',
    });
    const body = Buffer.alloc(2500 + part, `${model}${part}`);
    reader.objects.set(key, body);
    committed.push({ key, records: 1, bytes: body.length, sha256: sha(body), minExtractedAt: t.startedAt, maxExtractedAt: t.startedAt });
  }
  const manifest = buildManifest({
    stream: configuredStream(model),
    model,
    transfer: t,
    format: config.format,
    columns: [{ name: 'id', type: 'BIGINT' }],
    files: committed,
    status,
    now: () => clock,
  });
  reader.objects.set(
    manifestKey({ location: 'bucket_root', folder: config.folder, model, transferDate: t.transferDate, transferId: t.transferId }),
    Buffer.from(serializeManifest(manifest)),
  );
  return { keys: committed.map((f) => f.key), transferTimestamp: t.transferTimestamp };
}

const deps = { progress: () => undefined, progressIntervalMs: 60_000, concurrency: 3 };
const all = { model: undefined, since: undefined };

describe('verifyExport', () => {
  it('passes an intact export and reads each listed object once', async () => {
    const reader = new MemoryReader();
    const users = transfer(reader, 'users', 3);
    transfer(reader, 'orders', 1, 'incomplete');
    const report = await verifyExport(config, reader, all, deps);
    expect(report.ok).toBe(true);
    expect(report.models.map((m) => [m.model, m.transfers.map((t) => [t.status, t.files])])).toEqual([
      ['orders', [['incomplete', 1]]],
      ['users', [['complete', 3]]],
    ]);
    expect(report.checked.files).toBe(4);
    expect(report.unlisted.count).toBe(0);
    for (const key of users.keys) expect(reader.gets.filter((k) => k === key)).toHaveLength(1);
    expect(renderVerifyText(report)).toContain('OK: 4 listed files');
  });

  it('reports missing, truncated and altered objects, and an unreadable manifest', async () => {
    const reader = new MemoryReader();
    const { keys } = transfer(reader, 'users', 4);
    reader.objects.delete(keys[0]!);
    reader.objects.set(keys[1]!, reader.objects.get(keys[1]!)!.subarray(0, 10));
    const altered = Buffer.from(reader.objects.get(keys[2]!)!);
    altered[5] = altered[5]! ^ 1;
    reader.objects.set(keys[2]!, altered);
    reader.objects.set('_manifests/users/dt=2026-03-01/manifest_broken.json', Buffer.from('{"files": ['));
    const report = await verifyExport(config, reader, all, deps);
    expect(report.ok).toBe(false);
    const problems = report.models[0]!.transfers[0]!.problems;
    expect(problems.map((p) => [p.key, p.problem])).toEqual(
      expect.arrayContaining([
        [keys[0], 'missing'],
        [keys[1], 'size'],
        [keys[2], 'sha256'],
      ]),
    );
    expect(problems).toHaveLength(3);
    expect(problems.find((p) => p.problem === 'size')).toMatchObject({ actual_bytes: 10 });
    // The truncated object's size is known from the listing: it is not downloaded.
    expect(reader.gets).not.toContain(keys[1]);
    expect(report.unreadable_manifests).toEqual([{ key: '_manifests/users/dt=2026-03-01/manifest_broken.json', problem: 'not valid JSON' }]);
    const text = renderVerifyText(report);
    for (const key of keys.slice(0, 3)) expect(text).toContain(key);
    expect(text).toContain('PROBLEMS: 3 of the 4 listed files');
    expect(text).toContain('1 unreadable manifest');
  });

  it('lists unlisted data objects with their bytes, attributed to an in-progress transfer, and the uploads left open', async () => {
    const reader = new MemoryReader();
    const running = transfer(reader, 'users', 1, 'in_progress');
    const orphan = running.keys[0]!.replace('part-00000_', 'part-00001_');
    reader.objects.set(orphan, Buffer.alloc(700));
    const stray = 'exports/shop/orders/dt=2026-01-01/part-00000_20260101T000000000Z.csv.gz';
    reader.objects.set(stray, Buffer.alloc(300));
    reader.objects.set('exports/shop/_connection_check_20260101T000000000Z_abc.txt', Buffer.alloc(5)); // not a data file
    reader.uploads = [{ key: 'exports/shop/users/dt=2026-03-01/part-00002_x.parquet', initiated: '2026-03-01T03:00:00.000Z' }];
    const report = await verifyExport(config, reader, all, deps);
    expect(report.ok).toBe(true);
    expect(report.unlisted.count).toBe(2);
    expect(report.unlisted.bytes).toBe(1000);
    expect(report.unlisted.objects).toContainEqual({
      key: orphan,
      bytes: 700,
      transfer_id: report.models[0]!.transfers[0]!.transfer_id,
      transfer_in_progress: true,
    });
    expect(report.unlisted.objects).toContainEqual({ key: stray, bytes: 300 });
    expect(report.open_uploads).toEqual({ count: 1, uploads: reader.uploads });
    const text = renderVerifyText(report);
    expect(text).toContain('Data objects that no manifest lists: 2 (1000 B)');
    expect(text).toContain('in progress: it may still be running');
    expect(text).toContain('The lifecycle rule of docs/setup.md step 1');
  });

  it('says the open uploads were not counted when listing them is denied', async () => {
    const reader = new MemoryReader();
    transfer(reader, 'users', 1);
    reader.uploads = new ConfigError('ListMultipartUploads of s3://acme-exports/exports/shop/ was denied: grant s3:ListBucketMultipartUploads');
    const report = await verifyExport(config, reader, all, deps);
    expect(report.ok).toBe(true);
    expect(report.open_uploads).toEqual({ error: expect.stringContaining('s3:ListBucketMultipartUploads') });
    expect(renderVerifyText(report)).toContain('Multipart uploads left open: not counted');
  });

  it('keeps to one model, or to transfers from a date', async () => {
    const reader = new MemoryReader();
    const early = transfer(reader, 'users', 1, 'complete', Date.parse('2026-01-05T00:00:00Z'));
    transfer(reader, 'users', 1, 'complete', Date.parse('2026-02-05T00:00:00Z'));
    const orders = transfer(reader, 'orders', 1, 'complete', Date.parse('2026-02-06T00:00:00Z'));
    reader.objects.delete(early.keys[0]!);
    reader.objects.delete(orders.keys[0]!);
    const one = await verifyExport(config, reader, { model: 'orders', since: undefined }, deps);
    expect(one.models.map((m) => m.model)).toEqual(['orders']);
    expect(one.ok).toBe(false);
    const since = await verifyExport(config, reader, { model: 'users', since: '2026-02-01' }, deps);
    expect(since.ok).toBe(true);
    expect(since.checked.files).toBe(1);
  });

  it('reads at most `concurrency` objects at once and reports progress on long runs', async () => {
    const reader = new MemoryReader();
    transfer(reader, 'users', 12);
    reader.delayMs = 20;
    const lines: string[] = [];
    const report = await verifyExport(config, reader, all, { progress: (l) => lines.push(l), progressIntervalMs: 30, concurrency: 3 });
    expect(report.ok).toBe(true);
    expect(reader.maxInFlight).toBeLessThanOrEqual(3);
    expect(reader.maxInFlight).toBeGreaterThan(1);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines[0]).toMatch(/^verify: \d+\/12 files, /);
  });
});

describe('verifyExport on a flaky store', () => {
  it('reads an object again when its body is cut short, and gives up after three attempts', async () => {
    const reader = new MemoryReader();
    const { keys } = transfer(reader, 'users', 1);
    let cuts = 2;
    const get = reader.getStream.bind(reader);
    reader.getStream = async (key: string) => {
      const body = await get(key);
      if (!body || !key.endsWith('.parquet') || cuts-- <= 0) return body;
      return Readable.from(
        (async function* () {
          yield Buffer.from('x');
          throw new Error('ECONNRESET');
        })(),
      );
    };
    expect((await verifyExport(config, reader, all, deps)).ok).toBe(true);
    expect(reader.gets.filter((k) => k === keys[0])).toHaveLength(3);
    cuts = 3;
    await expect(verifyExport(config, reader, all, deps)).rejects.toThrow('ECONNRESET');
  });
});

describe('verifyExport with namespaced models (<namespace>/<name>)', () => {
  it('checks their files, attributes their unlisted objects and keeps to one of them', async () => {
    const reader = new MemoryReader();
    const running = transfer(reader, 'public/users', 2, 'in_progress');
    transfer(reader, 'users', 1);
    const orphan = running.keys[0]!.replace('part-00000_', 'part-00005_');
    reader.objects.set(orphan, Buffer.alloc(10));
    const report = await verifyExport(config, reader, all, deps);
    expect(report.ok).toBe(true);
    expect(report.models.map((m) => m.model)).toEqual(['public/users', 'users']);
    expect(report.unlisted.objects).toEqual([
      { key: orphan, bytes: 10, transfer_id: report.models[0]!.transfers[0]!.transfer_id, transfer_in_progress: true },
    ]);
    const one = await verifyExport(config, reader, { model: 'public/users', since: undefined }, deps);
    expect(one.models.map((m) => m.model)).toEqual(['public/users']);
    expect(one.checked.files).toBe(2);
  });

  it('verify --model public keeps to the model public, not the models of namespace public', async () => {
    const reader = new MemoryReader();
    transfer(reader, 'public/users', 2);
    transfer(reader, 'public', 1);
    const one = await verifyExport(config, reader, { model: 'public', since: undefined }, deps);
    expect(one.models.map((m) => m.model)).toEqual(['public']);
    expect(one.checked.files).toBe(1);
    expect(one.unlisted.objects).toEqual([]);
  });
});
