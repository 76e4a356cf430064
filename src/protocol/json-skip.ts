// Strict JSON on bytes, without building JS values: the skips the record scan (record-scan.ts)
// validates a line with, accepting exactly what JSON.parse accepts. While they skip, they note what
// DuckDB would read wrongly or not at all: lone surrogate escapes anywhere, and, inside a
// record's data, numbers a double may not hold exactly. Noting costs nothing on the common path
// (plain strings, integers, short fractions).
//
// The skips that note something, and the stack of open containers, belong to a JsonSkipper
// instance (one per record scanner): no state is shared between scanners.

export const QUOTE = 0x22;
export const BACKSLASH = 0x5c;
export const COMMA = 0x2c;
export const COLON = 0x3a;
export const LBRACE = 0x7b;
export const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
export const MINUS = 0x2d;
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

export const isDigit = (c: number): boolean => c >= ZERO && c <= NINE;

export function skipSpace(b: Uint8Array, i: number, end: number): number {
  while (i < end && SPACE[b[i]!] === 1) i++;
  return i;
}

const hexValue = (c: number): number => (c <= NINE ? c - ZERO : (c | 0x20) - 0x57);
const unitAt = (b: Uint8Array, i: number): number =>
  (hexValue(b[i]!) << 12) | (hexValue(b[i + 1]!) << 8) | (hexValue(b[i + 2]!) << 4) | hexValue(b[i + 3]!);

function skipWord(b: Uint8Array, i: number, end: number, word: readonly number[]): number {
  if (i + word.length > end) return -1;
  for (let k = 0; k < word.length; k++) if (b[i + k] !== word[k]) return -1;
  return i + word.length;
}

const TRUE = [...'true'].map((c) => c.charCodeAt(0));
const FALSE = [...'false'].map((c) => c.charCodeAt(0));
const NULL = [...'null'].map((c) => c.charCodeAt(0));

/**
 * The skips that note what they see: one instance per record scanner, which resets the notes
 * before each line.
 */
export class JsonSkipper {
  /** True while the value of a record's "data" is skipped: only its numbers are checked. */
  inData = false;
  /** A lone UTF-16 surrogate escape was seen. */
  loneSurrogate = false;
  /** [start, end) of number tokens in data that a double may not hold exactly (flat pairs). */
  readonly numbers: number[] = [];
  /** Open containers of skipValue: 1 object, 2 array. Grows for deep nesting (data, not an error). */
  private stack = new Uint8Array(256);

  /** `i` at an opening quote: the index past the closing quote, or -1. */
  skipString(b: Uint8Array, i: number, end: number): number {
    i++;
    // The common case: plain characters up to the closing quote.
    while (i < end && PLAIN[b[i]!] === 1) i++;
    if (i < end && b[i] === QUOTE) return i + 1;
    return this.skipEscapedString(b, i, end);
  }

  /** skipString past its plain start: `i` at an escape, a control character or the end. */
  private skipEscapedString(b: Uint8Array, i: number, end: number): number {
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
        i = this.skipUnicodeEscape(b, i, end);
      } else {
        return -1;
      }
      while (i < end && PLAIN[b[i]!] === 1) i++;
    }
  }

  /** `i` at a valid \uXXXX escape: the index past it (and past its pair's second half), noting a lone surrogate. */
  private skipUnicodeEscape(b: Uint8Array, i: number, end: number): number {
    const unit = unitAt(b, i + 2);
    if (unit < 0xd800 || unit > 0xdfff) return i + 6;
    if (unit <= 0xdbff && i + 11 < end && b[i + 6] === BACKSLASH && b[i + 7] === 0x75) {
      let hex = true;
      for (let k = i + 8; k < i + 12; k++) if (HEX[b[k]!] !== 1) hex = false;
      if (hex) {
        const next = unitAt(b, i + 8);
        if (next >= 0xdc00 && next <= 0xdfff) return i + 12;
      }
    }
    this.loneSurrogate = true;
    return i + 6;
  }

  /**
   * `i` at the first character of a number: the index past it, or -1. Kept small, so that V8 inlines
   * it: the rarer fraction and exponent are skipped by a call.
   */
  private skipNumber(b: Uint8Array, i: number, end: number): number {
    const start = i;
    if (i < end && b[i] === MINUS) i++;
    if (i >= end) return -1;
    if (b[i] === ZERO) i++;
    else if (isDigit(b[i]!)) while (i < end && isDigit(b[i]!)) i++;
    else return -1;
    if (i < end && (b[i] === DOT || b[i] === 0x65 || b[i] === 0x45) /* . e E */) return this.skipFractionAndExponent(b, start, i, end);
    return i;
  }

  /** skipNumber past the integer part `[start, i)`: `i` at a '.', 'e' or 'E'. */
  private skipFractionAndExponent(b: Uint8Array, start: number, i: number, end: number): number {
    const intEnd = i;
    let fracStart = -1;
    if (b[i] === DOT) {
      i++;
      if (i >= end || !isDigit(b[i]!)) return -1;
      fracStart = i;
      while (i < end && isDigit(b[i]!)) i++;
    }
    const digitsEnd = i;
    if (i < end && (b[i] === 0x65 || b[i] === 0x45) /* e E */) {
      i++;
      const sign = b[i];
      if (i < end && (sign === PLUS || sign === MINUS)) i++;
      if (i >= end || !isDigit(b[i]!)) return -1;
      let exponent = 0;
      for (; i < end && isDigit(b[i]!); i++) if (exponent < 100_000) exponent = exponent * 10 + b[i]! - ZERO;
      if (this.inData) this.noteNumber(b, start, i, intEnd, fracStart, digitsEnd, sign === MINUS ? -exponent : exponent);
      return i;
    }
    // At most 16 characters ('.' and any '-' among them) hold at most 15 digits: nothing to note.
    if (this.inData && i - start > 16) this.noteNumber(b, start, i, intEnd, fracStart, digitsEnd, 0);
    return i;
  }

  // A number with a fraction or an exponent is read by DuckDB as a double. Integer columns accept it
  // when that double is an integer below 2^53; that is exact unless the token is an integer of 2^53
  // or more, or is not an integer but so close to one that its double is (more digits than a double
  // holds there, or an underflow to 0). Only tokens that may be either are noted, for
  // record-rewrite.ts to decide; the test below is cheap and never misses one.
  //
  // Let D be the token's digits as written (integer part, then fraction) and `point` the number of
  // them before the value's decimal point (integer digits + exponent). A value of 16 or more integer
  // digits may be beyond 2^53; one below 10^-300 may underflow. Otherwise a token of at
  // most 15 digits is the one decimal its double stands for (so its double is an integer only if it
  // is one). With more digits, |value| < 10^point and doubles there are at most |value|·2^-52 apart,
  // so its double is an integer only if the value is within 1.12·10^(point-16) of one: its
  // fractional digits D[point...] begin with at least 15 - point zeros or nines (14 - point are
  // required here, a margin of one). A value below 0.1 (point < 0) can only round to 0: underflow.

  /** Notes the number token [start, end) when record-rewrite.ts must look at it (see above). */
  private noteNumber(b: Uint8Array, start: number, end: number, intEnd: number, fracStart: number, digitsEnd: number, exponent: number): void {
    const intStart = b[start] === MINUS ? start + 1 : start;
    const intLen = intEnd - intStart;
    const fracLen = fracStart >= 0 ? digitsEnd - fracStart : 0;
    const point = intLen + exponent;
    const digitAt = (k: number): number => (k < intLen ? b[intStart + k]! : k - intLen < fracLen ? b[fracStart + k - intLen]! : -1);
    let suspect = point >= 16;
    if (!suspect && exponent < 0) {
      // Its magnitude is below 10^(point - leading zeros): below 10^-300 it may underflow.
      let zeros = 0;
      while (digitAt(zeros) === ZERO) zeros++;
      suspect = point - zeros <= -300;
    }
    if (!suspect && intLen + fracLen > 15 && point >= 0) {
      const first = digitAt(point);
      if (first === ZERO || first === NINE) {
        const needed = Math.max(1, 14 - point);
        let run = 1;
        while (run < needed && digitAt(point + run) === first) run++;
        suspect = run >= needed || digitAt(point + run) === -1; // a run to the last digit: an integer, or close to one
      }
    }
    if (suspect) this.numbers.push(start, end);
  }

  /**
   * `i` at the first character of any JSON value: the index past it, or -1 when it is not valid
   * JSON. Iterative, so that deep nesting costs memory, not the call stack.
   */
  skipValue(b: Uint8Array, i: number, end: number): number {
    let depth = 0;
    for (;;) {
      // A value starts at i.
      if (i >= end) return -1;
      const c = b[i]!;
      if (c === QUOTE) {
        i = this.skipString(b, i, end);
      } else if (c === LBRACE || c === LBRACKET) {
        i = skipSpace(b, i + 1, end);
        if (i < end && b[i] === (c === LBRACE ? RBRACE : RBRACKET)) {
          i++;
        } else {
          if (depth === this.stack.length) {
            const grown = new Uint8Array(this.stack.length * 2);
            grown.set(this.stack);
            this.stack = grown;
          }
          this.stack[depth++] = c === LBRACE ? 1 : 2;
          if (c === LBRACE) {
            i = this.memberValueStart(b, i, end);
            if (i < 0) return -1;
          }
          continue;
        }
      } else if (c === MINUS || isDigit(c)) {
        i = this.skipNumber(b, i, end);
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
        const top = this.stack[depth - 1];
        if (d === COMMA) {
          i = skipSpace(b, i + 1, end);
          if (top === 1) {
            i = this.memberValueStart(b, i, end);
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
  private memberValueStart(b: Uint8Array, i: number, end: number): number {
    if (i >= end || b[i] !== QUOTE) return -1;
    i = this.skipString(b, i, end);
    if (i < 0) return -1;
    i = skipSpace(b, i, end);
    if (i >= end || b[i] !== COLON) return -1;
    return skipSpace(b, i + 1, end);
  }
}
