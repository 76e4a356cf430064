// The fast path for RECORD lines (docs/architecture.md, "1. The record scanner"; docs/types.md,
// "Exactness"): validates a line as strict JSON on its bytes and picks out what routing needs
// (stream, namespace, whether `data` is an object and `emitted_at` a number), without building
// any JS value. JSON.parse of every record cost more than everything else the connector does in
// JS; this scan costs a fraction of it, and DuckDB parses the values later from the same bytes.
//
// The scan accepts exactly what JSON.parse accepts (the same grammar: no trailing commas, no NaN,
// no comments, no control characters in strings; duplicate keys: the last one wins), and
// answers only for the one shape it knows: an object whose "type" is "RECORD" and whose "record"
// is an object with a string "stream", an object "data" and a number "emitted_at". For anything
// else (another message type, a malformed line, a RECORD missing a field) it answers undefined
// and the caller takes the general path (JSON.parse), which reports the problem as before.
// UTF-8 validity is the line reader's check; the scan treats bytes >= 0x80 as string content.
//
// On the way it notes, at no cost for ordinary lines, what DuckDB would read wrongly or not at all
// (lone surrogate escapes, numbers a double cannot hold exactly, duplicate envelope members):
// such a line is rewritten before it is spooled (record-rewrite.ts).
//
// A scanner is an instance (createRecordScanner), made once per `write` from the configured
// catalog: it owns all its scratch state (the JSON skipper's notes and stack, the name cache, the
// spool line's buffer), so two scanners never share any. Its answer for a RECORD is the encoded
// spool line (src/formats/spool-line.ts: verdict, extracted-at, the JSON) and the extracted-at the
// converter will write for it (docs/architecture.md, "The record scanner").

import { encodeSpoolLine } from '../formats/spool-line.js';
import { BACKSLASH, COLON, COMMA, isDigit, JsonSkipper, LBRACE, MINUS, QUOTE, RBRACE, skipSpace } from './json-skip.js';
import { rewriteRecordLine } from './record-rewrite.js';

/** A catalog stream as the scanner knows it. */
export interface ScannerStream {
  name: string;
  namespace?: string | undefined;
  jsonSchema: unknown;
}

export interface ScannedRecord {
  stream: string;
  namespace: string | undefined;
  /** The encoded spool line (without '\n'): valid until the next scan() call; the spool copies it. */
  spoolLine: Buffer;
  /** Exactly what the converter will write as _airbyte_extracted_at for this record, epoch ms. */
  extractedAtMs: number;
}

export interface RecordScanner {
  /** undefined: not a RECORD the scanner takes; the pipeline parses the line and reports it. */
  scan(line: Buffer): ScannedRecord | undefined;
}

export interface RecordScannerOptions {
  /** The clock for records whose emitted_at is not a usable time (epoch ms); default Date.now. */
  now?: () => number;
}

/** What the scan of one line found, before it is encoded as a spool line. */
export interface RecordFacts {
  stream: string;
  /** The record's namespace when it is a string. */
  namespace: string | undefined;
  /** The JSON to spool: the line itself, or its rewrite when DuckDB needs one (rare). */
  line: Buffer;
  /** The record holds a number an integer column must not take (record-rewrite.ts). */
  inexact: boolean;
  extractedAtMs: number;
}

/** The extracted_at range JS Date can represent (±8.64e15 ms); emitted_at beyond it is not a time. */
export const MAX_EXTRACTED_AT_MS = 8_640_000_000_000_000;

/** The text of the JSON string spanning [start, end) (quotes included). */
function stringValue(b: Buffer, start: number, end: number): string {
  for (let k = start + 1; k < end - 1; k++) if (b[k] === BACKSLASH) return JSON.parse(b.toString('utf8', start, end)) as string;
  return b.toString('utf8', start + 1, end - 1);
}

/** Whether the JSON string spanning [start, end) (a key) is `name` (ASCII). */
function keyIs(b: Buffer, start: number, end: number, name: string): boolean {
  const n = name.length;
  if (end - start === n + 2) {
    for (let k = 0; k < n; k++) if (b[start + 1 + k] !== name.charCodeAt(k)) return false;
    return true;
  }
  // Only an escaped spelling can be longer (e.g. "typ\u0065").
  return end - start > n + 2 && stringValue(b, start, end) === name;
}

/**
 * The epoch ms of an emitted_at number token [start, end), read as the conversion always has
 * (DuckDB's text-to-BIGINT cast: a fraction rounds half away from zero); undefined when it is no
 * time JS can represent (the scanner's clock is used then).
 */
export function emittedAtMs(b: Buffer, start: number, end: number): number | undefined {
  const token = b.toString('latin1', start, end);
  let value: number;
  const m = /^(-?)([0-9]+)(?:\.([0-9]+))?$/.exec(token);
  if (m) {
    // Decimal rounding on the digits (as DuckDB's cast), not on a double.
    value = Number(m[2]) + (m[3] !== undefined && m[3].charCodeAt(0) >= 0x35 /* 5 */ ? 1 : 0);
    if (m[1] === '-') value = -value;
  } else {
    const d = Number(token);
    value = Math.sign(d) * Math.round(Math.abs(d));
  }
  if (!Number.isFinite(value) || Math.abs(value) > MAX_EXTRACTED_AT_MS) return undefined;
  return value === 0 ? 0 : value;
}

/** What the scan found in a "record" object (the last of each member wins, as in JSON.parse). */
interface RecordScan {
  stream: string | undefined;
  namespace: string | undefined;
  dataIsObject: boolean;
  /** [start, end) of emitted_at's value when it is a number, else -1. */
  emittedAtStart: number;
  emittedAtEnd: number;
}

const STREAM = 1;
const DATA = 2;
const EMITTED_AT = 3;
const NAMESPACE = 4;
const META = 5;

const MEMBER_KINDS: readonly (readonly [string, number])[] = [
  ['stream', STREAM],
  ['data', DATA],
  ['emitted_at', EMITTED_AT],
  ['namespace', NAMESPACE],
  ['meta', META],
];

function recordMemberKind(b: Buffer, keyStart: number, keyEnd: number): number {
  // Plain spellings by the key's length first (quotes included).
  const n = keyEnd - keyStart;
  if (n === 6 && b[keyStart + 1] === 0x64 /* d */ && keyIs(b, keyStart, keyEnd, 'data')) return DATA;
  if (n === 12 && keyIs(b, keyStart, keyEnd, 'emitted_at')) return EMITTED_AT;
  if (n === 8 && keyIs(b, keyStart, keyEnd, 'stream')) return STREAM;
  if (n === 11 && keyIs(b, keyStart, keyEnd, 'namespace')) return NAMESPACE;
  if (n === 6 && keyIs(b, keyStart, keyEnd, 'meta')) return META;
  // An escaped spelling is longer than its name (e.g. "d\u0061ta"), and holds a backslash.
  if (n > 6) {
    let escaped = false;
    for (let k = keyStart + 1; k < keyEnd - 1 && !escaped; k++) escaped = b[k] === BACKSLASH;
    if (escaped) for (const [name, kind] of MEMBER_KINDS) if (keyIs(b, keyStart, keyEnd, name)) return kind;
  }
  return 0;
}

/**
 * Stream names and namespaces seen lately, by their bytes: every record names its stream, and a
 * sync has few, so decoding each name once spares a string per record.
 */
const NAME_CACHE_SIZE = 64;

class LineScanner implements RecordScanner {
  private readonly skip = new JsonSkipper();
  private readonly now: () => number;
  /** [start, end) of envelope members to drop: earlier duplicates of what DuckDB reads (flat pairs). */
  private readonly droppedMembers: number[] = [];
  /**
   * [start, end) of the last data, emitted_at and meta members of a "record", by kind (DuckDB
   * reads the first of duplicates, the scan the last: earlier ones are dropped from the spooled line).
   */
  private readonly memberSpans = new Int32Array(2 * (META + 1));
  private readonly cachedBytes: Buffer[] = [];
  private readonly cachedText: string[] = [];
  private cacheNext = 0;
  /** The spool line is built here (and handed out as a view until the next scan). */
  private scratch: Buffer = Buffer.alloc(0);

  constructor(options: RecordScannerOptions) {
    this.now = options.now ?? Date.now;
  }

  scan(b: Buffer): ScannedRecord | undefined {
    const facts = this.scanLine(b);
    if (!facts) return undefined;
    const encoded = encodeSpoolLine(facts.inexact ? 'inexact' : 'doubtful', facts.extractedAtMs, facts.line, this.scratch);
    this.scratch = encoded.scratch;
    return { stream: facts.stream, namespace: facts.namespace, spoolLine: encoded.line, extractedAtMs: facts.extractedAtMs };
  }

  private cachedStringValue(b: Buffer, start: number, end: number): string {
    const n = end - start;
    const { cachedBytes, cachedText } = this;
    for (let c = 0; c < cachedBytes.length; c++) {
      const known = cachedBytes[c]!;
      if (known.length !== n) continue;
      let k = 0;
      while (k < n && known[k] === b[start + k]) k++;
      if (k === n) return cachedText[c]!;
    }
    const text = stringValue(b, start, end);
    const slot = this.cacheNext;
    this.cacheNext = (this.cacheNext + 1) % NAME_CACHE_SIZE;
    cachedBytes[slot] = Buffer.from(b.subarray(start, end));
    cachedText[slot] = text;
    return text;
  }

  /**
   * `i` at a '{': scans the members of a "record" object into `scan`, validating every value.
   * Returns the index past the object, or -1.
   */
  private scanRecordObject(b: Buffer, i: number, end: number, scan: RecordScan): number {
    const skip = this.skip;
    i = skipSpace(b, i + 1, end);
    if (i < end && b[i] === RBRACE) return i + 1;
    const spans = this.memberSpans;
    let seen = 0; // the kinds of member seen so far, as bits
    for (;;) {
      if (i >= end || b[i] !== QUOTE) return -1;
      const keyStart = i;
      i = skip.skipString(b, i, end);
      if (i < 0) return -1;
      const keyEnd = i;
      i = skipSpace(b, i, end);
      if (i >= end || b[i] !== COLON) return -1;
      const vs = skipSpace(b, i + 1, end);
      const kind = recordMemberKind(b, keyStart, keyEnd);
      if (kind === DATA) {
        skip.inData = true;
        i = skip.skipValue(b, vs, end);
        skip.inData = false;
      } else {
        i = skip.skipValue(b, vs, end);
      }
      if (i < 0) return -1;
      const c = b[vs]!;
      if (kind === STREAM) scan.stream = c === QUOTE ? this.cachedStringValue(b, vs, i) : undefined;
      else if (kind === DATA) scan.dataIsObject = c === LBRACE;
      else if (kind === EMITTED_AT) {
        const isNumber = c === MINUS || isDigit(c);
        scan.emittedAtStart = isNumber ? vs : -1;
        scan.emittedAtEnd = isNumber ? i : -1;
      } else if (kind === NAMESPACE) scan.namespace = c === QUOTE ? this.cachedStringValue(b, vs, i) : undefined;
      if (kind === DATA || kind === EMITTED_AT || kind === META) {
        if (seen & (1 << kind)) this.droppedMembers.push(spans[2 * kind]!, spans[2 * kind + 1]!);
        seen |= 1 << kind;
        spans[2 * kind] = keyStart;
      }
      i = skipSpace(b, i, end);
      if (i >= end) return -1;
      if (b[i] === RBRACE) return i + 1;
      if (b[i] !== COMMA) return -1;
      i = skipSpace(b, i + 1, end);
      if (kind === DATA || kind === EMITTED_AT || kind === META) spans[2 * kind + 1] = i;
    }
  }

  /**
   * Scans one input line (without its line ending). Returns the record's facts when the line is a
   * well-formed RECORD message the fast path can take; undefined otherwise (the caller then uses
   * JSON.parse and its own checks).
   */
  scanLine(b: Buffer): RecordFacts | undefined {
    const skip = this.skip;
    const droppedMembers = this.droppedMembers;
    const end = b.length;
    let i = skipSpace(b, 0, end);
    if (i >= end || b[i] !== LBRACE) return undefined;
    // (Cleared only when used: setting an array's length is not free, and most lines leave them empty.)
    if (skip.numbers.length > 0) skip.numbers.length = 0;
    if (droppedMembers.length > 0) droppedMembers.length = 0;
    skip.loneSurrogate = false;
    let isRecord = false;
    let record: RecordScan | undefined;
    // [start, end) of the last "record" member (DuckDB reads the first of duplicates).
    let recordStart = -1;
    let recordEnd = -1;
    i = skipSpace(b, i + 1, end);
    if (i < end && b[i] === RBRACE) return undefined;
    for (;;) {
      if (i >= end || b[i] !== QUOTE) return undefined;
      const keyStart = i;
      i = skip.skipString(b, i, end);
      if (i < 0) return undefined;
      const keyEnd = i;
      i = skipSpace(b, i, end);
      if (i >= end || b[i] !== COLON) return undefined;
      const vs = skipSpace(b, i + 1, end);
      const isRecordKey = keyIs(b, keyStart, keyEnd, 'record');
      if (isRecordKey) {
        if (recordStart >= 0) droppedMembers.push(recordStart, recordEnd);
        recordStart = keyStart;
        // Scanned member by member (and so validated once); the last "record" wins.
        if (vs < end && b[vs] === LBRACE) {
          record = { stream: undefined, namespace: undefined, dataIsObject: false, emittedAtStart: -1, emittedAtEnd: -1 };
          i = this.scanRecordObject(b, vs, end, record);
        } else {
          record = undefined;
          i = skip.skipValue(b, vs, end);
        }
      } else {
        i = skip.skipValue(b, vs, end);
        if (i >= 0 && keyIs(b, keyStart, keyEnd, 'type')) isRecord = b[vs] === QUOTE && stringValue(b, vs, i) === 'RECORD';
      }
      if (i < 0) return undefined;
      i = skipSpace(b, i, end);
      if (i >= end) return undefined;
      if (b[i] === RBRACE) break;
      if (b[i] !== COMMA) return undefined;
      i = skipSpace(b, i + 1, end);
      if (isRecordKey) recordEnd = i;
    }
    if (skipSpace(b, i + 1, end) !== end) return undefined;
    if (!isRecord || record === undefined) return undefined;
    if (record.stream === undefined || !record.dataIsObject || record.emittedAtStart < 0) return undefined;
    const extractedAtMs = emittedAtMs(b, record.emittedAtStart, record.emittedAtEnd) ?? this.clock();
    const rewrite = skip.loneSurrogate || skip.numbers.length > 0 || droppedMembers.length > 0;
    if (!rewrite) return { stream: record.stream, namespace: record.namespace, line: b, inexact: false, extractedAtMs };
    const { line, inexact } = rewriteRecordLine(b, { loneSurrogate: skip.loneSurrogate, numbers: skip.numbers, drops: droppedMembers });
    return { stream: record.stream, namespace: record.namespace, line, inexact, extractedAtMs };
  }

  /** The fallback clock, within what JS Date represents. */
  private clock(): number {
    return Math.min(Math.max(Math.trunc(this.now()), -MAX_EXTRACTED_AT_MS), MAX_EXTRACTED_AT_MS);
  }
}

/** The record scanner of one `write`, for the streams of its configured catalog. */
export function createRecordScanner(
  streams: readonly ScannerStream[],
  options: RecordScannerOptions = {},
): RecordScanner & { scanLine(b: Buffer): RecordFacts | undefined } {
  void streams; // the stream schemas are for the typed fast lane's verdict (issue 12)
  return new LineScanner(options);
}

/** One line's facts with a scanner of its own (tests and tools; the session keeps one scanner). */
export function scanRecordLine(b: Buffer): RecordFacts | undefined {
  return new LineScanner({}).scanLine(b);
}

/**
 * The spool line for a line (tests and tools that build spools): its encoding when it is a RECORD
 * the scanner takes, else the line itself (which the converter rejects).
 */
export function recordLineToSpool(b: Buffer, options: RecordScannerOptions = {}): Buffer {
  const scanned = new LineScanner(options).scan(b);
  return scanned ? Buffer.from(scanned.spoolLine) : b;
}
