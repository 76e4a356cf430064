// Fakes of the connector's OWN ports (ObjectStore, StreamConverter) for unit tests of the write
// path's bookkeeping. They never stand in for the AWS SDK: integration tests use radosgw.

import { createHash } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { ConvertOptions, ConvertedFile, ConvertedPart, Segment, StreamConverter } from '../../src/formats/format.js';
import { AbortedError } from '../../src/errors.js';
import { decodeSpoolLine } from '../../src/formats/spool-line.js';
import type { ObjectInfo, ObjectStore, PutOptions, UploadOptions, UploadResult } from '../../src/storage/port.js';

export class MemoryStore implements ObjectStore {
  readonly objects = new Map<string, Buffer>();
  readonly puts: string[] = [];
  /** Makes the next upload fail with this error. */
  failNextUpload: Error | undefined;
  /** While set, uploads of the keys it matches wait (body read, object not yet stored) until release(). */
  private held: ((key: string) => boolean) | undefined;
  private gate: Promise<void> | undefined;
  private openGate: (() => void) | undefined;
  /** Uploads waiting at the gate. */
  waiting = 0;

  /** Holds the uploads of matching keys from now on until release(): slower than anything the test does. */
  hold(match: (key: string) => boolean = () => true): void {
    this.held = match;
    this.gate ??= new Promise<void>((res) => (this.openGate = res));
  }

  release(): void {
    this.openGate?.();
    this.held = undefined;
    this.gate = undefined;
    this.openGate = undefined;
  }

  async put(key: string, body: string | Buffer, _options: PutOptions): Promise<void> {
    this.objects.set(key, Buffer.from(body));
    this.puts.push(key);
  }

  async upload(key: string, body: Readable, _options: UploadOptions): Promise<UploadResult> {
    const chunks: Buffer[] = [];
    for await (const c of body) chunks.push(c as Buffer);
    while (this.gate && this.held?.(key)) {
      this.waiting++;
      await this.gate;
      this.waiting--;
    }
    if (this.failNextUpload) {
      const err = this.failNextUpload;
      this.failNextUpload = undefined;
      throw err;
    }
    const data = Buffer.concat(chunks);
    if (this.objects.has(key)) throw new Error(`object ${key} written twice`);
    this.objects.set(key, data);
    return { key, bytes: data.length, sha256: createHash('sha256').update(data).digest('hex') };
  }

  async delete(key: string): Promise<void> {
    this.objects.delete(key);
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    return [...this.objects].filter(([k]) => k.startsWith(prefix)).map(([key, v]) => ({ key, size: v.length }));
  }
}

/** Resolves once `condition` holds, checking after each turn of the event loop (no timing). */
export async function until(condition: () => boolean, what = 'condition'): Promise<void> {
  for (let i = 0; i < 100_000; i++) {
    if (condition()) return;
    await new Promise((res) => setImmediate(res));
  }
  throw new Error(`${what} never held`);
}

/** Copies the spool's records (the `record.data` objects) into one JSONL file. */
export class CopyConverter implements StreamConverter {
  readonly columns = [{ name: 'data', type: 'JSON' }];
  readonly extension = 'jsonl';
  readonly contentType = 'application/x-ndjson';
  private seq = 0;
  converted = 0;

  async convert(spoolPath: string, options: ConvertOptions): Promise<ConvertedFile[]> {
    const lines = readFileSync(spoolPath, 'utf8').split('\n').filter(Boolean);
    if (lines.length === 0) throw new Error('empty spool');
    const decoded = lines.map((l) => decodeSpoolLine(Buffer.from(l, 'utf8')));
    const records = decoded.map((d) => ({ ...JSON.parse(d.json.toString('utf8')).record, emitted_at: d.extractedAtMs }));
    const path = join(options.outDir, `copy-${process.pid}-${this.seq++}-${Math.random().toString(36).slice(2)}.jsonl`);
    writeFileSync(path, records.map((r) => JSON.stringify(r.data)).join('\n') + '\n');
    const times = records.map((r) => r.emitted_at as number);
    this.converted += records.length;
    return [
      {
        path,
        records: records.length,
        bytes: readFileSync(path).length,
        minExtractedAt: new Date(Math.min(...times)).toISOString(),
        maxExtractedAt: new Date(Math.max(...times)).toISOString(),
      },
    ];
  }

  engineBytesFor(longestLine: number): number {
    return 128 * 1024 * 1024 + 32 * longestLine;
  }

  /** The segment's records (the `record.data` objects) as one JSONL part; the range is the segment's. */
  async convertSegment(segment: Segment, options: { outDir: string; signal?: AbortSignal }): Promise<ConvertedPart> {
    if (options.signal?.aborted) throw new AbortedError('The conversion was stopped.');
    const lines = readFileSync(segment.path, 'utf8').split('\n').filter(Boolean);
    const datas = lines.map((l) => JSON.stringify(JSON.parse(decodeSpoolLine(Buffer.from(l, 'utf8')).json.toString('utf8')).record.data));
    const path = join(options.outDir, `part-${process.pid}-${this.seq++}-${Math.random().toString(36).slice(2)}.jsonl`);
    writeFileSync(path, datas.map((d) => d + '\n').join(''));
    this.converted += lines.length;
    return {
      path,
      records: segment.records,
      bytes: readFileSync(path).length,
      minExtractedAtMs: segment.minExtractedAtMs,
      maxExtractedAtMs: segment.maxExtractedAtMs,
    };
  }

  /** The parts end to end; the parts are removed. */
  async assemble(parts: readonly ConvertedPart[], options: { outPath: string; signal?: AbortSignal }): Promise<ConvertedFile> {
    if (options.signal?.aborted) throw new AbortedError('The assembly was stopped.');
    writeFileSync(options.outPath, Buffer.concat(parts.map((p) => readFileSync(p.path))));
    for (const p of parts) rmSync(p.path, { force: true });
    return {
      path: options.outPath,
      records: parts.reduce((n, p) => n + p.records, 0),
      bytes: readFileSync(options.outPath).length,
      minExtractedAt: new Date(Math.min(...parts.map((p) => p.minExtractedAtMs))).toISOString(),
      maxExtractedAt: new Date(Math.max(...parts.map((p) => p.maxExtractedAtMs))).toISOString(),
    };
  }
}
