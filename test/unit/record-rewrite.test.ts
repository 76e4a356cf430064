import { describe, expect, it } from 'vitest';
import { decodeSpoolLine } from '../../src/formats/spool-line.js';
import { numberVerdict } from '../../src/protocol/record-rewrite.js';
import { recordLineToSpool, scanRecordLine } from '../../src/protocol/record-scan.js';
import { seededRandom } from '../../scripts/lib/seeded-random.mjs';

const record = (data: string, extra = ''): string => `{"type":"RECORD","record":{"stream":"s","data":${data},"emitted_at":1${extra}}}`;
const spooled = (line: string): string => scanRecordLine(Buffer.from(line, 'utf8'))!.line.toString('utf8');

/** A string with its lone surrogates replaced by U+FFFD (String.prototype.toWellFormed). */
const wellFormedText = (s: string): string => s.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');

/** Every string of a parsed value made well-formed, keys included. */
function wellFormed(v: unknown): unknown {
  if (typeof v === 'string') return wellFormedText(v);
  if (Array.isArray(v)) return v.map(wellFormed);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [wellFormedText(k), wellFormed(x)]));
  return v;
}

describe('the line a RECORD spools', () => {
  it('is the line itself, not a copy, when DuckDB reads it as JSON.parse does', () => {
    const bytes = Buffer.from(record('{"a":1.5,"b":"\\ud83d\\ude00 \\u00e9","c":[0.30000000000000004,1e-7,5.0,-0]}'));
    expect(scanRecordLine(bytes)!.line).toBe(bytes);
    expect(decodeSpoolLine(recordLineToSpool(bytes))).toEqual({ verdict: 'doubtful', extractedAtMs: 1, json: bytes });
  });

  it.each([
    ['a lone high surrogate', '"a\\ud800b"', '"a\\uFFFDb"'],
    ['a lone low surrogate', '"\\udc00"', '"\\uFFFD"'],
    ['a high surrogate at the end of a string', '"x\\uDBFF"', '"x\\uFFFD"'],
    ['two high surrogates', '"\\ud800\\ud800\\udc00"', '"\\uFFFD\\ud800\\udc00"'],
    ['a reversed pair', '"\\udc00\\ud800"', '"\\uFFFD\\uFFFD"'],
    ['a surrogate after an escaped backslash', '"\\\\\\ud800"', '"\\\\\\uFFFD"'],
  ])('replaces %s with U+FFFD, keeping the line length', (_name, value, expected) => {
    const line = record(`{"s":${value}}`);
    const out = spooled(line);
    expect(out).toBe(record(`{"s":${expected}}`));
    expect(out.length).toBe(line.length);
    expect(JSON.parse(out)).toEqual(wellFormed(JSON.parse(line)));
  });

  it('leaves escapes that only look like surrogates alone', () => {
    for (const value of ['"\\\\ud800"', '"\\ud83d\\ude00"', '"\\ue000\\ud7ff"']) {
      const bytes = Buffer.from(record(`{"s":${value}}`));
      expect(scanRecordLine(bytes)!.line, value).toBe(bytes);
    }
  });

  it('replaces lone surrogates in keys and outside data too (DuckDB parses the whole line)', () => {
    const line = record(
      '{"k\\ud800":1,"n":{"\\udfff":[true]}}',
      ',"meta":{"changes":[{"field":"\\ud801","change":"NULLED","reason":"SOURCE_SERIALIZATION_ERROR"}]}',
    );
    const out = spooled(line);
    expect(out).not.toMatch(/\\u[dD][89abAB]/);
    expect(JSON.parse(out)).toEqual(wellFormed(JSON.parse(line)));
  });

  it('spools an integer of int64 beyond 2^53 written with a fraction or exponent as its digits', () => {
    const line = record('{"a":123456789012345678.0,"b":[9007199254740993.0,1e18,-9223372036854775808.0],"c":{"d":1.2345678901234567890e18}}');
    expect(spooled(line)).toBe(
      record('{"a":123456789012345678,"b":[9007199254740993,1000000000000000000,-9223372036854775808],"c":{"d":1234567890123456789}}'),
    );
  });

  it('gives a line with a number that is not an integer but whose double is the inexact verdict, and changes nothing else', () => {
    for (const n of ['1.0000000000000001', '0.99999999999999999', '1e-400', '-1e-400', '9007199254740990.9', '4503599627370496.5']) {
      const line = record(`{"a":5.0,"x":${n},"s":"1.0000000000000001"}`);
      const facts = scanRecordLine(Buffer.from(line))!;
      expect(facts.inexact, n).toBe(true);
      expect(facts.line.toString(), n).toBe(line);
      expect(decodeSpoolLine(recordLineToSpool(Buffer.from(line))).verdict, n).toBe('inexact');
    }
    expect(scanRecordLine(Buffer.from(record('{"a":5.0}')))!.inexact).toBe(false);
  });

  it('looks at numbers in data only', () => {
    const bytes = Buffer.from(
      '{"type":"RECORD","record":{"stream":"s","data":{},"emitted_at":1.0000000000000001e12,"meta":{"n":123456789012345678.0}}}',
    );
    expect(scanRecordLine(bytes)!.line).toBe(bytes);
    expect(scanRecordLine(bytes)!.inexact).toBe(false);
  });

  it("keeps white space after the opening brace as sent (the verdict is in the spool line's header, not in the JSON)", () => {
    const tabbed = Buffer.from('{\t"type":"RECORD","record":{"stream":"s","data":{},"emitted_at":1}}');
    expect(scanRecordLine(tabbed)!.line).toBe(tabbed);
    expect(decodeSpoolLine(recordLineToSpool(tabbed)).verdict).toBe('doubtful');
  });

  it('keeps only the last of duplicate envelope members DuckDB reads, as the scan and JSON.parse take it', () => {
    const line =
      '{"record":{"stream":"x","data":{}},"type":"RECORD","record":{"data":{"a":1},"meta":{"m":1},"stream":"s","emitted_at":"no","data":{"a":2},"emitted_at":2,"meta":{"m":2}}}';
    const out = spooled(line);
    expect(out).toBe('{"type":"RECORD","record":{"stream":"s","data":{"a":2},"emitted_at":2,"meta":{"m":2}}}');
    expect(JSON.parse(out)).toEqual(JSON.parse(line));
    expect(scanRecordLine(Buffer.from(line))).toMatchObject({ stream: 's' });
  });
});

describe('numberVerdict', () => {
  it.each([
    ['123456789012345678.0', { digits: '123456789012345678' }],
    ['9007199254740992.0', { digits: '9007199254740992' }],
    ['-9007199254740993e0', { digits: '-9007199254740993' }],
    ['9223372036854775807.000', { digits: '9223372036854775807' }],
    ['922337203685477580.7e1', { digits: '9223372036854775807' }],
    ['9223372036854775808.0', undefined], // beyond int64: nulled as such
    ['-9223372036854775809.0', undefined],
    ['1e19', undefined],
    ['9007199254740991.0', undefined], // below 2^53 the double is exact
    ['5.0', undefined],
    ['0.0e5', undefined],
    ['-0.0', undefined],
    ['1.5', undefined],
    ['0.30000000000000004', undefined],
    ['1234567890123456.7', undefined], // its double is not an integer
    ['1.0000000000000001', 'inexact'],
    ['0.99999999999999999', 'inexact'],
    ['-2.00000000000000000001', 'inexact'],
    ['1e-400', 'inexact'],
    ['2e-324', 'inexact'],
    ['3e-324', undefined], // the least subnormal
    ['9007199254740993.5', 'inexact'],
  ])('%s → %j', (token, verdict) => {
    expect(numberVerdict(token)).toEqual(verdict);
  });
});

describe('the scan never misses a number that needs a look', () => {
  const rand = seededRandom(777);
  const digits = (n: number, first = '123456789'): string => {
    let s = first[Math.floor(rand() * first.length)]!;
    for (let k = 1; k < n; k++) s += String(Math.floor(rand() * 10));
    return s;
  };
  const run = (c: string, n: number): string => c.repeat(n);

  /** Number tokens of every shape, many near an integer or beyond 2^53. */
  function token(): string {
    const sign = rand() < 0.3 ? '-' : '';
    const r = rand();
    if (r < 0.25)
      return `${sign}${digits(1 + Math.floor(rand() * 19))}.${run(rand() < 0.5 ? '0' : '9', Math.floor(rand() * 20))}${digits(1 + Math.floor(rand() * 3), '0123456789')}`;
    if (r < 0.45) return `${sign}${rand() < 0.3 ? '0' : digits(1 + Math.floor(rand() * 20))}.${digits(1 + Math.floor(rand() * 20), '0123456789')}`;
    if (r < 0.7)
      return `${sign}${digits(1 + Math.floor(rand() * 17))}${rand() < 0.5 ? '.' + digits(1 + Math.floor(rand() * 6), '0123456789') : ''}e${rand() < 0.4 ? '-' : rand() < 0.5 ? '+' : ''}${Math.floor(rand() * (rand() < 0.2 ? 500 : 25))}`;
    if (r < 0.8) return `${sign}${digits(15 + Math.floor(rand() * 5))}.${run('0', 1 + Math.floor(rand() * 3))}`;
    if (r < 0.9) {
      // Near an integer, the point anywhere: k integer digits, a run of 0s or 9s, then digits.
      const k = Math.floor(rand() * 17);
      const body = `${k === 0 ? '0' : digits(k)}.${run(rand() < 0.5 ? '0' : '9', 8 + Math.floor(rand() * 12))}${digits(1 + Math.floor(rand() * 3), '0123456789')}`;
      if (rand() < 0.5) return sign + body;
      // The same digits with the point moved into an exponent.
      const m = /^(\d+)\.(\d+)$/.exec(body)!;
      const shift = Math.floor(rand() * 6) - 2;
      const all = m[1]! + m[2]!;
      const at = Math.max(1, Math.min(all.length - 1, m[1]!.length - shift));
      return `${sign}${all.slice(0, at).replace(/^0+(?=\d)/, '')}.${all.slice(at)}e${m[1]!.length - at}`;
    }
    if (r < 0.95)
      return `${sign}0.${run('0', Math.floor(rand() * 330))}${digits(1 + Math.floor(rand() * 3))}${rand() < 0.5 ? `e-${Math.floor(rand() * 340)}` : ''}`;
    // Around the least double (4.9e-324): underflow to 0 or not.
    return `${sign}${digits(1 + Math.floor(rand() * 3))}${rand() < 0.5 ? '.' + digits(1 + Math.floor(rand() * 3), '0123456789') : ''}e-${310 + Math.floor(rand() * 30)}`;
  }

  it('rewrites or marks every line whose number DuckDB would mistake for an integer, and keeps every value', () => {
    let needed = 0;
    for (let n = 0; n < 60_000; n++) {
      const tok = token();
      const line = record(`{"v":${tok},"w":[${tok}]}`);
      const verdict = numberVerdict(tok);
      const out = spooled(line);
      const facts = scanRecordLine(Buffer.from(line))!;
      if (verdict === undefined) {
        expect(out, tok).toBe(line);
        expect(facts.inexact, tok).toBe(false);
        continue;
      }
      needed++;
      // Before rewriting, a double integer below 2^53 would have passed as exact: the verdict agrees.
      const d = Number(tok);
      if (verdict === 'inexact') {
        expect(Number.isInteger(d), tok).toBe(true);
        expect(out, tok).toBe(line);
        expect(facts.inexact, tok).toBe(true);
      } else {
        expect(BigInt(verdict.digits) >= 2n ** 53n || BigInt(verdict.digits) <= -(2n ** 53n), tok).toBe(true);
        expect(out, tok).toBe(record(`{"v":${verdict.digits},"w":[${verdict.digits}]}`));
      }
      expect(JSON.parse(out), tok).toEqual(JSON.parse(line));
    }
    expect(needed).toBeGreaterThan(6_000);
  });

  it('agrees with exact arithmetic on which tokens are integers', () => {
    for (let n = 0; n < 60_000; n++) {
      const tok = token();
      const verdict = numberVerdict(tok);
      const m = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(tok)!;
      const frac = m[3] ?? '';
      const exp = Number(m[4] ?? 0);
      // value = mantissa × 10^(exp - |frac|); an integer iff the digits below the point are zeros.
      const mantissa = (m[2]! + frac).replace(/^0+(?=\d)/, '');
      const shift = exp - frac.length;
      const isInteger = shift >= 0 || /^0*$/.test(mantissa.slice(Math.max(0, mantissa.length + shift)));
      if (verdict === 'inexact') expect(isInteger, tok).toBe(false);
      if (verdict !== undefined && verdict !== 'inexact') expect(isInteger, tok).toBe(true);
      if (!isInteger && Number.isInteger(Number(tok))) expect(verdict, tok).toBe('inexact');
    }
  });
});
