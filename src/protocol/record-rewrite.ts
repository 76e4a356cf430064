// The rare path of a RECORD line on its way to the spool: what DuckDB would read wrongly, or not at
// all, is rewritten; everything else keeps its bytes. record-scan.ts finds the lines that need it
// while it validates them (no cost for the others) and calls rewriteRecordLine with what it saw.
//
// - A lone UTF-16 surrogate escape ("\ud800" without its pair, "\udc00" alone): JSON.parse
//   accepts it, DuckDB's parser rejects the whole spool ("no low surrogate"). It becomes
//   "\ufffd", the replacement character every UTF-8 encoder puts for it (same length).
// - A number with a fraction or an exponent that is exactly an integer of int64 beyond 2^53
//   (123456789012345678.0, 1e18): DuckDB reads it as a double, which cannot hold it. It is
//   written as its integer digits, which DuckDB keeps exactly (same value, so number and JSON text
//   columns lose nothing).
// - A number that is not an integer but whose nearest double is (1.0000000000000001,
//   0.99999999999999999, 1e-400): an integer column cannot tell it from 1.0 once DuckDB has read
//   it. The answer says so (`inexact`): the spool line's verdict carries it (src/formats/
//   spool-line.ts), and integer columns null every fraction or exponent form of such a record
//   (values.ts).
// - Duplicate envelope members ("record", and "data", "emitted_at", "meta" in it): the connector
//   routes and checks the last, as JSON.parse does; DuckDB would read the first. Earlier
//   occurrences are dropped.

/** What the scan saw in a line that needs rewriting; positions are byte offsets in the line. */
export interface RewriteInput {
  /** A lone surrogate escape occurs somewhere in the line. */
  loneSurrogate: boolean;
  /** [start, end) of number tokens in `data` that a double may not hold exactly (flat pairs). */
  numbers: readonly number[];
  /** [start, end) of envelope members to drop (flat pairs, in line order). */
  drops: readonly number[];
}

interface Edit {
  start: number;
  end: number;
  text: string;
}

const BACKSLASH = 0x5c;
const U = 0x75;
const TWO_53 = 2n ** 53n;
const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

function hexAt(b: Buffer, i: number): number {
  return Number.parseInt(b.toString('latin1', i, i + 4), 16);
}

/** Edits that turn lone surrogate escapes into \ufffd. Backslashes occur only inside strings. */
function surrogateEdits(b: Buffer, edits: Edit[]): void {
  for (let i = b.indexOf(BACKSLASH); i >= 0 && i < b.length; i = b.indexOf(BACKSLASH, i)) {
    if (b[i + 1] !== U) {
      i += 2;
      continue;
    }
    const unit = hexAt(b, i + 2);
    if (unit >= 0xd800 && unit <= 0xdbff && b[i + 6] === BACKSLASH && b[i + 7] === U) {
      const next = hexAt(b, i + 8);
      if (next >= 0xdc00 && next <= 0xdfff) {
        i += 12; // a pair
        continue;
      }
    }
    if (unit >= 0xd800 && unit <= 0xdfff) edits.push({ start: i + 2, end: i + 6, text: 'FFFD' });
    i += 6;
  }
}

export type NumberVerdict = { digits: string } | 'inexact' | undefined;

/**
 * What a JSON number token (with a fraction or an exponent) needs: its integer digits when it is
 * exactly an int64 integer a double cannot hold (|value| >= 2^53), 'inexact' when it is not an
 * integer but its nearest double is, undefined otherwise.
 */
export function numberVerdict(token: string): NumberVerdict {
  const m = /^(-?)([0-9]+)(?:\.([0-9]+))?(?:[eE]([+-]?[0-9]+))?$/.exec(token);
  if (!m) return undefined;
  const [, sign, int, frac = '', exp = '0'] = m;
  let digits = (int! + frac).replace(/^0+/, '');
  if (digits === '') return undefined; // zero
  const trailing = digits.length - digits.replace(/0+$/, '').length;
  digits = digits.slice(0, digits.length - trailing);
  // value = digits × 10^scale, digits without trailing zeros: an integer exactly when scale >= 0.
  const scale = Number(exp) - frac.length + trailing;
  if (scale >= 0) {
    if (digits.length + scale > 19) return undefined; // beyond int64: nulled as such
    const text = sign + digits + '0'.repeat(scale);
    const value = BigInt(text);
    const magnitude = value < 0n ? -value : value;
    return magnitude >= TWO_53 && value >= INT64_MIN && value <= INT64_MAX ? { digits: text } : undefined;
  }
  return Number.isInteger(Number(token)) ? 'inexact' : undefined;
}

export interface Rewritten {
  /** The JSON to spool: `b` itself when nothing changes. */
  line: Buffer;
  /** The record holds a number that is not an integer but whose nearest double is (see above). */
  inexact: boolean;
}

/** What to spool for a RECORD line the scan flagged. */
export function rewriteRecordLine(b: Buffer, input: RewriteInput): Rewritten {
  const edits: Edit[] = [];
  const { drops, numbers } = input;
  for (let k = 0; k < drops.length; k += 2) edits.push({ start: drops[k]!, end: drops[k + 1]!, text: '' });
  const dropped = (at: number): boolean => {
    for (let k = 0; k < drops.length; k += 2) if (at >= drops[k]! && at < drops[k + 1]!) return true;
    return false;
  };
  let inexact = false;
  for (let k = 0; k < numbers.length; k += 2) {
    const start = numbers[k]!;
    const end = numbers[k + 1]!;
    if (dropped(start)) continue;
    const verdict = numberVerdict(b.toString('latin1', start, end));
    if (verdict === 'inexact') inexact = true;
    else if (verdict) edits.push({ start, end, text: verdict.digits });
  }
  if (input.loneSurrogate) surrogateEdits(b, edits);
  if (edits.length === 0) return { line: b, inexact };
  edits.sort((x, y) => x.start - y.start);
  const parts: Buffer[] = [];
  let at = 0;
  for (const edit of edits) {
    if (edit.start < at) continue; // inside a dropped member
    parts.push(b.subarray(at, edit.start), Buffer.from(edit.text, 'latin1'));
    at = edit.end;
  }
  parts.push(b.subarray(at));
  return { line: Buffer.concat(parts), inexact };
}
