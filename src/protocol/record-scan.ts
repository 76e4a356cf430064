// The fast path for RECORD lines (DESIGN §5.5, §5.6): validates a line as strict JSON on its bytes
// and picks out what routing needs (stream, namespace, whether `data` is an object and
// `emitted_at` a number), without building any JS value. JSON.parse of every record cost more
// than everything else the connector does in JS; this scan costs a fraction of it, and DuckDB
// parses the values later from the same bytes.
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
// such a line is rewritten before it is spooled (record-rewrite.ts), and `line` of the answer is
// what to spool.

import { BACKSLASH, COLON, COMMA, isDigit, LBRACE, MINUS, notes, QUOTE, RBRACE, skipSpace, skipString, skipValue } from './json-skip.js';
import { rewriteRecordLine } from './record-rewrite.js';

/** [start, end) of envelope members to drop: earlier duplicates of what DuckDB reads (flat pairs). */
const droppedMembers: number[] = [];

export interface RecordFacts {
  stream: string;
  /** The record's namespace when it is a string. */
  namespace: string | undefined;
  /** The bytes to spool: the line itself, or its rewrite when DuckDB needs one (rare). */
  line: Buffer;
}

/** The text of the JSON string spanning [start, end) (quotes included). */
function stringValue(b: Buffer, start: number, end: number): string {
  for (let k = start + 1; k < end - 1; k++) if (b[k] === BACKSLASH) return JSON.parse(b.toString('utf8', start, end)) as string;
  return b.toString('utf8', start + 1, end - 1);
}

/**
 * Stream names and namespaces seen lately, by their bytes: every record names its stream, and a
 * sync has few, so decoding each name once spares a string per record.
 */
const NAME_CACHE_SIZE = 64;
const cachedBytes: Buffer[] = [];
const cachedText: string[] = [];
let cacheNext = 0;

function cachedStringValue(b: Buffer, start: number, end: number): string {
  const n = end - start;
  for (let c = 0; c < cachedBytes.length; c++) {
    const known = cachedBytes[c]!;
    if (known.length !== n) continue;
    let k = 0;
    while (k < n && known[k] === b[start + k]) k++;
    if (k === n) return cachedText[c]!;
  }
  const text = stringValue(b, start, end);
  const slot = cacheNext;
  cacheNext = (cacheNext + 1) % NAME_CACHE_SIZE;
  cachedBytes[slot] = Buffer.from(b.subarray(start, end));
  cachedText[slot] = text;
  return text;
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

/** What the scan found in a "record" object (the last of each member wins, as in JSON.parse). */
interface RecordScan {
  stream: string | undefined;
  namespace: string | undefined;
  dataIsObject: boolean;
  emittedAtIsNumber: boolean;
}

const STREAM = 1;
const DATA = 2;
const EMITTED_AT = 3;
const NAMESPACE = 4;
const META = 5;

/**
 * [start, end) of the last data, emitted_at and meta members of a "record", by kind (DuckDB reads
 * the first of duplicates, the scan the last: earlier ones are dropped from the spooled line).
 */
const memberSpans = new Int32Array(2 * (META + 1));

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

const MEMBER_KINDS: readonly (readonly [string, number])[] = [
  ['stream', STREAM],
  ['data', DATA],
  ['emitted_at', EMITTED_AT],
  ['namespace', NAMESPACE],
  ['meta', META],
];

/**
 * `i` at a '{': scans the members of a "record" object into `scan`, validating every value.
 * Returns the index past the object, or -1.
 */
function scanRecordObject(b: Buffer, i: number, end: number, scan: RecordScan): number {
  i = skipSpace(b, i + 1, end);
  if (i < end && b[i] === RBRACE) return i + 1;
  const spans = memberSpans;
  let seen = 0; // the kinds of member seen so far, as bits
  for (;;) {
    if (i >= end || b[i] !== QUOTE) return -1;
    const keyStart = i;
    i = skipString(b, i, end);
    if (i < 0) return -1;
    const keyEnd = i;
    i = skipSpace(b, i, end);
    if (i >= end || b[i] !== COLON) return -1;
    const vs = skipSpace(b, i + 1, end);
    const kind = recordMemberKind(b, keyStart, keyEnd);
    if (kind === DATA) {
      notes.inData = true;
      i = skipValue(b, vs, end);
      notes.inData = false;
    } else {
      i = skipValue(b, vs, end);
    }
    if (i < 0) return -1;
    const c = b[vs]!;
    if (kind === STREAM) scan.stream = c === QUOTE ? cachedStringValue(b, vs, i) : undefined;
    else if (kind === DATA) scan.dataIsObject = c === LBRACE;
    else if (kind === EMITTED_AT) scan.emittedAtIsNumber = c === MINUS || isDigit(c);
    else if (kind === NAMESPACE) scan.namespace = c === QUOTE ? cachedStringValue(b, vs, i) : undefined;
    if (kind === DATA || kind === EMITTED_AT || kind === META) {
      if (seen & (1 << kind)) droppedMembers.push(spans[2 * kind]!, spans[2 * kind + 1]!);
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
 * Scans one input line (without its line ending). Returns the record's routing facts when the
 * line is a well-formed RECORD message the fast path can take; undefined otherwise (the caller
 * then uses JSON.parse and its own checks).
 */
export function scanRecordLine(b: Buffer): RecordFacts | undefined {
  const end = b.length;
  let i = skipSpace(b, 0, end);
  if (i >= end || b[i] !== LBRACE) return undefined;
  const brace = i;
  // (Cleared only when used: setting an array's length is not free, and most lines leave them empty.)
  if (notes.numbers.length > 0) notes.numbers.length = 0;
  if (droppedMembers.length > 0) droppedMembers.length = 0;
  notes.loneSurrogate = false;
  let isRecord = false;
  let record: RecordScan | undefined;
  // [start, end) of the last "record" member (DuckDB reads the first of duplicates).
  let recordStart = -1;
  let recordEnd = -1;
  i = skipSpace(b, i + 1, end);
  const firstKey = i;
  if (i < end && b[i] === RBRACE) return undefined;
  for (;;) {
    if (i >= end || b[i] !== QUOTE) return undefined;
    const keyStart = i;
    i = skipString(b, i, end);
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
        record = { stream: undefined, namespace: undefined, dataIsObject: false, emittedAtIsNumber: false };
        i = scanRecordObject(b, vs, end, record);
      } else {
        record = undefined;
        i = skipValue(b, vs, end);
      }
    } else {
      i = skipValue(b, vs, end);
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
  if (record.stream === undefined || !record.dataIsObject || !record.emittedAtIsNumber) return undefined;
  // A tab after the brace would read as INEXACT_NUMBER_MARK: such a line is rewritten too.
  const rewrite = notes.loneSurrogate || notes.numbers.length > 0 || droppedMembers.length > 0 || b[brace + 1] === 0x09;
  const line = rewrite ? rewriteRecordLine(b, { brace, firstKey, loneSurrogate: notes.loneSurrogate, numbers: notes.numbers, drops: droppedMembers }) : b;
  return { stream: record.stream, namespace: record.namespace, line };
}

/**
 * The bytes to spool for a line: its rewrite when it is a RECORD that DuckDB would misread, else
 * the line itself. (The session spools `line` of scanRecordLine's answer; this is the same for
 * callers holding lines that need not be RECORDs, e.g. tests that build spools.)
 */
export function recordLineToSpool(b: Buffer): Buffer {
  return scanRecordLine(b)?.line ?? b;
}
