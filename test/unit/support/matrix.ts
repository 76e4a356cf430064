// The type-matrix fixture: a stream schema covering every type the converter maps, spool lines
// with valid, null, absent, invalid and edge values, and what each record must read back as
// (canonical form of support/formats.ts). Shared by the type-matrix tests of every format.

import type { Canon } from './formats.js';
import type { StructField, ValueType } from '../../../src/formats/schema.js';

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
};

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
        '"one_of":{"z":1},"untyped":[1,"two"],"unknown":"12.50"}',
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
        '"objs":[{"k":"a","v":1.5}],"open":"str","anyobj":5,"union":true,"any_of":"x","one_of":[1],"untyped":{"deep":{"er":null}},"unknown":{"x":1}}',
      1_700_000_000_123,
      `{"changes":[${JSON.stringify(SOURCE_CHANGE)}]}`,
    ),
    values: { str: '123', bin: 'false', open: 'str', anyobj: 5, union: true, one_of: [1], untyped: { deep: { er: null } }, unknown: { x: 1 } },
    nulled: ['int', 'num', 'bool', 'ts', 'ts_wk', 'ts_ntz', 'day', 't', 'ttz', 'ints', 'strs', 'obj', 'objs', 'any_of'],
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
    values: { num: 1e39, ts: '1970-01-01T00:00:00.000000Z', ts_wk: '1969-12-31T23:59:59.999999Z', ts_ntz: '1900-01-01T00:00:00.000000', day: '1969-12-31' },
    nulled: ['int'],
    extras: null,
    extractedAt: '1970-01-01T00:00:00.000000Z',
  },
  {
    id: 6,
    line: line('{"id":6,"int":9223372036854775807,"num":1e400,"ts":"1969-12-31T23:59:59.999Z"}', -1),
    values: { int: '9223372036854775807', ts: '1969-12-31T23:59:59.999000Z' },
    nulled: ['num'],
    extras: null,
    extractedAt: '1969-12-31T23:59:59.999000Z',
  },
  { id: 7, line: line('{"id":7,"int":-9223372036854775808,"num":"NaN"}'), values: { int: '-9223372036854775808', num: 'NaN' }, nulled: [], extras: null, extractedAt: T0 },
  { id: 8, line: line('{"id":8,"int":9223372036854775808,"num":"Infinity"}'), values: { num: 'Infinity' }, nulled: ['int'], extras: null, extractedAt: T0 },
  { id: 9, line: line('{"id":9,"int":5.0,"num":-1e-7,"ints":[1e2,-0,7]}'), values: { int: '5', num: -1e-7, ints: ['100', '0', '7'] }, nulled: [], extras: null, extractedAt: T0 },
  { id: 10, line: line('{"id":10,"int":1.5,"num":"-Infinity","ints":[1,2.5]}'), values: { num: '-Infinity' }, nulled: ['int', 'ints'], extras: null, extractedAt: T0 },
  {
    id: 11,
    line: line('{"id":11,"str":"h\\u00e9llo \\"quoted\\", comma\\nnew line\\r\\n tab\\t \u2603 \ud83d\ude00 \\\\ back","bin":"","strs":["","x,y","\\"q\\""]}'),
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
    line: line('{"id":15,"int":0,"num":0.1,"ts":"2020-02-29T23:59:59.123456Z","ts_ntz":"2020-02-29T23:59:59.000001","t":"23:59:59.999999","ttz":"00:00:00Z"}'),
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
];

/** The full expected row of a record (data columns plus the checkable metadata). */
export function expectedRow(r: MatrixRecord, syncId: number, generationId: number): Record<string, Canon> {
  const row: Record<string, Canon> = {};
  for (const name of Object.keys(MATRIX_TYPES)) row[name] = r.values[name] ?? null;
  row.id = String(r.id);
  row._airbyte_extracted_at = r.extractedAt;
  row._airbyte_generation_id = String(generationId);
  row._airbyte_meta = {
    sync_id: String(syncId),
    changes: [...(r.sourceChanges ?? []), ...r.nulled.map((field) => ({ field, change: 'NULLED', reason: 'DESTINATION_SERIALIZATION_ERROR' }))],
  };
  row._airbyte_additional_properties = r.extras;
  return row;
}
