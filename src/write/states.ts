// Which STATE may be echoed, and when (DESIGN §5.1). Pure bookkeeping, no I/O: the session tells
// it what was received and what became durable; it answers with the states that are ready, in
// input order, each exactly once, with destinationStats.recordCount spliced in.

import { spliceRecordCount } from './state-json.js';

export type StateKind = 'STREAM' | 'GLOBAL' | 'LEGACY';

export interface HeldState {
  raw: string;
  lineNo: number;
  kind: StateKind;
  /** For STREAM: the stream it belongs to. */
  stream: string | undefined;
  /** Records of each stream received before this state: what it waits on. */
  watermarks: Map<string, number>;
  /** All records received before this state. */
  totalBefore: number;
  receivedAt: number;
}

export class StateTracker {
  private readonly received = new Map<string, number>();
  private readonly committed = new Map<string, number>();
  private readonly held: HeldState[] = [];
  private readonly echoedStream = new Map<string, number>();
  private echoedTotal = 0;
  private total = 0;

  /** Counts a record of `stream`; returns its 0-based index within the stream. */
  onRecord(stream: string): number {
    const n = this.received.get(stream) ?? 0;
    this.received.set(stream, n + 1);
    this.total += 1;
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
    if (kind === 'STREAM') {
      if (stream !== undefined) watermarks.set(stream, this.receivedOf(stream));
    } else {
      for (const [s, n] of this.received) watermarks.set(s, n);
    }
    const state: HeldState = { raw, lineNo, kind, stream, watermarks, totalBefore: this.total, receivedAt: now };
    this.held.push(state);
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
      ready.push(spliceRecordCount(state.raw, this.countSincePrevious(state)));
    }
    return ready;
  }

  private countSincePrevious(state: HeldState): number {
    if (state.kind === 'STREAM') {
      if (state.stream === undefined) return 0;
      const mark = state.watermarks.get(state.stream) ?? 0;
      const count = mark - (this.echoedStream.get(state.stream) ?? 0);
      this.echoedStream.set(state.stream, mark);
      return count;
    }
    const count = state.totalBefore - this.echoedTotal;
    this.echoedTotal = state.totalBefore;
    // A GLOBAL state covers every stream: later STREAM states count from here.
    for (const [s, n] of state.watermarks) this.echoedStream.set(s, n);
    return count;
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
