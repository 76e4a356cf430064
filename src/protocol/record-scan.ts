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

export interface RecordFacts {
  stream: string;
  /** The record's namespace when it is a string. */
  namespace: string | undefined;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;

/** 1 for bytes that may stand for themselves inside a JSON string. */
const PLAIN = new Uint8Array(256);
for (let c = 0x20; c < 256; c++) PLAIN[c] = c === QUOTE || c === BACKSLASH ? 0 : 1;
/** 1 for JSON whitespace (the four characters JSON.parse skips). */
const SPACE = new Uint8Array(256);
SPACE[0x20] = SPACE[0x09] = SPACE[0x0a] = SPACE[0x0d] = 1;
/** 1 for the characters a backslash may escape (other than u). */
const ESCAPE = new Uint8Array(256);
for (const c of '"\\/bfnrt') ESCAPE[c.charCodeAt(0)] = 1;
/** 1 for hexadecimal digits. */
const HEX = new Uint8Array(256);
for (const c of '0123456789abcdefABCDEF') HEX[c.charCodeAt(0)] = 1;

const isDigit = (c: number): boolean => c >= ZERO && c <= NINE;

function skipSpace(b: Uint8Array, i: number, end: number): number {
  while (i < end && SPACE[b[i]!] === 1) i++;
  return i;
}

/** `i` at an opening quote: the index past the closing quote, or -1. */
function skipString(b: Uint8Array, i: number, end: number): number {
  i++;
  // The common case: plain characters up to the closing quote.
  while (i < end && PLAIN[b[i]!] === 1) i++;
  if (i < end && b[i] === QUOTE) return i + 1;
  return skipEscapedString(b, i, end);
}

/** skipString past its plain start: `i` at an escape, a control character or the end. */
function skipEscapedString(b: Uint8Array, i: number, end: number): number {
  for (;;) {
    if (i >= end) return -1;
    const c = b[i]!;
    if (c === QUOTE) return i + 1;
    if (c !== BACKSLASH || i + 1 >= end) return -1; // a control character, or a trailing backslash
    const e = b[i + 1]!;
    if (ESCAPE[e] === 1) {
      i += 2;
    } else if (e === 0x75 /* u */) {
      if (i + 5 >= end || HEX[b[i + 2]!] !== 1 || HEX[b[i + 3]!] !== 1 || HEX[b[i + 4]!] !== 1 || HEX[b[i + 5]!] !== 1) return -1;
      i += 6;
    } else {
      return -1;
    }
    while (i < end && PLAIN[b[i]!] === 1) i++;
  }
}

/** `i` at the first character of a number: the index past it, or -1. */
function skipNumber(b: Uint8Array, i: number, end: number): number {
  if (i < end && b[i] === MINUS) i++;
  if (i >= end) return -1;
  if (b[i] === ZERO) i++;
  else if (isDigit(b[i]!)) while (i < end && isDigit(b[i]!)) i++;
  else return -1;
  if (i < end && b[i] === DOT) {
    i++;
    if (i >= end || !isDigit(b[i]!)) return -1;
    while (i < end && isDigit(b[i]!)) i++;
  }
  if (i < end && (b[i] === 0x65 || b[i] === 0x45) /* e E */) {
    i++;
    if (i < end && (b[i] === PLUS || b[i] === MINUS)) i++;
    if (i >= end || !isDigit(b[i]!)) return -1;
    while (i < end && isDigit(b[i]!)) i++;
  }
  return i;
}

function skipWord(b: Uint8Array, i: number, end: number, word: readonly number[]): number {
  if (i + word.length > end) return -1;
  for (let k = 0; k < word.length; k++) if (b[i + k] !== word[k]) return -1;
  return i + word.length;
}

const TRUE = [...'true'].map((c) => c.charCodeAt(0));
const FALSE = [...'false'].map((c) => c.charCodeAt(0));
const NULL = [...'null'].map((c) => c.charCodeAt(0));

/** Open containers of skipValue: 1 object, 2 array. Grows for deep nesting (data, not an error). */
let stack = new Uint8Array(256);

/**
 * `i` at the first character of any JSON value: the index past it, or -1 when it is not valid
 * JSON. Iterative, so that deep nesting costs memory, not the call stack.
 */
function skipValue(b: Uint8Array, i: number, end: number): number {
  let depth = 0;
  for (;;) {
    // A value starts at i.
    if (i >= end) return -1;
    const c = b[i]!;
    if (c === QUOTE) {
      i = skipString(b, i, end);
    } else if (c === LBRACE || c === LBRACKET) {
      i = skipSpace(b, i + 1, end);
      if (i < end && b[i] === (c === LBRACE ? RBRACE : RBRACKET)) {
        i++;
      } else {
        if (depth === stack.length) {
          const grown = new Uint8Array(stack.length * 2);
          grown.set(stack);
          stack = grown;
        }
        stack[depth++] = c === LBRACE ? 1 : 2;
        if (c === LBRACE) {
          i = memberValueStart(b, i, end);
          if (i < 0) return -1;
        }
        continue;
      }
    } else if (c === MINUS || isDigit(c)) {
      i = skipNumber(b, i, end);
    } else if (c === 0x74 /* t */) {
      i = skipWord(b, i, end, TRUE);
    } else if (c === 0x66 /* f */) {
      i = skipWord(b, i, end, FALSE);
    } else if (c === 0x6e /* n */) {
      i = skipWord(b, i, end, NULL);
    } else {
      return -1;
    }
    if (i < 0) return -1;
    // After a value: close containers, or go on to the next element or member.
    for (;;) {
      if (depth === 0) return i;
      i = skipSpace(b, i, end);
      if (i >= end) return -1;
      const d = b[i]!;
      const top = stack[depth - 1];
      if (d === COMMA) {
        i = skipSpace(b, i + 1, end);
        if (top === 1) {
          i = memberValueStart(b, i, end);
          if (i < 0) return -1;
        }
        break;
      }
      if ((d === RBRACE && top === 1) || (d === RBRACKET && top === 2)) {
        depth--;
        i++;
        continue;
      }
      return -1;
    }
  }
}

/** `i` at a member's key: the index of its value's first character, or -1. */
function memberValueStart(b: Uint8Array, i: number, end: number): number {
  if (i >= end || b[i] !== QUOTE) return -1;
  i = skipString(b, i, end);
  if (i < 0) return -1;
  i = skipSpace(b, i, end);
  if (i >= end || b[i] !== COLON) return -1;
  return skipSpace(b, i + 1, end);
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

/**
 * `i` at a '{': scans the members of a "record" object into `scan`, validating every value.
 * Returns the index past the object, or -1.
 */
function scanRecordObject(b: Buffer, i: number, end: number, scan: RecordScan): number {
  i = skipSpace(b, i + 1, end);
  if (i < end && b[i] === RBRACE) return i + 1;
  for (;;) {
    if (i >= end || b[i] !== QUOTE) return -1;
    const keyStart = i;
    i = skipString(b, i, end);
    if (i < 0) return -1;
    const keyEnd = i;
    i = skipSpace(b, i, end);
    if (i >= end || b[i] !== COLON) return -1;
    const vs = skipSpace(b, i + 1, end);
    i = skipValue(b, vs, end);
    if (i < 0) return -1;
    const c = b[vs]!;
    if (keyIs(b, keyStart, keyEnd, 'stream')) scan.stream = c === QUOTE ? cachedStringValue(b, vs, i) : undefined;
    else if (keyIs(b, keyStart, keyEnd, 'data')) scan.dataIsObject = c === LBRACE;
    else if (keyIs(b, keyStart, keyEnd, 'emitted_at')) scan.emittedAtIsNumber = c === MINUS || isDigit(c);
    else if (keyIs(b, keyStart, keyEnd, 'namespace')) scan.namespace = c === QUOTE ? cachedStringValue(b, vs, i) : undefined;
    i = skipSpace(b, i, end);
    if (i >= end) return -1;
    if (b[i] === RBRACE) return i + 1;
    if (b[i] !== COMMA) return -1;
    i = skipSpace(b, i + 1, end);
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
  let isRecord = false;
  let record: RecordScan | undefined;
  i = skipSpace(b, i + 1, end);
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
    if (keyIs(b, keyStart, keyEnd, 'record')) {
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
  }
  if (skipSpace(b, i + 1, end) !== end) return undefined;
  if (!isRecord || record === undefined) return undefined;
  if (record.stream === undefined || !record.dataIsObject || !record.emittedAtIsNumber) return undefined;
  return { stream: record.stream, namespace: record.namespace };
}
