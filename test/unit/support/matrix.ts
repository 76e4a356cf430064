// The type-matrix fixture: a stream schema covering every type the converter maps, spool lines
// with valid, null, absent, invalid and edge values, and what each record must read back as
// (canonical form of support/formats.ts). Shared by the type-matrix tests of every format.

import type { Canon } from './formats.js';
import type { StructField, ValueType } from '../../../src/formats/schema.js';
import { recordLineToSpool } from '../../../src/protocol/record-scan.js';

const WK = (name: string) => ({ $ref: `WellKnownTypes.json#/definitions/${name}` });

export const MATRIX_SCHEMA = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    int: { type: ['null', 'integer'] },
    num: { type: 'number' },
    bool: { type: 'boolean' },
    str: { type: 'string' },
    ts: { type: 'string', format: 'date-time' },
    ts_wk: { $ref: 'WellKnownTypes.json#/definitions/TimestampWithTimezone' },
    ts_ntz: { type: 'string', format: 'date-time', airbyte_type: 'timestamp_without_timezone' },
    day: { type: 'string', format: 'date' },
    t: { type: 'string', format: 'time', airbyte_type: 'time_without_timezone' },
    ttz: { $ref: 'WellKnownTypes.json#/definitions/TimeWithTimezone' },
    bin: { type: 'string', contentEncoding: 'base64' },
    ints: { type: 'array', items: { type: 'integer' } },
    strs: { type: 'array', items: { type: ['null', 'string'] } },
    obj: {
      type: 'object',
      properties: {
        a: { type: 'integer' },
        b: { type: 'string' },
        when: { type: 'string', format: 'date-time' },
        inner: { type: 'object', properties: { x: { type: 'number' } } },
      },
    },
    objs: { type: 'array', items: { type: 'object', properties: { k: { type: 'string' }, v: { type: 'integer' } } } },
    open: { type: 'object', additionalProperties: true, properties: { a: { type: 'string' } } },
    anyobj: { type: 'object' },
    union: { type: ['string', 'integer'] },
    any_of: { anyOf: [{ type: 'null' }, { type: 'integer' }] },
    one_of: { oneOf: [{ type: 'string' }, { type: 'object' }] },
    untyped: {},
    unknown: { type: 'decimal128' },
    wk_int: WK('Integer'),
    wk_num: WK('Number'),
    wk_bool: WK('Boolean'),
    wk_date: WK('Date'),
    wk_bin: WK('BinaryData'),
    wk_ts_ntz: WK('TimestampWithoutTimezone'),
    wk_ttz: WK('TimeWithTimezone'),
    str_any: { anyOf: [{ type: 'string' }, { type: 'string', format: 'date-time' }] },
  },
};

const I: ValueType = { kind: 'integer' };
const S: ValueType = { kind: 'string' };
const J: ValueType = { kind: 'json' };
const f = (name: string, type: ValueType): StructField => ({ name, type });

/** The value type each data column must get (asserted by the schema tests too). */
export const MATRIX_TYPES: Record<string, ValueType> = {
  id: I,
  int: I,
  num: { kind: 'number' },
  bool: { kind: 'boolean' },
  str: S,
  ts: { kind: 'timestamptz' },
  ts_wk: { kind: 'timestamptz' },
  ts_ntz: { kind: 'timestamp' },
  day: { kind: 'date' },
  t: { kind: 'time' },
  ttz: { kind: 'timetz' },
  bin: { kind: 'binary' },
  ints: { kind: 'list', items: I },
  strs: { kind: 'list', items: S },
  obj: {
    kind: 'struct',
    fields: [f('a', I), f('b', S), f('when', { kind: 'timestamptz' }), f('inner', { kind: 'struct', fields: [f('x', { kind: 'number' })] })],
  },
  objs: { kind: 'list', items: { kind: 'struct', fields: [f('k', S), f('v', I)] } },
  open: J,
  anyobj: J,
  union: J,
  any_of: I,
  one_of: J,
  untyped: J,
  unknown: J,
  wk_int: { kind: 'integer', strings: true },
  wk_num: { kind: 'number', strings: true },
  wk_bool: { kind: 'boolean' },
  wk_date: { kind: 'date' },
  wk_bin: { kind: 'binary' },
  wk_ts_ntz: { kind: 'timestamp' },
  wk_ttz: { kind: 'timetz' },
  str_any: S,
};

/** The type of each column as DuckDB names it, per format (the manifest must say exactly this). */
export const EXPECTED_COLUMN_TYPES: Record<'parquet' | 'csv' | 'jsonl', Record<string, string>> = (() => {
  const meta = 'STRUCT(sync_id BIGINT, changes STRUCT(field VARCHAR, change VARCHAR, reason VARCHAR)[])';
  const parquet: Record<string, string> = {
    _airbyte_raw_id: 'VARCHAR',
    _airbyte_extracted_at: 'TIMESTAMP WITH TIME ZONE',
    _airbyte_generation_id: 'BIGINT',
    _airbyte_meta: meta,
    id: 'BIGINT',
    int: 'BIGINT',
    num: 'DOUBLE',
    bool: 'BOOLEAN',
    str: 'VARCHAR',
    ts: 'TIMESTAMP WITH TIME ZONE',
    ts_wk: 'TIMESTAMP WITH TIME ZONE',
    ts_ntz: 'TIMESTAMP',
    day: 'DATE',
    t: 'VARCHAR',
    ttz: 'VARCHAR',
    bin: 'VARCHAR',
    ints: 'BIGINT[]',
    strs: 'VARCHAR[]',
    obj: 'STRUCT(a BIGINT, b VARCHAR, "when" TIMESTAMP WITH TIME ZONE, "inner" STRUCT(x DOUBLE))',
    objs: 'STRUCT(k VARCHAR, v BIGINT)[]',
    open: 'VARCHAR',
    anyobj: 'VARCHAR',
    union: 'VARCHAR',
    any_of: 'BIGINT',
    one_of: 'VARCHAR',
    untyped: 'VARCHAR',
    unknown: 'VARCHAR',
    wk_int: 'BIGINT',
    wk_num: 'DOUBLE',
    wk_bool: 'BOOLEAN',
    wk_date: 'DATE',
    wk_bin: 'VARCHAR',
    wk_ts_ntz: 'TIMESTAMP',
    wk_ttz: 'VARCHAR',
    str_any: 'VARCHAR',
    _airbyte_additional_properties: 'VARCHAR',
  };
  const jsonText = ['open', 'anyobj', 'union', 'one_of', 'untyped', 'unknown', '_airbyte_additional_properties'];
  const jsonl = { ...parquet, ...Object.fromEntries(jsonText.map((n) => [n, 'JSON'])) };
  // CSV cells hold nested values and the metadata as JSON text.
  const csv = { ...jsonl, ...Object.fromEntries(['_airbyte_meta', 'ints', 'strs', 'obj', 'objs'].map((n) => [n, 'JSON'])) };
  return { parquet, csv, jsonl };
})();

/** Types of the metadata columns, for reading them back canonically. */
export const META_TYPES: Record<string, ValueType> = {
  _airbyte_raw_id: S,
  _airbyte_extracted_at: { kind: 'timestamptz' },
  _airbyte_generation_id: I,
  _airbyte_meta: {
    kind: 'struct',
    fields: [f('sync_id', I), f('changes', { kind: 'list', items: { kind: 'struct', fields: [f('field', S), f('change', S), f('reason', S)] } })],
  },
  _airbyte_additional_properties: J,
};

export const ALL_TYPES: Record<string, ValueType> = { ...META_TYPES, ...MATRIX_TYPES };

export interface MatrixRecord {
  /** The spool line, as the source sent it. */
  line: string;
  id: number;
  /** Expected data values; columns not listed are null. */
  values: Record<string, Canon>;
  /** Fields the converter must list as NULLED, in column order. */
  nulled: string[];
  /** Those of `nulled` too large for their type: reason DESTINATION_FIELD_SIZE_LIMITATION (else DESTINATION_SERIALIZATION_ERROR). */
  tooLarge?: string[];
  /** The source's own changes, kept first. */
  sourceChanges?: { field: string; change: string; reason: string }[];
  extras: Canon;
  extractedAt: string;
}

export const BIG_STRING = 'x'.repeat(2 * 1024 * 1024) + 'END';

function line(data: string, emittedAt: number | string = 1_700_000_000_123, meta?: string): string {
  return `{"type":"RECORD","record":{"stream":"matrix","namespace":"public","data":${data},"emitted_at":${emittedAt}${meta ? `,"meta":${meta}` : ''}}}`;
}

const T0 = '2023-11-14T22:13:20.123000Z';
const SOURCE_CHANGE = { field: 'str', change: 'TRUNCATED', reason: 'SOURCE_FIELD_SIZE_LIMITATION' };
const ALL_NULL = Object.keys(MATRIX_SCHEMA.properties)
  .filter((k) => k !== 'id')
  .map((k) => `"${k}":null`)
  .join(',');

export const MATRIX_RECORDS: MatrixRecord[] = [
  {
    id: 1,
    line: line(
      '{"id":1,"int":42,"num":3.25,"bool":true,"str":"hello","ts":"2022-01-23T01:23:45.678+05:30","ts_wk":"2022-01-23T01:23:45Z",' +
        '"ts_ntz":"2022-01-23T01:23:45.123456","day":"2022-01-23","t":"01:23:45.678","ttz":"01:23:45+05:30","bin":"aGVsbG8=",' +
        '"ints":[1,2,3],"strs":["a",null,"b"],"obj":{"a":1,"b":"x","when":"2020-01-01T00:00:00Z","inner":{"x":1.5}},' +
        '"objs":[{"k":"a","v":1},{"k":"b","v":2}],"open":{"a":"x","extra":1},"anyobj":{"q":[1,2]},"union":"s","any_of":7,' +
        '"one_of":{"z":1},"untyped":[1,"two"],"unknown":"12.50","wk_int":"12345","wk_num":"123.45","wk_bool":true,"wk_date":"2022-01-23",' +
        '"wk_bin":"aGVsbG8=","wk_ts_ntz":"2022-01-23T01:23:45.678","wk_ttz":"01:23:45.678-11:30","str_any":"not a date"}',
    ),
    values: {
      int: '42',
      num: 3.25,
      bool: true,
      str: 'hello',
      ts: '2022-01-22T19:53:45.678000Z',
      ts_wk: '2022-01-23T01:23:45.000000Z',
      ts_ntz: '2022-01-23T01:23:45.123456',
      day: '2022-01-23',
      t: '01:23:45.678',
      ttz: '01:23:45+05:30',
      bin: 'aGVsbG8=',
      ints: ['1', '2', '3'],
      strs: ['a', null, 'b'],
      obj: { a: '1', b: 'x', when: '2020-01-01T00:00:00.000000Z', inner: { x: 1.5 } },
      objs: [
        { k: 'a', v: '1' },
        { k: 'b', v: '2' },
      ],
      open: { a: 'x', extra: 1 },
      anyobj: { q: [1, 2] },
      union: 's',
      any_of: '7',
      one_of: { z: 1 },
      untyped: [1, 'two'],
      unknown: '12.50',
      wk_int: '12345',
      wk_num: 123.45,
      wk_bool: true,
      wk_date: '2022-01-23',
      wk_bin: 'aGVsbG8=',
      wk_ts_ntz: '2022-01-23T01:23:45.678000',
      wk_ttz: '01:23:45.678-11:30',
      str_any: 'not a date',
    },
    nulled: [],
    extras: null,
    extractedAt: T0,
  },
  { id: 2, line: line(`{"id":2,${ALL_NULL}}`), values: {}, nulled: [], extras: null, extractedAt: T0 },
  { id: 3, line: line('{"id":3}'), values: {}, nulled: [], extras: null, extractedAt: T0 },
  {
    id: 4,
    line: line(
      '{"id":4,"int":"12","num":"abc","bool":"true","str":123,"ts":"not a date","ts_wk":1700000000,"ts_ntz":"2022-13-45T00:00:00",' +
        '"day":"2022-02-30","t":"25:61:00","ttz":"nope","bin":false,"ints":[1,"x"],"strs":"notalist","obj":{"a":"one"},' +
        '"objs":[{"k":"a","v":1.5}],"open":"str","anyobj":5,"union":true,"any_of":"x","one_of":[1],"untyped":{"deep":{"er":null}},"unknown":{"x":1},' +
        '"wk_int":"12.5","wk_num":"1e5","wk_bool":"true","wk_date":"2022-1-3","wk_bin":"aGVsbG8","wk_ts_ntz":"01:23:45","wk_ttz":"01:23:45+25:00","str_any":5}',
      1_700_000_000_123,
      `{"changes":[${JSON.stringify(SOURCE_CHANGE)}]}`,
    ),
    // A binary column takes base64 text only (false is not), a string column any value as its JSON text.
    values: { str: '123', open: 'str', anyobj: 5, union: true, one_of: [1], untyped: { deep: { er: null } }, unknown: { x: 1 }, str_any: '5' },
    nulled: [
      ...['int', 'num', 'bool', 'ts', 'ts_wk', 'ts_ntz', 'day', 't', 'ttz', 'bin', 'ints', 'strs', 'obj', 'objs', 'any_of'],
      ...['wk_int', 'wk_num', 'wk_bool', 'wk_date', 'wk_bin', 'wk_ts_ntz', 'wk_ttz'],
    ],
    sourceChanges: [SOURCE_CHANGE],
    extras: null,
    extractedAt: T0,
  },
  {
    id: 5,
    line: line(
      '{"id":5,"int":12345678901234567890123456789012,"num":1e39,"ts":"1970-01-01T00:00:00Z","ts_wk":"1969-12-31T23:59:59.999999Z",' +
        '"ts_ntz":"1900-01-01T00:00:00","day":"1969-12-31"}',
      0,
    ),
    values: {
      num: 1e39,
      ts: '1970-01-01T00:00:00.000000Z',
      ts_wk: '1969-12-31T23:59:59.999999Z',
      ts_ntz: '1900-01-01T00:00:00.000000',
      day: '1969-12-31',
    },
    nulled: ['int'],
    tooLarge: ['int'],
    extras: null,
    extractedAt: '1970-01-01T00:00:00.000000Z',
  },
  {
    id: 6,
    line: line('{"id":6,"int":9223372036854775807,"num":1e400,"ts":"1969-12-31T23:59:59.999Z"}', -1),
    values: { int: '9223372036854775807', ts: '1969-12-31T23:59:59.999000Z' },
    nulled: ['num'],
    tooLarge: ['num'],
    extras: null,
    extractedAt: '1969-12-31T23:59:59.999000Z',
  },
  {
    id: 7,
    line: line('{"id":7,"int":-9223372036854775808,"num":"NaN"}'),
    values: { int: '-9223372036854775808', num: 'NaN' },
    nulled: [],
    extras: null,
    extractedAt: T0,
  },
  {
    id: 8,
    line: line('{"id":8,"int":9223372036854775808,"num":"Infinity"}'),
    values: { num: 'Infinity' },
    nulled: ['int'],
    tooLarge: ['int'],
    extras: null,
    extractedAt: T0,
  },
  {
    id: 9,
    line: line('{"id":9,"int":5.0,"num":-1e-7,"ints":[1e2,-0,7]}'),
    values: { int: '5', num: -1e-7, ints: ['100', '0', '7'] },
    nulled: [],
    extras: null,
    extractedAt: T0,
  },
  {
    id: 10,
    line: line('{"id":10,"int":1.5,"num":"-Infinity","ints":[1,2.5]}'),
    values: { num: '-Infinity' },
    nulled: ['int', 'ints'],
    extras: null,
    extractedAt: T0,
  },
  {
    id: 11,
    line: line(
      '{"id":11,"str":"h\\u00e9llo \\"quoted\\", comma\\nnew line\\r\\n tab\\t \u2603 \ud83d\ude00 \\\\ back","bin":"","strs":["","x,y","\\"q\\""]}',
    ),
    values: { str: 'héllo "quoted", comma\nnew line\r\n tab\t ☃ 😀 \\ back', bin: '', strs: ['', 'x,y', '"q"'] },
    nulled: [],
    extras: null,
    extractedAt: T0,
  },
  {
    id: 12,
    line: line('{"id":12,"extra_field":{"deep":[1,2]},"ID":99,"Another":"x","obj":{"a":2,"b":"y","zzz":true},"objs":[{"k":"c","v":3,"more":1}]}'),
    values: { obj: { a: '2', b: 'y', when: null, inner: null }, objs: [{ k: 'c', v: '3' }] },
    nulled: [],
    extras: { extra_field: { deep: [1, 2] }, ID: 99, Another: 'x', obj: { a: 2, b: 'y', zzz: true }, objs: [{ k: 'c', v: 3, more: 1 }] },
    extractedAt: T0,
  },
  { id: 13, line: line(`{"id":13,"str":"${BIG_STRING}"}`), values: { str: BIG_STRING }, nulled: [], extras: null, extractedAt: T0 },
  {
    id: 14,
    line: line('{"id":14,"ts":"2022-01-23T01:23:45+5:30","ts_ntz":"2022-01-23 01:23:45","obj":{"a":1,"inner":{"x":"NaN"}}}'),
    values: { ts: '2022-01-22T19:53:45.000000Z', ts_ntz: '2022-01-23T01:23:45.000000', obj: { a: '1', b: null, when: null, inner: { x: 'NaN' } } },
    nulled: [],
    extras: null,
    extractedAt: T0,
  },
  {
    id: 15,
    line: line(
      '{"id":15,"int":0,"num":0.1,"ts":"2020-02-29T23:59:59.123456Z","ts_ntz":"2020-02-29T23:59:59.000001","t":"23:59:59.999999","ttz":"00:00:00Z"}',
    ),
    values: { int: '0', num: 0.1, ts: '2020-02-29T23:59:59.123456Z', ts_ntz: '2020-02-29T23:59:59.000001', t: '23:59:59.999999', ttz: '00:00:00Z' },
    nulled: [],
    extras: null,
    extractedAt: T0,
  },
  {
    id: 16,
    line: line('{"id":16,"str":"日本語","obj":{"a":-1,"b":"ü"},"ts":"0044-03-15T12:00:00Z","day":"0999-12-31"}'),
    values: { str: '日本語', obj: { a: '-1', b: 'ü', when: null, inner: null }, ts: '0044-03-15T12:00:00.000000Z', day: '0999-12-31' },
    nulled: [],
    extras: null,
    extractedAt: T0,
  },
  {
    // Lone UTF-16 surrogate escapes (JSON.parse takes them, DuckDB's parser does not): U+FFFD.
    id: 17,
    line: line('{"id":17,"str":"a\\ud800b","strs":["\\udc00","ok \\ud83d\\ude00"],"obj":{"b":"\\udbff"},"k\\ud800":1}'),
    values: { str: 'a\uFFFDb', strs: ['\uFFFD', 'ok \u{1F600}'], obj: { a: null, b: '\uFFFD', when: null, inner: null } },
    nulled: [],
    extras: { 'k\uFFFD': 1 },
    extractedAt: T0,
  },
  {
    // Integers of int64 beyond 2^53 written with a fraction or an exponent: exact, never rounded.
    id: 18,
    line: line(
      '{"id":18,"int":123456789012345678.0,"ints":[9007199254740993.0,1e18,-9223372036854775808.0],"obj":{"a":9007199254740993.0},' +
        '"objs":[{"k":"x","v":1.2345678901234567e18}],"any_of":4.5e15}',
    ),
    values: {
      int: '123456789012345678',
      ints: ['9007199254740993', '1000000000000000000', '-9223372036854775808'],
      obj: { a: '9007199254740993', b: null, when: null, inner: null },
      objs: [{ k: 'x', v: '1234567890123456700' }],
      any_of: '4500000000000000',
    },
    nulled: [],
    extras: null,
    extractedAt: T0,
  },
  {
    // Not integers, though their doubles are: NULLED in integer columns, rounded in number columns.
    id: 19,
    line: line('{"id":19,"int":1.0000000000000001,"num":0.99999999999999999,"ints":[1e-400],"untyped":[1.0000000000000001]}'),
    values: { num: 1, untyped: [1] },
    nulled: ['int', 'ints'],
    extras: null,
    extractedAt: T0,
  },
  {
    id: 20,
    line: line('{"id":20,"int":0.99999999999999999,"obj":{"a":1.0000000000000001},"objs":[{"v":9007199254740993.5}]}'),
    values: {},
    nulled: ['int', 'obj', 'objs'],
    extras: null,
    extractedAt: T0,
  },
  {
    // Beyond int64 and beyond double range, negative too.
    id: 21,
    line: line('{"id":21,"int":-9223372036854775809,"num":-1e400,"ints":[123456789012345678901234567890.0],"any_of":9007199254740993.5}'),
    values: {},
    nulled: ['int', 'num', 'ints', 'any_of'],
    tooLarge: ['int', 'num'],
    extras: null,
    extractedAt: T0,
  },
  {
    // Well-known types sent as numbers, and Airbyte's BC dates.
    id: 22,
    line: line(
      '{"id":22,"wk_int":-9223372036854775808,"wk_num":-1.5,"wk_date":"2022-01-23 BC","wk_bin":"","wk_ts_ntz":"2022-01-23T01:23:45 BC","wk_ttz":"01:23:45Z"}',
    ),
    values: {
      wk_int: '-9223372036854775808',
      wk_num: -1.5,
      wk_date: '-2021-01-23',
      wk_bin: '',
      wk_ts_ntz: '-2021-01-23T01:23:45.000000',
      wk_ttz: '01:23:45Z',
    },
    nulled: [],
    extras: null,
    extractedAt: T0,
  },
  {
    // Well-known Integer and Number as strings (the yaml's patterns and special values); plain
    // number columns take no digit strings.
    id: 23,
    line: line('{"id":23,"wk_int":"007","wk_num":"NaN","str_any":"2022-01-23T01:23:45Z"}'),
    values: { wk_int: '7', wk_num: 'NaN', str_any: '2022-01-23T01:23:45Z' },
    nulled: [],
    extras: null,
    extractedAt: T0,
  },
  {
    id: 24,
    line: line('{"id":24,"wk_int":"NaN","wk_num":"-12345678901234567890.5","num":"123.45","int":"12345"}'),
    values: { wk_num: -12345678901234567000 },
    nulled: ['int', 'num', 'wk_int'],
    extras: null,
    extractedAt: T0,
  },
  {
    // Shapes DuckDB's casts would take: trailing text after a date, trailing white space after a
    // timestamp, 24:00:00 as a time of day, a minute 60 in an offset, base64 with a space.
    id: 25,
    line: line(
      '{"id":25,"ts":"2022-01-23T01:23:45Z\\n","ts_wk":"2022-01-23T01:23:45Z ","ts_ntz":"2022-01-23T01:23:45 ","day":"2022-01-2x","t":"24:00:00",' +
        '"ttz":"01:23:45+05:60","bin":"a GVs"}',
    ),
    values: {},
    nulled: ['ts', 'ts_wk', 'ts_ntz', 'day', 't', 'ttz', 'bin'],
    extras: null,
    extractedAt: T0,
  },
  {
    // A BC date-time for a date column, a five-digit year, a negative zero written as a double.
    id: 26,
    line: line('{"id":26,"day":"2022-01-23T01:23:45 BC","ts":"12022-01-23T01:23:45Z","num":-0.0,"str_any":"x"}'),
    values: { day: '-2021-01-23', ts: '12022-01-23T01:23:45.000000Z', num: -0, str_any: 'x' },
    nulled: [],
    extras: null,
    extractedAt: T0,
  },
  {
    // -0 is the integer zero (no sign); of duplicate keys in data, the first counts.
    id: 27,
    line: line('{"id":27,"num":-0,"int":1,"int":2,"obj":{"a":3,"a":4,"b":"x"}}'),
    values: { num: 0, int: '1', obj: { a: '3', b: 'x', when: null, inner: null } },
    nulled: [],
    extras: null,
    extractedAt: T0,
  },
  {
    // Duplicate envelope members: the last counts, as JSON.parse (and the connector's routing) read it.
    id: 28,
    line: '{"type":"RECORD","record":{"stream":"matrix","namespace":"public","data":{"id":28,"int":1},"emitted_at":5,"data":{"id":28,"int":2},"emitted_at":1700000000123}}',
    values: { int: '2' },
    nulled: [],
    extras: null,
    extractedAt: T0,
  },
];

/** The spool the session writes for the matrix: each line as the record scan passes it on. */
export function matrixSpool(): string {
  return MATRIX_RECORDS.map((r) => recordLineToSpool(Buffer.from(r.line, 'utf8')).toString('utf8') + '\n').join('');
}

/** The full expected row of a record (data columns plus the checkable metadata). */
export function expectedRow(r: MatrixRecord, syncId: number, generationId: number): Record<string, Canon> {
  const row: Record<string, Canon> = {};
  for (const name of Object.keys(MATRIX_TYPES)) row[name] = r.values[name] ?? null;
  row.id = String(r.id);
  row._airbyte_extracted_at = r.extractedAt;
  row._airbyte_generation_id = String(generationId);
  row._airbyte_meta = {
    sync_id: String(syncId),
    changes: [
      ...(r.sourceChanges ?? []),
      ...r.nulled.map((field) => ({
        field,
        change: 'NULLED',
        reason: r.tooLarge?.includes(field) ? 'DESTINATION_FIELD_SIZE_LIMITATION' : 'DESTINATION_SERIALIZATION_ERROR',
      })),
    ],
  };
  row._airbyte_additional_properties = r.extras;
  return row;
}
