// A seeded multi-stream sync for the reliability tests: interleaved RECORDs with ids 0, 1, … per
// stream and hard-to-compress payloads (so that small files are cut often), STREAM and GLOBAL
// states each carrying a unique cursor token, and for each state the records it covers. An
// echoed state can then be checked against what the bucket holds.

import { seeded } from './fault-proxy.js';
import { catalog, DEFAULT_PROPERTIES, recordLine, streamStatusLine } from './messages.js';

export interface StateInfo {
  token: string;
  /** 1-based input line. */
  line: number;
  kind: 'STREAM' | 'GLOBAL';
  /** Records of each stream sent before this state that it covers (ids 0 … n-1). */
  covers: Map<string, number>;
}

export interface Workload {
  streams: string[];
  lines: string[];
  /** States in input order. */
  states: StateInfo[];
  /** Records sent per stream. */
  sent: Map<string, number>;
  /** The whole input, newline-terminated. */
  text(): string;
}

export interface WorkloadOptions {
  streams: string[];
  recordsPerStream: number;
  /** Characters of random hex per record. */
  payloadChars: number;
  /** A STREAM state after about this many records of its stream. */
  stateEvery: number;
  /** One GLOBAL state after about this many records in all (0: none). */
  globalEvery?: number;
  seed?: number;
  /** Prefix of the state tokens (default "st-"). */
  tokenPrefix?: string;
}

export const WORKLOAD_PROPERTIES = DEFAULT_PROPERTIES;

export function workloadCatalog(streams: readonly string[]): Record<string, unknown> {
  return catalog(streams.map((name) => ({ name, primaryKey: [['id']] })));
}

/** A seeded random hex pool; payloads are slices of it (far apart, so Snappy finds no repeats). */
function hexPool(random: () => number, chars: number): string {
  const digits = '0123456789abcdef';
  const out: string[] = new Array(chars);
  for (let i = 0; i < chars; i++) out[i] = digits[Math.floor(random() * 16)]!;
  return out.join('');
}

export function stateToken(message: Record<string, any>): string | undefined {
  const s = message.state;
  return s?.stream?.stream_state?.cursor ?? s?.global?.shared_state?.cursor;
}

export function makeWorkload(o: WorkloadOptions): Workload {
  const random = seeded(o.seed ?? 7);
  const pool = hexPool(random, 1 << 20);
  const lines: string[] = [];
  const states: StateInfo[] = [];
  const sent = new Map(o.streams.map((s) => [s, 0]));
  const sinceState = new Map(o.streams.map((s) => [s, 0]));
  let sinceGlobal = 0;
  let remaining = o.streams.length * o.recordsPerStream;
  const addState = (kind: 'STREAM' | 'GLOBAL', stream?: string): void => {
    const token = `${o.tokenPrefix ?? 'st-'}${states.length}`;
    const covers = kind === 'STREAM' ? new Map([[stream!, sent.get(stream!)!]]) : new Map(sent);
    const state =
      kind === 'STREAM'
        ? { type: 'STREAM', stream: { stream_descriptor: { name: stream }, stream_state: { cursor: token } } }
        : { type: 'GLOBAL', global: { shared_state: { cursor: token }, stream_states: [] } };
    lines.push(JSON.stringify({ type: 'STATE', state }));
    states.push({ token, line: lines.length, kind, covers });
  };
  while (remaining > 0) {
    const open = o.streams.filter((s) => sent.get(s)! < o.recordsPerStream);
    const stream = open[Math.floor(random() * open.length)]!;
    const id = sent.get(stream)!;
    const at = Math.floor(random() * (pool.length - o.payloadChars));
    lines.push(
      recordLine(
        stream,
        { id, name: pool.slice(at, at + o.payloadChars), updated_at: '2024-05-01T10:00:00.123456Z' },
        1_700_000_000_000 + lines.length,
      ),
    );
    sent.set(stream, id + 1);
    remaining--;
    sinceState.set(stream, sinceState.get(stream)! + 1);
    if (sinceState.get(stream)! >= o.stateEvery || id + 1 === o.recordsPerStream) {
      sinceState.set(stream, 0);
      addState('STREAM', stream);
    }
    // the source is done with the stream: its terminal status (the end of input needs one per stream)
    if (id + 1 === o.recordsPerStream) lines.push(streamStatusLine(stream, 'COMPLETE'));
    if (o.globalEvery && ++sinceGlobal >= o.globalEvery) {
      sinceGlobal = 0;
      addState('GLOBAL');
    }
  }
  return { streams: o.streams, lines, states, sent, text: () => lines.join('\n') + '\n' };
}

/**
 * The destinationStats.recordCount each state should be echoed with (docs/write-path.md): a
 * STREAM state counts its stream's records since the previous echoed state of that stream; a
 * GLOBAL state counts every record since the previous GLOBAL state, and later STREAM states count
 * from it.
 */
export function expectedRecordCounts(work: Workload): Map<string, number> {
  const counts = new Map<string, number>();
  const mark = new Map<string, number>();
  let globalMark = 0;
  for (const s of work.states) {
    if (s.kind === 'STREAM') {
      const [stream, n] = [...s.covers][0]!;
      counts.set(s.token, n - (mark.get(stream) ?? 0));
      mark.set(stream, n);
    } else {
      const total = [...s.covers.values()].reduce((a, b) => a + b, 0);
      counts.set(s.token, total - globalMark);
      globalMark = total;
      for (const [stream, n] of s.covers) mark.set(stream, n);
    }
  }
  return counts;
}

/** One input after another (give each its own tokenPrefix, so that state tokens stay unique). */
export function concatWorkloads(...parts: Workload[]): Workload {
  const lines: string[] = [];
  const states: StateInfo[] = [];
  const sent = new Map<string, number>();
  for (const part of parts) {
    const offset = lines.length;
    lines.push(...part.lines);
    states.push(...part.states.map((s) => ({ ...s, line: s.line + offset })));
    for (const [s, n] of part.sent) sent.set(s, (sent.get(s) ?? 0) + n);
  }
  return { streams: [...new Set(parts.flatMap((p) => p.streams))], lines, states, sent, text: () => lines.join('\n') + '\n' };
}
