// The write session: routes each input line, holds STATEs until their records are durable,
// decides when files are cut (docs/write-path.md, "When a file is finished (splitting)"), and
// finishes cleanly at the end of input, on bad input, on SIGTERM or on an S3 failure. Everything
// that changes the session's state runs synchronously; only backpressure waits.

import { ConfigError } from '../errors.js';
import type { InputLine } from '../protocol/lines.js';
import { streamKey } from '../protocol/messages.js';
import { createRecordScanner, type RecordScanner } from '../protocol/record-scan.js';
import { describeStream } from '../layout/index.js';
import type { Committer } from './committer.js';
import type { CutReason, StreamSink } from './sink.js';
import type { StateKind, StateTracker } from './states.js';

export interface SessionLimits {
  targetFileBytes: number;
  flushIntervalMs: number;
  /** Open spools beyond this in all are cut, largest first (temp disk bound). */
  spoolBudgetBytes: number;
  /** The reader waits while the pipeline holds more than this on disk. */
  backlogBudgetBytes: number;
  /** The reader waits while a spool holds more than this in memory. */
  spoolMemoryBytes: number;
  /**
   * Held checkpoints' share of the memory budget (their raw text and watermarks): when they
   * reach it, the files they wait on are cut, and the reader waits while they stay above it.
   */
  heldStatesBytes: number;
}

export interface SessionDeps {
  sinks: Map<string, StreamSink>;
  tracker: StateTracker;
  committer: Committer;
  limits: SessionLimits;
  now: () => number;
  /** Prints the states that became ready (in order). */
  echo(lines: string[]): void;
  log(level: 'INFO' | 'WARN', message: string): void;
}

/**
 * Where a spool with no state boundary in sight is cut at once: one row group (an eighth of the
 * target) short of the hard bound, twice the target (docs/write-path.md, "When a file is finished
 * (splitting)"). The converter splits only past
 * the hard bound itself; the margin keeps a file whose estimate was a little low (the ratio is
 * the previous file's) from being split there into a full file and a sliver.
 */
export function hardCutBytes(targetFileBytes: number): number {
  return 2 * targetFileBytes - targetFileBytes / 8;
}

type Json = Record<string, unknown>;
const isBatch = (item: InputLine | readonly InputLine[]): item is readonly InputLine[] => Array.isArray(item);
const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

export class WriteSession {
  private readonly byName = new Map<string, StreamSink[]>();
  /** sinkFor's answers by name, then namespace: routing a record costs two map lookups. */
  private readonly routes = new Map<string, Map<string | undefined, StreamSink>>();
  private readonly warnedTypes = new Set<string>();
  private openSpoolBytes = 0;
  /** Weight of the states received since the last cut for the held states' bound. */
  private heldSinceCut = 0;
  /** Readers waiting for held states to be released (woken at each echo and tick). */
  private stateWaiters: (() => void)[] = [];
  /** Checks each RECORD line and encodes what is spooled for it (src/formats/spool-line.ts). */
  private readonly scanner: RecordScanner;

  constructor(private readonly d: SessionDeps) {
    this.scanner = createRecordScanner(
      [...d.sinks.values()].map((s) => ({
        name: s.configured.stream.name,
        namespace: s.configured.stream.namespace,
        jsonSchema: s.configured.stream.json_schema,
      })),
      { now: d.now },
    );
    for (const sink of d.sinks.values()) {
      const list = this.byName.get(sink.configured.stream.name) ?? [];
      list.push(sink);
      this.byName.set(sink.configured.stream.name, list);
    }
  }

  /**
   * Reads every line (one by one, or in batches as the line reader yields them); throws a
   * ConfigError for bad input (after nothing else was taken).
   */
  async consume(lines: AsyncIterable<InputLine | readonly InputLine[]>): Promise<void> {
    for await (const item of lines) {
      if (isBatch(item)) for (const line of item) this.handleLine(line);
      else this.handleLine(item);
      const failed = this.d.committer.failed;
      if (failed) throw failed;
      await this.backpressure();
    }
  }

  private async backpressure(): Promise<void> {
    const { committer, limits, tracker } = this.d;
    if (committer.backlogBytes > limits.backlogBudgetBytes) await committer.waitForRoom(limits.backlogBudgetBytes);
    // Held checkpoints above their share: their files are on their way (onState cut them); the
    // reader waits until enough of them are echoed. Every state that stays held is covered by
    // work already submitted, or weighs less than half the share (see boundHeldStates).
    while (tracker.heldBytes > limits.heldStatesBytes && !committer.failed) {
      await new Promise<void>((res) => this.stateWaiters.push(res));
    }
    for (const sink of this.d.sinks.values()) {
      if (sink.spool && sink.spool.bufferedBytes > limits.spoolMemoryBytes) await sink.spool.drained();
    }
  }

  handleLine(line: InputLine): void {
    // The fast path: a well-formed RECORD is routed from its bytes, without JSON.parse
    // (record-scan.ts); everything else, bad input included, takes the general path below.
    // (The line reader always has the bytes; a line given as text only is encoded once here.)
    const { lineNo } = line;
    const bytes = line.bytes ?? Buffer.from(line.text, 'utf8');
    const scanned = this.scanner.scan(bytes);
    if (scanned) return this.takeRecord(scanned.stream, scanned.namespace, scanned.spoolLine, lineNo, bytes.length);
    const text = line.text;
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch {
      throw new ConfigError(`Input line ${lineNo} is not valid JSON (starts with ${JSON.stringify(text.slice(0, 40))}).`);
    }
    if (!isObject(msg)) throw new ConfigError(`Input line ${lineNo} is not a JSON object.`);
    if (typeof msg.type !== 'string') throw new ConfigError(`Input line ${lineNo} has no string "type": it is not an Airbyte message.`);
    switch (msg.type) {
      case 'RECORD':
        // The scan declined this RECORD, and it accepts every RECORD onRecord takes: onRecord
        // reports what is wrong with it (scanning it again would only decline it again).
        return this.onRecord(msg.record, bytes, lineNo);
      case 'STATE':
        return this.onState(msg.state, text, lineNo);
      case 'TRACE':
        return this.onTrace(msg.trace);
      case 'LOG':
      case 'CONTROL':
      case 'SPEC':
      case 'CATALOG':
      case 'CONNECTION_STATUS':
      case 'DESTINATION_CATALOG':
        return;
      default:
        if (!this.warnedTypes.has(msg.type)) {
          this.warnedTypes.add(msg.type);
          this.d.log('WARN', `Skipping messages of unknown type ${JSON.stringify(msg.type)} (first at input line ${lineNo}).`);
        }
    }
  }

  private sinkFor(name: string, namespace: unknown): StreamSink | undefined {
    const ns = typeof namespace === 'string' ? namespace : undefined;
    const known = this.routes.get(name)?.get(ns);
    if (known) return known;
    let sink = this.d.sinks.get(streamKey(name, ns));
    // A record without a namespace matches the one catalog stream of that name, if unique.
    if (!sink && ns === undefined) {
      const byName = this.byName.get(name);
      if (byName?.length === 1) sink = byName[0];
    }
    if (sink) {
      const forName = this.routes.get(name) ?? new Map<string | undefined, StreamSink>();
      forName.set(ns, sink);
      this.routes.set(name, forName);
    }
    return sink;
  }

  private onRecord(record: unknown, bytes: Buffer, lineNo: number): void {
    if (!isObject(record)) throw new ConfigError(`Input line ${lineNo}: RECORD message without a "record" object.`);
    const { stream, namespace, data } = record;
    if (typeof stream !== 'string') throw new ConfigError(`Input line ${lineNo}: RECORD without a string "stream".`);
    const ref = { name: stream, ...(typeof namespace === 'string' ? { namespace } : {}) };
    if (!isObject(data))
      throw new ConfigError(`Input line ${lineNo}: RECORD of stream ${describeStream(ref)} without a "data" object.`, { stream: ref });
    if (typeof record.emitted_at !== 'number') {
      throw new ConfigError(`Input line ${lineNo}: RECORD of stream ${describeStream(ref)} without a numeric "emitted_at".`, { stream: ref });
    }
    // (Unreachable while the scanner takes every RECORD checked above; spooled only as its encoding.)
    const scanned = this.scanner.scan(bytes);
    if (!scanned) throw new ConfigError(`Input line ${lineNo}: RECORD of stream ${describeStream(ref)} could not be read.`, { stream: ref });
    this.takeRecord(stream, typeof namespace === 'string' ? namespace : undefined, scanned.spoolLine, lineNo, bytes.length);
  }

  /**
   * Appends a RECORD's spool line (the scanner's encoding) to its stream's open spool;
   * `receivedBytes` is the RECORD message's length as received (for committedBytesCount).
   */
  private takeRecord(stream: string, namespace: string | undefined, bytes: Buffer, lineNo: number, receivedBytes: number): void {
    const sink = this.sinkFor(stream, namespace);
    if (!sink) {
      const ref = { name: stream, ...(namespace !== undefined ? { namespace } : {}) };
      throw new ConfigError(`Input line ${lineNo}: RECORD for stream ${describeStream(ref)}, which is not in the configured catalog.`, {
        stream: ref,
      });
    }
    const index = this.d.tracker.onRecord(sink.key, receivedBytes);
    const spool = sink.openSpool(index);
    const before = spool.bytes;
    spool.append(bytes);
    this.openSpoolBytes += spool.bytes - before;
    const estimate = sink.estimatedOutputBytes;
    const target = this.d.limits.targetFileBytes;
    if (estimate >= hardCutBytes(target)) this.cut(sink, 'hard-size');
    else if (estimate >= target) sink.due = true;
    if (this.openSpoolBytes > this.d.limits.spoolBudgetBytes) this.cutLargest();
  }

  private onState(state: unknown, text: string, lineNo: number): void {
    if (!isObject(state)) throw new ConfigError(`Input line ${lineNo}: STATE message without a "state" object.`);
    const kind = (typeof state.type === 'string' ? state.type : 'LEGACY') as StateKind;
    let covered: StreamSink[];
    let key: string | undefined;
    if (kind === 'STREAM') {
      const desc = isObject(state.stream) && isObject(state.stream.stream_descriptor) ? state.stream.stream_descriptor : undefined;
      if (!desc || typeof desc.name !== 'string') {
        throw new ConfigError(`Input line ${lineNo}: STREAM state without stream.stream_descriptor.name.`);
      }
      const sink = this.sinkFor(desc.name, desc.namespace);
      key = sink?.key ?? streamKey(desc.name, typeof desc.namespace === 'string' ? desc.namespace : undefined);
      covered = sink ? [sink] : [];
    } else if (kind === 'GLOBAL' || kind === 'LEGACY') {
      covered = [...this.d.sinks.values()];
    } else {
      throw new ConfigError(`Input line ${lineNo}: STATE of unknown type ${JSON.stringify(state.type)}.`);
    }
    const held = this.d.tracker.onState(text, lineNo, kind, key, this.d.now());
    for (const sink of covered) {
      sink.markBoundary();
      if (sink.due) this.cut(sink, 'size');
    }
    this.heldSinceCut += held.weight;
    this.boundHeldStates();
    this.echoReady();
  }

  /**
   * Held checkpoints count in the memory budget (docs/operations.md): once they reach their share,
   * every file they wait on is cut at its latest state boundary, so that they can be echoed and
   * released. Not again before the states received since weigh half the share: a cut for each
   * state of a batch would make files of a few records each.
   */
  private boundHeldStates(): void {
    const { tracker, limits } = this.d;
    if (tracker.heldBytes <= limits.heldStatesBytes || this.heldSinceCut < limits.heldStatesBytes / 2) return;
    this.heldSinceCut = 0;
    this.finishNeeded(tracker.neededByHeld(), 'states', true);
  }

  private onTrace(trace: unknown): void {
    if (!isObject(trace) || trace.type !== 'STREAM_STATUS' || !isObject(trace.stream_status)) return;
    const status = trace.stream_status;
    const desc = isObject(status.stream_descriptor) ? status.stream_descriptor : undefined;
    if (!desc || typeof desc.name !== 'string') return;
    const sink = this.sinkFor(desc.name, desc.namespace);
    if (!sink || (status.status !== 'COMPLETE' && status.status !== 'INCOMPLETE')) return;
    if (status.status === 'INCOMPLETE') sink.sawIncomplete = true;
    else sink.sawComplete = true;
    // The source is done with this stream: its open file is finished now, whole, and converts
    // while the next streams are read instead of at the end of input (a catalog of tables read
    // one after another).
    this.cut(sink, 'status');
  }

  /**
   * The catalog streams that got no terminal STREAM_STATUS (COMPLETE or INCOMPLETE). At the end
   * of input there must be none, as in Airbyte's bulk CDK: a source that crashed, or a platform
   * that gave up, closes stdin without them, and such a transfer is not complete.
   */
  withoutTerminalStatus(): StreamSink[] {
    return [...this.d.sinks.values()].filter((sink) => !sink.sawComplete && !sink.sawIncomplete);
  }

  /** Detaches a sink's open spool (at `at`, or whole) and hands it to the committer. */
  private cut(sink: StreamSink, reason: CutReason, at?: { bytes: number; records: number }, keepTail = true): void {
    const before = sink.spool?.bytes ?? 0;
    const job = sink.cut(reason, at, keepTail);
    if (!job) return;
    this.openSpoolBytes -= before - (sink.spool?.bytes ?? 0);
    this.d.committer.submit(job);
  }

  private cutLargest(): void {
    let largest: StreamSink | undefined;
    for (const sink of this.d.sinks.values()) {
      if ((sink.spool?.bytes ?? 0) > (largest?.spool?.bytes ?? 0)) largest = sink;
    }
    if (largest) this.cut(largest, 'budget');
  }

  echoReady(): void {
    const ready = this.d.tracker.takeReady();
    if (ready.length) this.d.echo(ready);
    if (ready.length || this.d.committer.failed) this.wakeStateWaiters();
  }

  private wakeStateWaiters(): void {
    for (const w of this.stateWaiters.splice(0)) w();
  }

  /**
   * Timer: the states held flush_interval finish the files they wait on. Only their streams are
   * cut, and only those whose needed records are not already on their way to S3: while a slow
   * upload holds an overdue state, the ticks that follow must not cut the same streams again.
   */
  onTick(): void {
    const overdue = this.d.tracker.neededByHeld(this.d.now() - this.d.limits.flushIntervalMs);
    this.finishNeeded(overdue, 'timer', true);
    // a reader waiting for held states looks again (and notices a failure)
    this.wakeStateWaiters();
  }

  /**
   * Cuts each stream of `need` whose needed records are still in its open spool, at the spool's
   * latest state boundary. The latest, not the first that covers the need: the states received
   * after the overdue ones are overdue a tick later, and a cut at the first boundary would then
   * make one more file of each stream at every tick; at the latest, one file serves every state
   * held so far, so a stream gets at most about one timer cut per flush interval.
   */
  private finishNeeded(need: Map<string, number>, reason: CutReason, keepTail: boolean): void {
    for (const [key, records] of need) {
      const sink = this.d.sinks.get(key);
      if (!sink || sink.submittedRecords >= records) continue;
      const at = sink.boundary;
      if (at) this.cut(sink, reason, at, keepTail);
    }
  }

  /** End of input: every open spool is finished whole. */
  finishAll(): void {
    for (const sink of this.d.sinks.values()) this.cut(sink, 'end');
  }

  /** Failure or SIGTERM: finish what held states wait on, drop unconfirmed tails. */
  finishForExit(): void {
    this.finishNeeded(this.d.tracker.neededByHeld(), 'failure', false);
  }
}
