// Progress as LOG messages: what each stream has received and committed so far, and a final
// summary per stream. Pure formatting; the write command decides when to print.

import type { StreamSink } from './sink.js';
import type { StateTracker } from './states.js';

function mb(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(1);
}

function line(sink: StreamSink, tracker: StateTracker): string {
  const bytes = sink.files.reduce((n, f) => n + f.bytes, 0);
  return `${sink.model}: ${tracker.receivedOf(sink.key)} records received, ${sink.committedRecords} committed in ${sink.files.length} files (${mb(bytes)} MB)`;
}

/** One line per stream that has received anything; undefined when nothing happened yet. */
export function progressReport(sinks: Iterable<StreamSink>, tracker: StateTracker, heldStates: number): string | undefined {
  const active = [...sinks].filter((s) => tracker.receivedOf(s.key) > 0);
  if (active.length === 0) return undefined;
  return `Progress: ${active.map((s) => line(s, tracker)).join('; ')}; ${heldStates} states held`;
}

/** The final summary, one line per catalog stream. */
export function finalSummary(sinks: Iterable<StreamSink>, tracker: StateTracker, status: (s: StreamSink) => string): string[] {
  return [...sinks].map((s) => `Stream ${line(s, tracker)}; manifest status ${status(s)}`);
}
