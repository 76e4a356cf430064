// Which STATE may be echoed, and when (docs/write-path.md, "When a state is echoed"). Pure
// bookkeeping, no I/O: the session tells it what was received and what became durable; it answers
// with the states that are ready, in input order, each exactly once, with
// destinationStats.recordCount (and Airbyte's committed record and byte counts) spliced in. It also
// knows what its held states weigh in memory: the session bounds that (docs/operations.md,
// "Memory").

import { spliceCommittedCounts } from './state-json.js';

/**
 * Memory a held state costs beyond its raw text (counted two bytes a character): the object, and
 * per watermark a Map entry with its key (measured ~60-90 B in V8; rounded up).
 */
const HELD_STATE_OVERHEAD_BYTES = 200;
const WATERMARK_BYTES = 100;

export type StateKind = 'STREAM' | 'GLOBAL' | 'LEGACY';

export interface HeldState {
  raw: string;
  lineNo: number;
  kind: StateKind;
  /** For STREAM: the stream it belongs to. */
  stream: string | undefined;
  /** Records of each stream received before this state: what it waits on. */
  watermarks: Map<string, number>;
  /** For GLOBAL and LEGACY: RECORD bytes of each stream received before this state (for the counts of later STREAM states). */
  byteMarks: Map<string, number> | undefined;
  /** All records, and their bytes, received before this state. */
  totalBefore: number;
  totalBytesBefore: number;
  /** For STREAM: bytes of its stream's records received before it. */
  streamBytesBefore: number;
  receivedAt: number;
  /** What holding it costs in memory (heldBytes). */
  weight: number;
}

export class StateTracker {
  private readonly received = new Map<string, number>();
  private readonly receivedBytes = new Map<string, number>();
  private readonly committed = new Map<string, number>();
  private readonly held: HeldState[] = [];
  private readonly echoedStream = new Map<string, number>();
  private readonly echoedStreamBytes = new Map<string, number>();
  private echoedTotal = 0;
  private echoedTotalBytes = 0;
  private total = 0;
  private totalBytes = 0;
  /** Memory the held states cost (their raw text and watermarks). */
  heldBytes = 0;

  /**
   * Counts a record of `stream` whose RECORD message was `bytes` long as received; returns its
   * 0-based index within the stream.
   */
  onRecord(stream: string, bytes = 0): number {
    const n = this.received.get(stream) ?? 0;
    this.received.set(stream, n + 1);
    this.total += 1;
    if (bytes > 0) {
      this.receivedBytes.set(stream, (this.receivedBytes.get(stream) ?? 0) + bytes);
      this.totalBytes += bytes;
    }
    return n;
  }

  receivedOf(stream: string): number {
    return this.received.get(stream) ?? 0;
  }

  committedOf(stream: string): number {
    return this.committed.get(stream) ?? 0;
  }

  /** Holds a state; a STREAM state waits on its own stream, GLOBAL and LEGACY on every stream. */
  onState(raw: string, lineNo: number, kind: StateKind, stream: string | undefined, now: number): HeldState {
    const watermarks = new Map<string, number>();
    let byteMarks: Map<string, number> | undefined;
    if (kind === 'STREAM') {
      if (stream !== undefined) watermarks.set(stream, this.receivedOf(stream));
    } else {
      for (const [s, n] of this.received) watermarks.set(s, n);
      byteMarks = new Map(this.receivedBytes);
    }
    const weight = HELD_STATE_OVERHEAD_BYTES + 2 * raw.length + WATERMARK_BYTES * (watermarks.size + (byteMarks?.size ?? 0));
    const state: HeldState = {
      raw,
      lineNo,
      kind,
      stream,
      watermarks,
      byteMarks,
      totalBefore: this.total,
      totalBytesBefore: this.totalBytes,
      streamBytesBefore: stream === undefined ? 0 : (this.receivedBytes.get(stream) ?? 0),
      receivedAt: now,
      weight,
    };
    this.held.push(state);
    this.heldBytes += weight;
    return state;
  }

  /** Records of `stream` up to `count` are now in manifest-listed objects. */
  onCommitted(stream: string, count: number): void {
    if (count < this.committedOf(stream)) throw new Error(`committed count of ${stream} went backwards`);
    this.committed.set(stream, count);
  }

  /** Whether every record `state` covers is durable. */
  isCovered(state: HeldState): boolean {
    for (const [s, n] of state.watermarks) if (this.committedOf(s) < n) return false;
    return true;
  }

  /** Removes and returns the states that may be echoed now, in input order, ready to print. */
  takeReady(): string[] {
    const ready: string[] = [];
    while (this.held.length > 0 && this.isCovered(this.held[0]!)) {
      const state = this.held.shift()!;
      this.heldBytes -= state.weight;
      ready.push(spliceCommittedCounts(state.raw, this.countSincePrevious(state)));
    }
    return ready;
  }

  /**
   * Records (and their bytes) since the previous echoed state that counts for the same thing: a
   * STREAM state counts its stream's records since that stream's previous echoed state, a GLOBAL
   * or LEGACY state every record since the previous such state.
   */
  private countSincePrevious(state: HeldState): { records: number; bytes: number } {
    if (state.kind === 'STREAM') {
      if (state.stream === undefined) return { records: 0, bytes: 0 };
      const mark = state.watermarks.get(state.stream) ?? 0;
      const records = mark - (this.echoedStream.get(state.stream) ?? 0);
      const bytes = state.streamBytesBefore - (this.echoedStreamBytes.get(state.stream) ?? 0);
      this.echoedStream.set(state.stream, mark);
      this.echoedStreamBytes.set(state.stream, state.streamBytesBefore);
      return { records, bytes };
    }
    const records = state.totalBefore - this.echoedTotal;
    const bytes = state.totalBytesBefore - this.echoedTotalBytes;
    this.echoedTotal = state.totalBefore;
    this.echoedTotalBytes = state.totalBytesBefore;
    // A GLOBAL state covers every stream: later STREAM states count from here.
    for (const [s, n] of state.watermarks) this.echoedStream.set(s, n);
    for (const [s, n] of state.byteMarks ?? []) this.echoedStreamBytes.set(s, n);
    return { records, bytes };
  }

  /** The states still held, oldest first. */
  get pending(): readonly HeldState[] {
    return this.held;
  }

  /**
   * For each stream, the highest watermark beyond what is committed that a held state waits on:
   * of every held state, or only of those received at or before `receivedBy` (the overdue ones).
   */
  neededByHeld(receivedBy = Number.POSITIVE_INFINITY): Map<string, number> {
    const need = new Map<string, number>();
    for (const state of this.held) {
      if (state.receivedAt > receivedBy) continue;
      for (const [s, n] of state.watermarks) {
        if (n > this.committedOf(s) && n > (need.get(s) ?? 0)) need.set(s, n);
      }
    }
    return need;
  }
}
