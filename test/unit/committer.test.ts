// The committer's failure hooks used by `write`'s exit path (src/commands/write.ts):
// onFailure tells of the first failure at once; settled() waits for a commit still in flight
// after a failure, so that the final manifests are written after it.

import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { streamKey, type ConfiguredAirbyteStream } from '../../src/protocol/messages.js';
import { recordLineToSpool } from '../../src/protocol/record-scan.js';
import type { ConvertOptions, ConvertedFile } from '../../src/formats/format.js';
import type { UploadOptions, UploadResult } from '../../src/storage/port.js';
import { Committer, type CommitterDeps } from '../../src/write/committer.js';
import { StreamSink } from '../../src/write/sink.js';
import { CopyConverter, MemoryStore, until } from '../support/fakes.js';

/** A store whose uploads of `slow/…` wait for release() and of `bad/…` fail; abort signals are ignored (as when the whole body was sent). */
class GatedStore extends MemoryStore {
  constructor() {
    super();
    this.hold((key) => key.startsWith('slow/'));
  }
  override async upload(key: string, body: Readable, options: UploadOptions): Promise<UploadResult> {
    if (key.startsWith('bad/')) {
      for await (const _ of body) void _;
      throw new Error('AccessDenied');
    }
    return super.upload(key, body, options);
  }
}

function sinkFor(name: string, dir: string, index: number): StreamSink {
  const configured = {
    stream: { name, json_schema: {}, supported_sync_modes: ['full_refresh'] },
    sync_mode: 'full_refresh',
    destination_sync_mode: 'append',
  } as ConfiguredAirbyteStream;
  const sink = new StreamSink(streamKey(name), configured, name, new CopyConverter(), dir, index);
  sink
    .openSpool(0)
    .append(recordLineToSpool(Buffer.from(JSON.stringify({ type: 'RECORD', record: { stream: name, data: { id: 1 }, emitted_at: 1 } }))));
  return sink;
}

const tick = (ms = 20) => new Promise((r) => setTimeout(r, ms));

/** The spool line of a record (src/formats/spool-line.ts), as the session spools it. */
const recordLine = (name: string, id: number) =>
  recordLineToSpool(Buffer.from(JSON.stringify({ type: 'RECORD', record: { stream: name, data: { id, pad: 'x'.repeat(100) }, emitted_at: 1 } })));

function committerWith(store: MemoryStore, dir: string, deps: Partial<CommitterDeps> = {}): Committer {
  return new Committer({
    store,
    outDir: dir,
    targetFileBytes: 1 << 30,
    maxParallelUploads: 4,
    dataKey: (sink, part) => `${sink.model}/part-${part}.jsonl`,
    writeManifest: async () => undefined,
    onCommitted: () => undefined,
    log: () => undefined,
    ...deps,
  });
}

/** A converter that records the committer's backlog when each conversion starts. */
class WatchedConverter extends CopyConverter {
  readonly backlogAtStart: number[] = [];
  committer!: Committer;
  override async convert(spoolPath: string, options: ConvertOptions): Promise<ConvertedFile[]> {
    this.backlogAtStart.push(this.committer.backlogBytes);
    return super.convert(spoolPath, options);
  }
}

describe('Committer after a failure', () => {
  it('tells of the first failure once, and settled() waits for a commit that completes after it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'committer-test-'));
    const store = new GatedStore();
    const failures: Error[] = [];
    const manifests: string[] = [];
    const committed: string[] = [];
    const committer = new Committer({
      store,
      outDir: dir,
      targetFileBytes: 1 << 30,
      maxParallelUploads: 4,
      dataKey: (sink, part) => `${sink.model}/part-${part}.jsonl`,
      writeManifest: async (sink) => void manifests.push(`${sink.model}:${sink.files.length}`),
      onCommitted: (sink) => void committed.push(sink.model),
      onFailure: (err) => void failures.push(err),
      log: () => undefined,
    });
    const slow = sinkFor('slow', dir, 0);
    const bad = sinkFor('bad', dir, 1);
    committer.submit(slow.cut('end')!);
    committer.submit(bad.cut('end')!);
    while (!committer.failed) await tick();
    committer.fail(new Error('a later failure'));
    expect(failures.map((e) => e.message)).toEqual(['AccessDenied']);

    let settled = false;
    const done = committer.settled().then(() => (settled = true));
    await until(() => store.waiting === 1, 'the slow upload waits');
    expect(settled).toBe(false); // the slow upload is still in flight
    store.release();
    await done;
    // the late commit finished, manifest and all, before settled() resolved
    expect(manifests).toEqual(['slow:1']);
    expect(committed).toEqual(['slow']);
    expect([...store.objects.keys()]).toEqual(['slow/part-0.jsonl']);
  });
});

describe('Committer temp files', () => {
  it('removes each spool and converted file once its commit is done', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'committer-test-'));
    const committer = committerWith(new MemoryStore(), dir);
    const sink = sinkFor('a', dir, 0);
    committer.submit(sink.cut('end')!);
    sink.openSpool(1).append(recordLine('a', 2));
    committer.submit(sink.cut('end')!);
    await committer.idle();
    expect(sink.files).toHaveLength(2);
    expect(readdirSync(dir)).toEqual([]);
    expect(committer.backlogBytes).toBe(0);
  });

  it('removes the spools and converted files of commits that a failure stopped', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'committer-test-'));
    const store = new GatedStore();
    const committer = committerWith(store, dir);
    // three files of a stream whose first upload fails: the second is converted while the first
    // uploads, the third may still be queued
    const bad = sinkFor('bad', dir, 0);
    for (let i = 0; i < 3; i++) {
      bad.openSpool(i).append(recordLine('bad', i));
      committer.submit(bad.cut('end')!);
    }
    await expect(committer.idle()).rejects.toThrow('AccessDenied');
    await committer.settled();
    await until(() => readdirSync(dir).length === 0, `temp files removed (left: ${readdirSync(dir).join(', ')})`);
    expect(store.objects.size).toBe(0);
  });
});

describe('Committer temp-disk backlog', () => {
  it("reserves a conversion's output before it is written: twice the spool at first, then the learned ratio with a margin", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'committer-test-'));
    const converter = new WatchedConverter();
    const configured = {
      stream: { name: 'a', json_schema: {}, supported_sync_modes: ['full_refresh'] },
      sync_mode: 'full_refresh',
      destination_sync_mode: 'append',
    } as ConfiguredAirbyteStream;
    const sink = new StreamSink(streamKey('a'), configured, 'a', converter, dir, 0);
    const committer = committerWith(new MemoryStore(), dir);
    converter.committer = committer;
    const spoolBytes: number[] = [];
    for (let file = 0; file < 2; file++) {
      for (let i = 0; i < 50; i++) sink.openSpool(file * 50).append(recordLine('a', i));
      spoolBytes.push(sink.spool!.bytes);
      committer.submit(sink.cut('end')!);
      await committer.idle();
    }
    const [first, second] = spoolBytes as [number, number];
    // the spool itself, plus its reserved output
    expect(converter.backlogAtStart[0]).toBe(first + 2 * first);
    expect(sink.outputRatio).toBeLessThan(1);
    expect(converter.backlogAtStart[1]).toBe(second + Math.ceil(second * sink.outputRatio * 1.25));
    expect(committer.backlogBytes).toBe(0);
  });

  it('counts the tail of a spool cut at a state boundary until the spool is truncated', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'committer-test-'));
    const store = new MemoryStore();
    store.hold();
    const committer = committerWith(store, dir);
    const sink = sinkFor('a', dir, 0);
    const spool = sink.spool!;
    for (let i = 1; i < 10; i++) spool.append(recordLine('a', i));
    const boundary = spool.mark;
    for (let i = 10; i < 15; i++) spool.append(recordLine('a', i));
    const total = spool.bytes;
    const job = sink.cut('timer', boundary)!;
    committer.submit(job);
    // both on disk: the spool up to the boundary, and the tail it still holds
    expect(committer.backlogBytes).toBe(total);
    await job.ready;
    await until(() => store.waiting === 1, 'the upload waits');
    // the spool converted and removed: what is left is its output, waiting for its upload
    const [output] = readdirSync(dir).filter((n) => n.startsWith('copy-'));
    expect(committer.backlogBytes).toBe(readFileSync(join(dir, output!)).length);
    store.release();
    await committer.idle();
    expect(committer.backlogBytes).toBe(0);
  });
});
