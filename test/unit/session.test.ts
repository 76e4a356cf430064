import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { InputLine } from '../../src/protocol/lines.js';
import { decodeSpoolLine } from '../../src/formats/spool-line.js';
import { recordLineToSpool } from '../../src/protocol/record-scan.js';
import { streamKey, type ConfiguredAirbyteStream } from '../../src/protocol/messages.js';
import { Committer } from '../../src/write/committer.js';
import { WriteSession, type SessionLimits } from '../../src/write/session.js';
import { StreamSink, type CutReason } from '../../src/write/sink.js';
import { StateTracker } from '../../src/write/states.js';
import { CopyConverter, MemoryStore, until } from '../support/fakes.js';

const record = (stream: string, i: number) =>
  JSON.stringify({ type: 'RECORD', record: { stream, data: { id: i, pad: 'x'.repeat(50) }, emitted_at: 1_700_000_000_000 + i } });
const state = (stream: string, n: number) =>
  JSON.stringify({ type: 'STATE', state: { type: 'STREAM', stream: { stream_descriptor: { name: stream }, stream_state: { n } } } });
const globalState = (n: number) => JSON.stringify({ type: 'STATE', state: { type: 'GLOBAL', global: { shared_state: { n }, stream_states: [] } } });
const countOf = (line: string) => JSON.parse(line).state.destinationStats.recordCount as number;

function harness(streams: string[], limits: Partial<SessionLimits> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'session-test-'));
  const store = new MemoryStore();
  const sinks = new Map<string, StreamSink>();
  streams.forEach((name, i) => {
    const configured = {
      stream: { name, json_schema: {}, supported_sync_modes: ['full_refresh'] },
      sync_mode: 'full_refresh',
      destination_sync_mode: 'append',
    } as ConfiguredAirbyteStream;
    const key = streamKey(name);
    sinks.set(key, new StreamSink(key, configured, name, new CopyConverter(), dir, i));
  });
  const tracker = new StateTracker();
  const echoed: string[] = [];
  const manifestWrites: { model: string; files: number }[] = [];
  /** Records of each model that its latest manifest write lists. */
  const listed = new Map<string, number>();
  /** What the manifests listed when each state was echoed. */
  const listedAtEcho: Map<string, number>[] = [];
  /** Files a manifest listed before their upload finished. */
  const listedBeforeUpload: string[] = [];
  const cuts: { stream: string; reason: CutReason; recordsEnd: number }[] = [];
  let clock = 0;
  let session: WriteSession;
  const committer = new Committer({
    store,
    outDir: dir,
    targetFileBytes: limits.targetFileBytes ?? 1 << 30,
    maxParallelUploads: 2,
    dataKey: (sink, part) => `${sink.model}/part-${part}.jsonl`,
    writeManifest: async (sink) => {
      for (const f of sink.files) if (!store.objects.has(f.key)) listedBeforeUpload.push(f.key);
      listed.set(
        sink.model,
        sink.files.reduce((n, f) => n + f.records, 0),
      );
      manifestWrites.push({ model: sink.model, files: sink.files.length });
    },
    onCommitted: (sink, end) => {
      tracker.onCommitted(sink.key, end);
      session.echoReady();
    },
    log: () => undefined,
  });
  const submit = committer.submit.bind(committer);
  committer.submit = (job) => {
    cuts.push({ stream: job.sink.model, reason: job.reason, recordsEnd: job.recordsEnd });
    submit(job);
  };
  session = new WriteSession({
    sinks,
    tracker,
    committer,
    limits: {
      targetFileBytes: 1 << 30,
      flushIntervalMs: 300_000,
      spoolBudgetBytes: 1 << 30,
      backlogBudgetBytes: 1 << 30,
      spoolMemoryBytes: 1 << 20,
      heldStatesBytes: 1 << 30,
      ...limits,
    },
    now: () => clock,
    echo: (l) => {
      listedAtEcho.push(...l.map(() => new Map(listed)));
      echoed.push(...l);
    },
    log: () => undefined,
  });
  const feed = async function* (lines: string[]): AsyncGenerator<InputLine> {
    let n = 0;
    for (const text of lines) yield { text, lineNo: ++n };
  };
  let lineNo = 0;
  /** Hands lines to the session as the message loop does, without its backpressure waits. */
  const take = (...lines: string[]) => {
    for (const text of lines) session.handleLine({ text, lineNo: ++lineNo });
  };
  return {
    dir,
    store,
    sinks,
    tracker,
    committer,
    session,
    echoed,
    manifestWrites,
    listedAtEcho,
    listedBeforeUpload,
    cuts,
    feed,
    take,
    tick: (ms: number) => (clock += ms),
  };
}

const storedRecords = (store: MemoryStore, prefix: string) =>
  [...store.objects]
    .filter(([k]) => k.startsWith(prefix))
    .flatMap(([, v]) =>
      v
        .toString()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l).id as number),
    );

describe('WriteSession', () => {
  it('echoes each state only after the records before it are uploaded and listed', async () => {
    const h = harness(['a', 'b']);
    const lines = [record('a', 0), record('b', 0), state('a', 1), record('a', 1), state('b', 1), state('a', 2)];
    await h.session.consume(h.feed(lines));
    expect(h.echoed).toEqual([]); // nothing finished yet: files are not due
    h.session.finishAll();
    await h.committer.idle();
    expect(h.echoed.map((l) => JSON.parse(l).state.stream.stream_state.n)).toEqual([1, 1, 2]);
    expect(h.echoed.map(countOf)).toEqual([1, 1, 1]);
    // When each state was echoed, its stream's manifest already listed the records it covers
    // (a: 1, b: 1, a: 2), and no manifest listed a file before its upload had finished.
    const covers: [string, number][] = [
      ['a', 1],
      ['b', 1],
      ['a', 2],
    ];
    for (const [i, [model, records]] of covers.entries()) {
      expect(h.listedAtEcho[i]!.get(model) ?? 0, `state ${i} of ${model}`).toBeGreaterThanOrEqual(records);
    }
    expect(h.listedBeforeUpload).toEqual([]);
    expect(storedRecords(h.store, 'a/').sort()).toEqual([0, 1]);
    expect(storedRecords(h.store, 'b/')).toEqual([0]);
  });

  it('cuts the files held states wait on when they reach their memory share, and the reader waits while they stay above it', async () => {
    const h = harness(['a', 'b'], { heldStatesBytes: 20_000 });
    const big = (n: number) =>
      `{"type":"STATE","state":{"type":"GLOBAL","global":{"shared_state":{"n":${n},"pad":"${'x'.repeat(2000)}"},"stream_states":[]}}}`;
    const lines: string[] = [];
    for (let i = 0; i < 400; i++) {
      lines.push(record(i % 2 ? 'a' : 'b', i));
      if (i % 4 === 3) lines.push(big(i));
    }
    // consume() applies the backpressure: the reader waits while held states stay above their share
    await h.session.consume(h.feed(lines));
    const statesCuts = h.cuts.filter((c) => c.reason === 'states');
    expect(statesCuts.length).toBeGreaterThan(4);
    // each cut serves several states (half the share at least), not one file per state
    expect(statesCuts.length).toBeLessThan(2 * (100 / 4));
    expect(h.echoed.length).toBeGreaterThan(50); // echoed while reading, before the end of input
    h.session.finishAll();
    await h.committer.idle();
    expect(h.echoed).toHaveLength(100);
    expect(h.tracker.heldBytes).toBe(0);
  });

  it("finishes a stream's file when its terminal status arrives, while the next streams are read", async () => {
    const h = harness(['a', 'b', 'c']);
    const status = (name: string, value: string) =>
      JSON.stringify({
        type: 'TRACE',
        trace: { type: 'STREAM_STATUS', emitted_at: 1, stream_status: { stream_descriptor: { name }, status: value } },
      });
    const lines: string[] = [];
    for (const name of ['a', 'b']) {
      for (let i = 0; i < 5; i++) lines.push(record(name, i));
      lines.push(state(name, 5), status(name, name === 'a' ? 'COMPLETE' : 'INCOMPLETE'));
    }
    lines.push(record('c', 0), status('c', 'RUNNING'));
    await h.session.consume(h.feed(lines));
    expect(h.cuts).toEqual([
      { stream: 'a', reason: 'status', recordsEnd: 5 },
      { stream: 'b', reason: 'status', recordsEnd: 5 },
    ]);
    await h.committer.idle();
    expect(h.echoed).toHaveLength(2); // before the end of input
    expect(h.session.withoutTerminalStatus().map((s) => s.model)).toEqual(['c']);
  });

  it('cuts a due file at the next state boundary of its stream, so each file ends at a state', async () => {
    const h = harness(['a'], { targetFileBytes: 2000 });
    const lines: string[] = [];
    for (let i = 0; i < 200; i++) {
      lines.push(record('a', i));
      if (i % 7 === 6) lines.push(state('a', i));
    }
    await h.session.consume(h.feed(lines));
    h.session.finishAll();
    await h.committer.idle();
    const files = h.sinks.get(streamKey('a'))!.files;
    expect(files.length).toBeGreaterThan(3);
    // every file but the last ends just before a state: its record count is a multiple of 7
    let end = 0;
    for (const f of files.slice(0, -1)) {
      end += f.records;
      expect(end % 7).toBe(0);
    }
    expect(storedRecords(h.store, 'a/').sort((x, y) => x - y)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect(h.echoed).toHaveLength(Math.floor(200 / 7));
  });

  it('a state held flush_interval finishes its file at the boundary, keeping later records open', async () => {
    const h = harness(['a'], { flushIntervalMs: 1000 });
    await h.session.consume(h.feed([record('a', 0), record('a', 1), state('a', 2), record('a', 2)]));
    h.tick(999);
    h.session.onTick();
    await h.committer.idle();
    expect(h.echoed).toEqual([]);
    h.tick(1);
    h.session.onTick();
    await h.committer.idle();
    expect(h.echoed).toHaveLength(1);
    const sink = h.sinks.get(streamKey('a'))!;
    expect(sink.files.map((f) => f.records)).toEqual([2]);
    expect(sink.spool?.records).toBe(1); // the record after the state is still open
    h.session.finishAll();
    await h.committer.idle();
    expect(sink.files.map((f) => f.records)).toEqual([2, 1]);
  });

  it('a state held flush_interval cuts only the streams it waits on, not those of younger states', async () => {
    const h = harness(['a', 'b'], { flushIntervalMs: 10_000 });
    h.take(record('a', 0), record('b', 0), state('a', 1));
    h.tick(5_000);
    h.take(record('b', 1), state('b', 2));
    h.tick(5_000);
    h.session.onTick();
    // a's state is 10 s old, b's only 5 s: b keeps growing its file
    expect(h.cuts).toEqual([{ stream: 'a', reason: 'timer', recordsEnd: 1 }]);
    h.tick(5_000);
    h.session.onTick();
    expect(h.cuts.map((c) => c.stream)).toEqual(['a', 'b']);
    await h.committer.idle();
    expect(h.echoed.map(countOf)).toEqual([1, 2]);
  });

  it('does not cut a stream again while the records an overdue state needs are still uploading', async () => {
    const h = harness(['a'], { flushIntervalMs: 10_000 });
    h.store.hold();
    h.take(record('a', 0), state('a', 1));
    h.tick(10_000);
    h.session.onTick();
    expect(h.cuts).toHaveLength(1);
    // The upload is slow: the state stays held and overdue, tick after tick, while a record and
    // a state arrive every second. Its records are on their way already: no more cuts until
    // the state received at 10 s is overdue in turn (at 20 s).
    for (let t = 1; t <= 10; t++) {
      h.take(record('a', t), state('a', t + 1));
      h.tick(1_000);
      h.session.onTick();
      if (t < 10) expect(h.cuts, `at ${10 + t} s`).toHaveLength(1);
    }
    // ...and then one cut serves every state held so far
    expect(h.cuts.map((c) => c.recordsEnd)).toEqual([1, 11]);
    h.store.release();
    await h.committer.idle();
    expect(h.echoed.map(countOf)).toEqual(Array.from({ length: 11 }, () => 1));
  });

  it.each([
    ['finish between ticks', false],
    ['are slower than the whole run', true],
  ])(
    'with 20 streams, a GLOBAL state every 200 ms and uploads that %s, the timer cuts each stream about once per flush interval',
    async (_name, slow) => {
      // The audit's case: 20 streams, a GLOBAL state every 200 ms, a 10 s flush interval, ticks
      // every second, 60 s of input.
      const names = Array.from({ length: 20 }, (_, i) => `s${i}`);
      const h = harness(names, { flushIntervalMs: 10_000 });
      if (slow) h.store.hold();
      let id = 0;
      for (let step = 1; step <= 300; step++) {
        h.tick(200);
        for (const name of names) h.take(record(name, id++));
        h.take(globalState(step));
        if (step % 5 === 0) h.session.onTick();
        if (!slow) await h.committer.idle();
      }
      for (const name of names) {
        const timerCuts = h.cuts.filter((c) => c.stream === name && c.reason === 'timer').length;
        // one cut per flush interval at most (60 s / 10 s), and the timer did cut
        expect(timerCuts, name).toBeLessThanOrEqual(6);
        expect(timerCuts, name).toBeGreaterThanOrEqual(4);
      }
      h.store.release();
      h.session.finishAll();
      await h.committer.idle();
      expect(h.echoed.map((l) => JSON.parse(l).state.global.shared_state.n)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
      expect(h.echoed.map(countOf)).toEqual(Array.from({ length: 300 }, () => 20));
      for (const name of names) expect(storedRecords(h.store, `${name}/`)).toHaveLength(300);
    },
  );

  it('holds a LEGACY state (a STATE without type) until the records of every stream are durable', async () => {
    const h = harness(['a', 'b']);
    h.store.hold((key) => key.startsWith('b/'));
    h.take(record('a', 0), record('b', 0), record('a', 1), '{"type":"STATE","state":{"data":{"cursor":1}}}');
    h.session.finishAll();
    const a = h.sinks.get(streamKey('a'))!;
    await until(() => a.committedRecords === 2 && h.store.waiting === 1, "a's file committed, b's upload waiting");
    expect(h.echoed).toEqual([]); // a is durable, b is not
    h.store.release();
    await h.committer.idle();
    expect(h.echoed).toHaveLength(1);
    expect(JSON.parse(h.echoed[0]!).state.data.cursor).toBe(1);
    expect(countOf(h.echoed[0]!)).toBe(3);
  });

  it('when the open spools pass their temp-disk share, cuts the largest at once, mid-state', async () => {
    const lineBytes = recordLineToSpool(Buffer.from(record('a', 0))).length + 1;
    const h = harness(['a', 'b'], { spoolBudgetBytes: 10 * lineBytes });
    h.take(record('b', 0), record('b', 1), state('b', 2));
    for (let i = 0; i < 8; i++) h.take(record('a', i));
    expect(h.cuts).toEqual([]); // 10 lines: at the budget, not past it
    h.take(record('a', 8));
    expect(h.cuts).toEqual([{ stream: 'a', reason: 'budget', recordsEnd: 9 }]);
    expect(h.sinks.get(streamKey('b'))!.spool!.records).toBe(2); // the smaller spool stays open
    h.take(record('a', 9));
    expect(h.cuts).toHaveLength(1); // the share counts what is open now
    h.session.finishAll();
    await h.committer.idle();
    expect(storedRecords(h.store, 'a/').sort((x, y) => x - y)).toEqual(Array.from({ length: 10 }, (_, i) => i));
  });

  it('stops reading while the pipeline holds more than its temp-disk share, and resumes once uploads free it', async () => {
    const lineBytes = recordLineToSpool(Buffer.from(record('a', 0))).length + 1;
    // a file is due past 5 lines; the backlog's share is 2 lines: the file's spool passes it,
    // and so does its converted output (about half a line a record) until it is uploaded
    const h = harness(['a'], { targetFileBytes: 5 * lineBytes, backlogBudgetBytes: 2 * lineBytes });
    h.store.hold();
    const lines: string[] = [];
    for (let i = 0; i < 20; i++) {
      lines.push(record('a', i));
      if (i % 6 === 5) lines.push(state('a', i));
    }
    const reading = h.session.consume(h.feed(lines));
    await until(() => h.store.waiting === 1, 'the first upload waits');
    // the reader stopped after the state that cut the first file (line 7)
    expect(h.tracker.receivedOf(streamKey('a'))).toBe(6);
    expect(h.committer.backlogBytes).toBeGreaterThan(2 * lineBytes);
    h.store.release();
    await reading;
    expect(h.tracker.receivedOf(streamKey('a'))).toBe(20);
    h.session.finishAll();
    await h.committer.idle();
    expect(h.echoed).toHaveLength(3);
  });

  it('on exit, finishes what held states wait on and drops the unconfirmed tail', async () => {
    const h = harness(['a']);
    await h.session.consume(h.feed([record('a', 0), state('a', 1), record('a', 1)]));
    h.session.finishForExit();
    await h.committer.idle();
    expect(h.echoed).toHaveLength(1);
    expect(storedRecords(h.store, 'a/')).toEqual([0]);
  });

  it.each([
    ['not JSON', '{"type":', /line 2 is not valid JSON/],
    ['not an object', '[1,2]', /line 2 is not a JSON object/],
    ['no string type', '{"type":5}', /line 2 has no string "type"/],
    [
      'a record without data',
      '{"type":"RECORD","record":{"stream":"a","emitted_at":1}}',
      /line 2: RECORD of stream "a" \(no namespace\) without a "data" object/,
    ],
    ['a record without stream', '{"type":"RECORD","record":{"data":{},"emitted_at":1}}', /line 2: RECORD without a string "stream"/],
    [
      'a stream not in the catalog',
      '{"type":"RECORD","record":{"stream":"zz","data":{},"emitted_at":1}}',
      /line 2: RECORD for stream "zz" \(no namespace\), which is not in the configured catalog/,
    ],
  ])('reports %s with its line number', async (_name, bad, message) => {
    const h = harness(['a']);
    await expect(h.session.consume(h.feed([record('a', 0), bad]))).rejects.toThrow(message);
  });

  it('skips LOG, CONTROL and unknown message types', async () => {
    const h = harness(['a']);
    await h.session.consume(h.feed(['{"type":"LOG","log":{"level":"INFO","message":"x"}}', '{"type":"FUTURE_THING"}', record('a', 0)]));
    expect(h.tracker.receivedOf(streamKey('a'))).toBe(1);
  });

  it('an upload failure stops the session and no state covering it is echoed', async () => {
    const h = harness(['a']);
    h.store.failNextUpload = new Error('boom');
    await h.session.consume(h.feed([record('a', 0), state('a', 1)]));
    h.session.finishAll();
    await expect(h.committer.idle()).rejects.toThrow('boom');
    expect(h.echoed).toEqual([]);
  });
});

describe('WriteSession fast path (lines with their bytes, as the line reader gives them)', () => {
  const withBytes = async function* (lines: string[]): AsyncGenerator<InputLine[]> {
    // One batch, as readLineBatches yields the lines of one input chunk.
    yield lines.map((text, i) => ({ text, lineNo: i + 1, bytes: Buffer.from(text, 'utf8') }));
  };

  it('routes records by their bytes and spools them exactly as received', async () => {
    const h = harness(['a', 'b']);
    const odd =
      '{ "type" : "RECORD", "record" : { "stream" : "b", "data" : { "id" : 7, "big" : 123456789012345678901234567890 }, "emitted_at" : 1 } }';
    await h.session.consume(withBytes([record('a', 0), odd, state('a', 1), record('a', 1)]));
    const spoolB = h.sinks.get(streamKey('b'))!.spool!;
    await spoolB.drained();
    const { readFileSync } = await import('node:fs');
    expect(decodeSpoolLine(readFileSync(spoolB.path).subarray(0, -1)).json.toString('utf8')).toBe(odd);
    h.session.finishAll();
    await h.committer.idle();
    expect(storedRecords(h.store, 'a/').sort()).toEqual([0, 1]);
    expect(storedRecords(h.store, 'b/')).toEqual([7]);
    expect(h.tracker.receivedOf(streamKey('b'))).toBe(1);
  });

  it.each([
    ['not JSON', '{"type":', /line 3 is not valid JSON/],
    ['a trailing comma inside data', '{"type":"RECORD","record":{"stream":"a","data":{"x":1,},"emitted_at":1}}', /line 3 is not valid JSON/],
    ['NaN inside data', '{"type":"RECORD","record":{"stream":"a","data":{"x":NaN},"emitted_at":1}}', /line 3 is not valid JSON/],
    [
      'a record without data',
      '{"type":"RECORD","record":{"stream":"a","emitted_at":1}}',
      /line 3: RECORD of stream "a" \(no namespace\) without a "data" object/,
    ],
    [
      'emitted_at as text',
      '{"type":"RECORD","record":{"stream":"a","data":{},"emitted_at":"1"}}',
      /line 3: RECORD of stream "a" \(no namespace\) without a numeric "emitted_at"/,
    ],
    [
      'a stream not in the catalog',
      '{"type":"RECORD","record":{"stream":"zz","namespace":"n","data":{},"emitted_at":1}}',
      /line 3: RECORD for stream "zz" \(namespace "n"\), which is not in the configured catalog/,
    ],
  ])('reports %s with its line number, and no state after it is echoed', async (_name, bad, message) => {
    const h = harness(['a']);
    await expect(h.session.consume(withBytes([record('a', 0), state('a', 1), bad, record('a', 1), state('a', 2)]))).rejects.toThrow(message);
    // What the connector does on bad input: finish what held states wait on, then stop.
    h.session.finishForExit();
    await h.committer.idle();
    expect(h.echoed.map((l) => JSON.parse(l).state.stream.stream_state.n)).toEqual([1]);
    expect(h.tracker.receivedOf(streamKey('a'))).toBe(1); // nothing after the bad line was taken
  });
});
