// Progress as LOG messages: what each stream has received (records and bytes, counted as they
// arrive) beside what is committed (in files listed by its manifest), and a final summary per
// stream. Committed bytes alone would read 0.0 MB for minutes while a stream fills a large file.
// Pure formatting; the write command decides when to print.

import type { StreamSink } from './sink.js';
import type { StateTracker } from './states.js';

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function files(n: number): string {
  return `${n} ${n === 1 ? 'file' : 'files'}`;
}

function line(sink: StreamSink, tracker: StateTracker): string {
  const committedBytes = sink.files.reduce((n, f) => n + f.bytes, 0);
  return (
    `${sink.model}: ${tracker.receivedOf(sink.key)} records (${mb(sink.receivedBytes)}) received, ` +
    `${sink.committedRecords} committed in ${files(sink.files.length)} (${mb(committedBytes)})`
  );
}

/** One line per stream that has received anything; undefined when nothing happened yet. */
export function progressReport(sinks: Iterable<StreamSink>, tracker: StateTracker, heldStates: number): string | undefined {
  const active = [...sinks].filter((s) => tracker.receivedOf(s.key) > 0);
  if (active.length === 0) return undefined;
  return `Progress: ${active.map((s) => line(s, tracker)).join('; ')}; ${heldStates} ${heldStates === 1 ? 'state' : 'states'} held`;
}

/** The final summary, one line per catalog stream, with what its manifest says in the end. */
export function finalSummary(sinks: Iterable<StreamSink>, tracker: StateTracker, manifestStatus: (s: StreamSink) => string): string[] {
  return [...sinks].map((s) => `Stream ${line(s, tracker)}; manifest ${manifestStatus(s)}`);
}
