// The spool line: what the record scanner (src/protocol/record-scan.ts) spools for one RECORD,
// and how DuckDB reads it back (docs/architecture.md, "The spool line"). One module holds the
// codec: the encoder, the decoder (for tests and tools) and the SQL that reads a spool.
//
//   <verdict> 0x01 <extracted-at, epoch ms, decimal> 0x01 <the RECORD line's JSON bytes>
//
// - verdict: one ASCII letter, the scanner's word on the record (VERDICT_CODES): today
//   'd' (doubtful: the careful conversion) or 'i' (doubtful, and the record holds a number that is
//   not an integer but whose nearest double is one, which integer columns must not take;
//   record-rewrite.ts). This replaces the '{\t' mark lines carried before.
// - extracted-at: what the converter writes as _airbyte_extracted_at, decided by the scanner
//   (the record's emitted_at, or the scanner's clock when that is unusable), so that the pipeline's
//   extracted-at ranges and the files agree without reading the files back.
// - the JSON bytes: the RECORD message as received, or its rewrite (record-rewrite.ts).
//
// 0x01 cannot occur in valid JSON text (control characters must be escaped inside strings and are
// not white space), so DuckDB's CSV reader with 0x01 as the delimiter and no quoting splits a line
// into exactly these three fields, with buffers sized to the longest line. (read_json_objects would
// parse each line once more to find its end and holds ~40 MiB per thread whatever the lines'
// length; the CSV reader splits the same lines as fast: one conversion on 2 threads, ~40 MiB less
// peak RSS, same time.)

import { quoteLiteral } from './schema.js';

export type Verdict = 'doubtful' | 'inexact';

const VERDICT_CODES: Record<Verdict, number> = { doubtful: 0x64 /* d */, inexact: 0x69 /* i */ };
const SEPARATOR = 0x01;
/** The longest header: a verdict, two separators and the longest extracted-at ("-8640000000000000"). */
export const MAX_HEADER_BYTES = 20;

/** SQL: true when the spooled line (its verdict column `__v`) holds an inexact number. */
export const INEXACT_VERDICT_SQL = `(__v = 'i')`;

/**
 * Writes the spool line of a record into `scratch` (grown when too small) and returns the line
 * (a view of the scratch buffer) and the buffer to reuse next time.
 */
export function encodeSpoolLine(verdict: Verdict, extractedAtMs: number, json: Uint8Array, scratch: Buffer): { line: Buffer; scratch: Buffer } {
  const needed = MAX_HEADER_BYTES + json.length;
  if (scratch.length < needed) scratch = Buffer.allocUnsafe(Math.max(needed, 2 * scratch.length, 4096));
  scratch[0] = VERDICT_CODES[verdict];
  scratch[1] = SEPARATOR;
  let at = 2 + scratch.write(String(Math.trunc(extractedAtMs)), 2, 'latin1');
  scratch[at++] = SEPARATOR;
  scratch.set(json, at);
  return { line: scratch.subarray(0, at + json.length), scratch };
}

/** The spool line of a record, in a buffer of its own. */
export function spoolLineOf(verdict: Verdict, extractedAtMs: number, json: Uint8Array): Buffer {
  return Buffer.from(encodeSpoolLine(verdict, extractedAtMs, json, Buffer.alloc(0)).line);
}

export interface DecodedSpoolLine {
  verdict: Verdict;
  extractedAtMs: number;
  /** The RECORD message's JSON bytes (a view of the line). */
  json: Buffer;
}

/** Reads a spool line (without its '\n'); throws when it is not one. */
export function decodeSpoolLine(line: Buffer): DecodedSpoolLine {
  const first = line.indexOf(SEPARATOR);
  const second = first < 0 ? -1 : line.indexOf(SEPARATOR, first + 1);
  const verdict = (Object.keys(VERDICT_CODES) as Verdict[]).find((v) => VERDICT_CODES[v] === line[0]);
  const ms = second > first + 1 ? line.toString('latin1', first + 1, second) : '';
  if (first !== 1 || verdict === undefined || !/^-?[0-9]+$/.test(ms)) throw new Error('Not a spool line.');
  return { verdict, extractedAtMs: Number(ms), json: line.subarray(second + 1) };
}

const MiB = 1024 * 1024;
/** Room for the line ending in the reader's line size. */
const LINE_END_SLACK_BYTES = 16;
/** The reader's buffer beyond the longest line: lines are read a buffer at a time. */
const BUFFER_SLACK_BYTES = MiB;

/**
 * A FROM item reading the spool at `path`, whose longest line is at most `maxLineBytes` bytes:
 * one row per line, with `__v` (the verdict's letter), `__x` (extracted-at, epoch ms, BIGINT) and
 * `__j` (the RECORD message, JSON).
 */
export function spoolLinesSource(path: string, maxLineBytes: number): string {
  // DuckDB counts a line's ending into its size.
  const maxLine = Math.max(1, Math.floor(maxLineBytes)) + LINE_END_SLACK_BYTES;
  const csv =
    `read_csv(${quoteLiteral(path)}, columns = {'__v': 'VARCHAR', '__x': 'BIGINT', '__t': 'VARCHAR'}, header = false, auto_detect = false, ` +
    `delim = chr(1), quote = '', escape = '', new_line = '\\n', max_line_size = ${maxLine}, buffer_size = ${maxLine + BUFFER_SLACK_BYTES})`;
  return `(SELECT __v, __x, CAST(__t AS JSON) AS __j FROM ${csv}) AS __lines`;
}
