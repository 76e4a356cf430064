// `write`'s exit paths with the connector's own ports faked (an in-memory store, a copying
// converter) and the clock, the timer and SIGTERM injected: the periodic progress LOG, the
// per-stream summary on failure, SIGTERM after the end of the input, and the wait for uploads to
// be aborted before `write` returns (src/main.ts exits the process right after).

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { run } from '../../src/cli.js';
import { writeCommand, type WriteDeps } from '../../src/commands/write.js';
import type { UploadOptions, UploadResult } from '../../src/storage/port.js';
import { CopyConverter, MemoryStore } from '../support/fakes.js';
import { ConfigError } from '../../src/errors.js';
import { configuredStream } from './support/catalog.js';

/** Uploads wait until releaseUploads(); an abort fails them after `abortMs` (the parts in flight, then AbortMultipartUpload). */
class GatedStore extends MemoryStore {
  releaseUploads!: () => void;
  private readonly uploadGate = new Promise<void>((r) => (this.releaseUploads = r));
  uploadsStarted = 0;
  abortsDone = 0;
  constructor(private readonly abortMs = 0) {
    super();
  }
  override async upload(key: string, body: Readable, options: UploadOptions): Promise<UploadResult> {
    const chunks: Buffer[] = [];
    for await (const c of body) chunks.push(c as Buffer);
    this.uploadsStarted++;
    const signal = options.signal!;
    const aborted = new Promise<void>((r) => (signal.aborted ? r() : signal.addEventListener('abort', () => r(), { once: true })));
    if ((await Promise.race([this.uploadGate.then(() => 'released'), aborted.then(() => 'aborted')])) === 'aborted') {
      await new Promise((r) => setTimeout(r, this.abortMs));
      this.abortsDone++;
      throw signal.reason as Error;
    }
    return super.upload(key, Readable.from(chunks), options);
  }
}

const record = (id: number, name = `user ${id}`) =>
  JSON.stringify({ type: 'RECORD', record: { stream: 'users', data: { id, name }, emitted_at: 1_700_000_000_000 } });
const state = (cursor: number) =>
  JSON.stringify({ type: 'STATE', state: { type: 'STREAM', stream: { stream_descriptor: { name: 'users' }, stream_state: { cursor } } } });
const complete = JSON.stringify({
  type: 'TRACE',
  trace: { type: 'STREAM_STATUS', emitted_at: 1, stream_status: { stream_descriptor: { name: 'users' }, status: 'COMPLETE' } },
});
/** A message type the connector does not know: its WARN LOG tells that every line before it was read. */
const MARKER = JSON.stringify({ type: 'FUTURE_MESSAGE' });

interface Harness {
  stdin: PassThrough;
  messages: Record<string, any>[];
  /** Resolves with the first message (so far or to come) that matches. */
  waitFor(match: (m: Record<string, any>) => boolean): Promise<Record<string, any>>;
  /** Calls the injected timer's tick after moving the injected clock to `ms` from the start. */
  tickAt(ms: number): void;
  sigterm(): void;
  code: Promise<number>;
}

function start(store: MemoryStore, options: { graceMs?: number; abortWaitMs?: number } = {}): Harness {
  const dir = mkdtempSync(join(tmpdir(), 'write-command-'));
  const configPath = join(dir, 'config.json');
  const catalogPath = join(dir, 'catalog.json');
  writeFileSync(
    configPath,
    JSON.stringify({ s3_bucket_name: 'acme-exports', s3_bucket_region: 'us-east-1', file_size_mb: 1, credentials: { auth_type: 'default_chain' } }),
  );
  writeFileSync(catalogPath, JSON.stringify({ streams: [configuredStream('users')] }));
  const t0 = 1_700_000_000_000;
  let now = t0;
  let tick: (() => void) | undefined;
  let onSigterm: (() => void) | undefined;
  const deps: WriteDeps = {
    openStore: async () => store,
    openFormats: async () => ({ converterFor: async () => new CopyConverter(), close: async () => undefined }),
    now: () => now,
    graceMs: options.graceMs ?? 60_000,
    abortWaitMs: options.abortWaitMs ?? 60_000,
    onSigterm: (handler) => {
      onSigterm = handler;
      return () => undefined;
    },
    every: (_ms, t) => {
      tick = t;
      return () => undefined;
    },
  };
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const messages: Record<string, any>[] = [];
  const watchers = new Set<() => void>();
  let pending = '';
  stdout.on('data', (c: Buffer) => {
    pending += c.toString('utf8');
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const l of lines.filter(Boolean)) messages.push(JSON.parse(l) as Record<string, any>);
    for (const w of watchers) w();
  });
  const unused = async (): Promise<never> => {
    throw new Error('not used');
  };
  const code = run(
    ['write', '--config', configPath, '--catalog', catalogPath],
    { stdin, stdout, env: {} },
    {
      spec: unused,
      check: unused,
      write: (c, k, out, io) => writeCommand(deps, c, k, out, io),
    },
  );
  return {
    stdin,
    messages,
    code,
    waitFor: (match) =>
      new Promise((resolve) => {
        const check = (): void => {
          const found = messages.find(match);
          if (found) {
            watchers.delete(check);
            resolve(found);
          }
        };
        watchers.add(check);
        check();
      }),
    tickAt: (ms) => {
      now = t0 + ms;
      tick!();
    },
    sigterm: () => onSigterm!(),
  };
}

const logs = (h: Harness, pattern: RegExp): string[] =>
  h.messages.filter((m) => m.type === 'LOG' && pattern.test(m.log.message)).map((m) => m.log.message as string);
const isMarkerWarning = (m: Record<string, any>): boolean => m.type === 'LOG' && /FUTURE_MESSAGE/.test(m.log.message);
const cursors = (h: Harness): unknown[] => h.messages.filter((m) => m.type === 'STATE').map((m) => m.state.stream.stream_state.cursor);

describe('write() progress', () => {
  it('logs progress every 5 s of its clock, with records and bytes received beside what is committed', async () => {
    const h = start(new MemoryStore());
    const big = 'x'.repeat(100_000);
    h.stdin.write([record(0, big), record(1, big), record(2, big), complete, MARKER].join('\n') + '\n');
    await h.waitFor(isMarkerWarning);
    h.tickAt(4_999); // not yet 5 s since the start
    h.tickAt(5_000);
    await h.waitFor((m) => m.type === 'LOG' && /^Progress/.test(m.log.message));
    h.tickAt(7_000); // 2 s after the last report
    h.tickAt(10_000);
    h.stdin.end();
    expect(await h.code).toBe(0);
    expect(logs(h, /^Progress/)).toEqual([
      'Progress: users: 3 records (0.3 MB) received, 0 committed in 0 files (0.0 MB); 0 states held',
      'Progress: users: 3 records (0.3 MB) received, 0 committed in 0 files (0.0 MB); 0 states held',
    ]);
    expect(logs(h, /^Stream users/)).toEqual(['Stream users: 3 records (0.3 MB) received, 3 committed in 1 file (0.3 MB); manifest complete']);
  });

  it('logs the per-stream summary when the sync fails, before the TRACE', async () => {
    const h = start(new MemoryStore());
    h.stdin.end([record(0), record(1), state(1), record(2), 'not json'].join('\n') + '\n');
    expect(await h.code).toBe(1);
    const summary = h.messages.findIndex((m) => m.type === 'LOG' && /^Stream users/.test(m.log.message));
    expect(h.messages[summary]!.log.message).toMatch(
      /^Stream users: 3 records \(0\.0 MB\) received, 2 committed in 1 file \(0\.0 MB\); manifest incomplete$/,
    );
    expect(summary).toBeLessThan(h.messages.findIndex((m) => m.type === 'TRACE'));
    expect(cursors(h)).toEqual([1]);
  });
});

describe('write() at an end of input without terminal STREAM_STATUS', () => {
  it("echoes the durable states, writes the manifest incomplete, and fails with transient_error (as Airbyte's bulk CDK)", async () => {
    const store = new MemoryStore();
    const h = start(store);
    h.stdin.end([record(0), record(1), state(1), record(2)].join('\n') + '\n');
    expect(await h.code).toBe(1);
    expect(cursors(h)).toEqual([1]);
    const traces = h.messages.filter((m) => m.type === 'TRACE');
    expect(traces.map((m) => m.trace.error.failure_type)).toEqual(['transient_error']);
    expect(traces[0]!.trace.error.message).toMatch(/"users" \(no namespace\) got a terminal STREAM_STATUS/);
    const manifest = JSON.parse(store.objects.get([...store.objects.keys()].find((k) => k.startsWith('_manifests/'))!)!.toString());
    expect(manifest.status).toBe('incomplete');
    // the tail after the last state is not listed: the source sends it again
    expect(manifest.record_count).toBe(2);
  });

  it('reports the S3 failure met while finishing, not the missing status that led there', async () => {
    const store = new (class extends MemoryStore {
      override async upload(): Promise<UploadResult> {
        throw new ConfigError('PutObject of s3://bucket/users/part was denied: grant s3:PutObject.');
      }
    })();
    const h = start(store);
    h.stdin.end([record(0), record(1), state(1), record(2)].join('\n') + '\n');
    expect(await h.code).toBe(1);
    const traces = h.messages.filter((m) => m.type === 'TRACE');
    expect(traces.map((m) => m.trace.error.failure_type)).toEqual(['config_error']);
    expect(traces[0]!.trace.error.message).toMatch(/s3:PutObject/);
    expect(cursors(h)).toEqual([]);
  });

  it('takes INCOMPLETE as a terminal status: exit 0, the manifest incomplete', async () => {
    const store = new MemoryStore();
    const h = start(store);
    h.stdin.end([record(0), state(1), complete.replace('COMPLETE', 'INCOMPLETE')].join('\n') + '\n');
    expect(await h.code).toBe(0);
    const manifest = JSON.parse(store.objects.get([...store.objects.keys()].find((k) => k.startsWith('_manifests/'))!)!.toString());
    expect(manifest.status).toBe('incomplete');
  });
});

describe('write() on SIGTERM', () => {
  it('exits 143 after SIGTERM at the end of input, with every state echoed when the finish makes it in time', async () => {
    const store = new GatedStore();
    const h = start(store);
    h.stdin.end([record(0), record(1), state(1), complete, MARKER].join('\n') + '\n');
    await h.waitFor(isMarkerWarning);
    while (store.uploadsStarted === 0) await new Promise((r) => setImmediate(r));
    h.sigterm();
    store.releaseUploads();
    expect(await h.code).toBe(143);
    expect(cursors(h)).toEqual([1]);
    const trace = h.messages.find((m) => m.type === 'TRACE')!;
    expect(trace.trace.error.failure_type).toBe('transient_error');
    expect(trace.trace.error.message).toMatch(/SIGTERM/);
    // SIGTERM came before the final manifest: the transfer did not end normally
    const manifest = JSON.parse(store.objects.get([...store.objects.keys()].find((k) => k.startsWith('_manifests/'))!)!.toString());
    expect(manifest.status).toBe('incomplete');
    expect(logs(h, /^Stream users/)).toEqual([expect.stringMatching(/2 committed in 1 file .*; manifest incomplete$/)]);
  });

  it('exits 143 when the grace period runs out after the end of input, once the uploads in flight are aborted', async () => {
    const store = new GatedStore(50);
    const h = start(store, { graceMs: 20 });
    h.stdin.end([record(0), record(1), state(1), complete, MARKER].join('\n') + '\n');
    await h.waitFor(isMarkerWarning);
    while (store.uploadsStarted === 0) await new Promise((r) => setImmediate(r));
    h.sigterm(); // the upload never completes: the grace period runs out
    expect(await h.code).toBe(143);
    expect(store.abortsDone).toBe(1);
    expect(cursors(h)).toEqual([]);
    expect(h.messages.filter((m) => m.type === 'TRACE').map((m) => m.trace.error.failure_type)).toEqual(['transient_error']);
    expect(logs(h, /^Stream users/)).toEqual([expect.stringMatching(/0 committed in 0 files .*; manifest not written$/)]);
  });

  it('waits, after the grace period ran out mid-input, until the uploads in flight are aborted before it returns', async () => {
    const store = new GatedStore(100);
    const h = start(store, { graceMs: 20 });
    // over file_size_mb, then a state: the file is cut there and uploads (held by the gate),
    // while stdin stays open
    const big = 'x'.repeat(110_000);
    h.stdin.write([...Array.from({ length: 11 }, (_, i) => record(i, big)), state(10), MARKER].join('\n') + '\n');
    await h.waitFor(isMarkerWarning);
    while (store.uploadsStarted === 0) await new Promise((r) => setImmediate(r));
    h.sigterm();
    expect(await h.code).toBe(143);
    expect(store.abortsDone).toBe(1);
  });
});
