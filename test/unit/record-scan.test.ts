import { describe, expect, it } from 'vitest';
import { scanRecordLine, type RecordFacts } from '../../src/protocol/record-scan.js';
import { seededRandom } from '../../scripts/lib/seeded-random.mjs';

/** The routing facts of a line (what is spooled is tested in record-rewrite.test.ts). */
const scan = (line: string): Pick<RecordFacts, 'stream' | 'namespace'> | undefined => {
  const facts = scanRecordLine(Buffer.from(line, 'utf8'));
  if (!facts) return undefined;
  return { stream: facts.stream, namespace: facts.namespace };
};

/** What the general path (JSON.parse and the session's checks) makes of a line. */
function viaJsonParse(line: string): Pick<RecordFacts, 'stream' | 'namespace'> | undefined | 'invalid' {
  let msg: any;
  try {
    msg = JSON.parse(line);
  } catch {
    return 'invalid';
  }
  const isObject = (v: unknown) => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (!isObject(msg) || msg.type !== 'RECORD' || !isObject(msg.record)) return undefined;
  const r = msg.record;
  if (typeof r.stream !== 'string' || !isObject(r.data) || typeof r.emitted_at !== 'number') return undefined;
  return { stream: r.stream, namespace: typeof r.namespace === 'string' ? r.namespace : undefined };
}

const RECORD =
  '{"type":"RECORD","record":{"stream":"users","data":{"id":1,"name":"Zoë \\"q\\"","tags":["a",{"b":[null,true,false]}],"n":-1.5e-3},"emitted_at":1700000000000}}';

describe('scanRecordLine', () => {
  it('routes a RECORD from its bytes: stream and namespace, escapes decoded', () => {
    expect(scan(RECORD)).toEqual({ stream: 'users', namespace: undefined });
    expect(scan('{"type":"RECORD","record":{"namespace":"shop","stream":"or\\u0064ers\\n","data":{},"emitted_at":1}}')).toEqual({
      stream: 'orders\n',
      namespace: 'shop',
    });
    expect(
      scan('  {\t"record" : { "emitted_at" : -0.5e+2 , "data" : { } , "stream" : "ünïcødé/../x" , "namespace" : null } , "type" : "RECORD" }\r '),
    ).toEqual({
      stream: 'ünïcødé/../x',
      namespace: undefined,
    });
  });

  it('takes the last of duplicate keys, as JSON.parse does', () => {
    expect(scan('{"type":"LOG","type":"RECORD","record":{"stream":"a","stream":"b","data":{},"emitted_at":1}}')).toEqual({
      stream: 'b',
      namespace: undefined,
    });
    expect(scan('{"type":"RECORD","type":"LOG","record":{"stream":"a","data":{},"emitted_at":1}}')).toBeUndefined();
    expect(scan('{"type":"RECORD","record":{"stream":"a","data":{},"emitted_at":1},"record":5}')).toBeUndefined();
    expect(scan('{"type":"RECORD","record":{"stream":"a","data":{},"emitted_at":1,"data":[]}}')).toBeUndefined();
  });

  it('recognises escaped spellings of the keys and of "RECORD"', () => {
    expect(scan('{"typ\\u0065":"REC\\u004fRD","rec\\u006frd":{"str\\u0065am":"a","d\\u0061ta":{},"emitted\\u005fat":1}}')).toEqual({
      stream: 'a',
      namespace: undefined,
    });
  });

  it.each([
    ['a trailing comma', '{"type":"RECORD","record":{"stream":"a","data":{"x":1,},"emitted_at":1}}'],
    ['a trailing comma in an array', '{"type":"RECORD","record":{"stream":"a","data":{"x":[1,]},"emitted_at":1}}'],
    ['NaN', '{"type":"RECORD","record":{"stream":"a","data":{"x":NaN},"emitted_at":1}}'],
    ['Infinity', '{"type":"RECORD","record":{"stream":"a","data":{"x":-Infinity},"emitted_at":1}}'],
    ['a leading zero', '{"type":"RECORD","record":{"stream":"a","data":{"x":01},"emitted_at":1}}'],
    ['a bare dot', '{"type":"RECORD","record":{"stream":"a","data":{"x":1.},"emitted_at":1}}'],
    ['a leading dot', '{"type":"RECORD","record":{"stream":"a","data":{"x":.5},"emitted_at":1}}'],
    ['a plus sign', '{"type":"RECORD","record":{"stream":"a","data":{"x":+1},"emitted_at":1}}'],
    ['an empty exponent', '{"type":"RECORD","record":{"stream":"a","data":{"x":1e},"emitted_at":1}}'],
    ['a lone minus', '{"type":"RECORD","record":{"stream":"a","data":{"x":-},"emitted_at":1}}'],
    ['a raw control character in a string', '{"type":"RECORD","record":{"stream":"a","data":{"x":"a\u0001b"},"emitted_at":1}}'],
    ['a raw tab in a string', '{"type":"RECORD","record":{"stream":"a","data":{"x":"a\tb"},"emitted_at":1}}'],
    ['an unknown escape', '{"type":"RECORD","record":{"stream":"a","data":{"x":"\\x41"},"emitted_at":1}}'],
    ['a short unicode escape', '{"type":"RECORD","record":{"stream":"a","data":{"x":"\\u12G4"},"emitted_at":1}}'],
    ['single quotes', "{'type':'RECORD','record':{'stream':'a','data':{},'emitted_at':1}}"],
    ['a truncated literal', '{"type":"RECORD","record":{"stream":"a","data":{"x":tru},"emitted_at":1}}'],
    ['a capitalised literal', '{"type":"RECORD","record":{"stream":"a","data":{"x":True},"emitted_at":1}}'],
    ['a comment', '{"type":"RECORD","record":{"stream":"a","data":{/*c*/},"emitted_at":1}}'],
    ['a missing colon', '{"type":"RECORD","record":{"stream":"a","data":{"x" 1},"emitted_at":1}}'],
    ['a missing comma', '{"type":"RECORD","record":{"stream":"a","data":{"x":1 "y":2},"emitted_at":1}}'],
    ['an unquoted key', '{"type":"RECORD","record":{"stream":"a","data":{x:1},"emitted_at":1}}'],
    ['a mismatched bracket', '{"type":"RECORD","record":{"stream":"a","data":{"x":[1}},"emitted_at":1}}'],
    ['a second value after the object', RECORD + ' {}'],
    ['a comma after the object', RECORD + ','],
    ['a truncated line', RECORD.slice(0, -1)],
    ['an unterminated string', '{"type":"RECORD","record":{"stream":"a","data":{"x":"abc'],
    ['a non-breaking space as white space', '{"type":"RECORD",\u00a0"record":{"stream":"a","data":{},"emitted_at":1}}'],
    ['a byte order mark', '\ufeff' + RECORD],
  ])('leaves %s to JSON.parse, which rejects it', (_name, line) => {
    expect(scan(line)).toBeUndefined();
    expect(viaJsonParse(line)).toBe('invalid');
  });

  it.each([
    ['another message type', '{"type":"STATE","state":{"type":"STREAM"}}'],
    ['a RECORD without data', '{"type":"RECORD","record":{"stream":"a","emitted_at":1}}'],
    ['data that is an array', '{"type":"RECORD","record":{"stream":"a","data":[],"emitted_at":1}}'],
    ['data that is null', '{"type":"RECORD","record":{"stream":"a","data":null,"emitted_at":1}}'],
    ['a stream that is not a string', '{"type":"RECORD","record":{"stream":5,"data":{},"emitted_at":1}}'],
    ['emitted_at as a string', '{"type":"RECORD","record":{"stream":"a","data":{},"emitted_at":"1"}}'],
    ['a record that is not an object', '{"type":"RECORD","record":[]}'],
    ['a message without type', '{"record":{"stream":"a","data":{},"emitted_at":1}}'],
    ['a lower-case type', '{"type":"record","record":{"stream":"a","data":{},"emitted_at":1}}'],
    ['an array', '[1,2]'],
  ])('leaves %s to the general path', (_name, line) => {
    expect(scan(line)).toBeUndefined();
    expect(viaJsonParse(line)).not.toBe('invalid');
  });

  it('takes deep nesting in data without exhausting the stack', () => {
    const depth = 200_000;
    const line = `{"type":"RECORD","record":{"stream":"a","data":{"x":${'['.repeat(depth)}${']'.repeat(depth)}},"emitted_at":1}}`;
    expect(scan(line)).toEqual({ stream: 'a', namespace: undefined });
    expect(scan(line.replace(']]]}', ']]}'))).toBeUndefined();
  });

  it('agrees with JSON.parse on thousands of mutated lines (never accepts what JSON.parse rejects)', () => {
    const rand = seededRandom(12345);
    const alphabet = [
      '{',
      '}',
      '[',
      ']',
      '"',
      ':',
      ',',
      '\\',
      ' ',
      '0',
      '1',
      '-',
      '.',
      'e',
      'E',
      '+',
      'u',
      'n',
      't',
      'f',
      'a',
      '\u0001',
      '\t',
      'é',
      'x',
    ];
    const seeds = [
      RECORD,
      '{"type":"RECORD","record":{"namespace":"n","stream":"s","data":{"a":"\\u00e9\\\\","b":[1,2.5,-0,1E+2],"c":{"d":null}},"emitted_at":1,"meta":{"changes":[]}}}',
      '{"type":"RECORD","record":{"stream":"s","data":{},"emitted_at":0}}',
    ];
    let accepted = 0;
    let mutants = 0;
    for (let n = 0; n < 30_000; n++) {
      let line = seeds[n % seeds.length]!;
      const edits = 1 + Math.floor(rand() * 3);
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(rand() * (line.length + 1));
        const ch = alphabet[Math.floor(rand() * alphabet.length)]!;
        const op = rand();
        line =
          op < 0.33
            ? line.slice(0, at) + ch + line.slice(at)
            : op < 0.66
              ? line.slice(0, at) + line.slice(at + 1)
              : line.slice(0, at) + ch + line.slice(at + 1);
      }
      mutants++;
      const expected = viaJsonParse(line);
      const got = scan(line);
      if (got !== undefined) accepted++;
      // Whatever the fast path takes, the general path takes the same way; and every
      // well-formed RECORD is taken by the fast path.
      expect(got, line).toEqual(expected === 'invalid' ? undefined : expected);
    }
    expect(mutants).toBe(30_000);
    expect(accepted).toBeGreaterThan(100);
  });
});
