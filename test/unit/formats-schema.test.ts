import { describe, expect, it } from 'vitest';
import { duckdbType, planColumns, resolve, type ValueType } from '../../src/formats/schema.js';
import { outputColumns } from '../../src/formats/query.js';
import { MATRIX_SCHEMA, MATRIX_TYPES } from './support/matrix.js';

const WK = (name: string) => ({ $ref: `WellKnownTypes.json#/definitions/${name}` });
const I: ValueType = { kind: 'integer' };
const S: ValueType = { kind: 'string' };
const J: ValueType = { kind: 'json' };

// schema → value type → DuckDB type of the Parquet column
const TABLE: [string, unknown, ValueType, string][] = [
  ['integer', { type: 'integer' }, I, 'BIGINT'],
  ['nullable integer', { type: ['null', 'integer'] }, I, 'BIGINT'],
  ['number', { type: 'number' }, { kind: 'number' }, 'DOUBLE'],
  ['v0 integer (number + airbyte_type)', { type: 'number', airbyte_type: 'integer' }, I, 'BIGINT'],
  ['integer or number', { type: ['integer', 'number'] }, { kind: 'number' }, 'DOUBLE'],
  ['boolean', { type: 'boolean' }, { kind: 'boolean' }, 'BOOLEAN'],
  ['string', { type: 'string' }, S, 'VARCHAR'],
  ['date-time', { type: 'string', format: 'date-time' }, { kind: 'timestamptz' }, 'TIMESTAMP WITH TIME ZONE'],
  [
    'timestamp_with_timezone',
    { type: 'string', format: 'date-time', airbyte_type: 'timestamp_with_timezone' },
    { kind: 'timestamptz' },
    'TIMESTAMP WITH TIME ZONE',
  ],
  [
    'timestamp_without_timezone',
    { type: 'string', format: 'date-time', airbyte_type: 'timestamp_without_timezone' },
    { kind: 'timestamp' },
    'TIMESTAMP',
  ],
  ['date', { type: 'string', format: 'date' }, { kind: 'date' }, 'DATE'],
  ["time (read as Airbyte's CDK does: with or without an offset)", { type: 'string', format: 'time' }, { kind: 'time_or_timetz' }, 'VARCHAR'],
  ['time_with_timezone', { type: 'string', format: 'time', airbyte_type: 'time_with_timezone' }, { kind: 'timetz' }, 'VARCHAR'],
  ['base64', { type: 'string', contentEncoding: 'base64' }, { kind: 'binary' }, 'VARCHAR'],
  ['v0 big_integer', { type: 'string', airbyte_type: 'big_integer' }, S, 'VARCHAR'],
  ['well-known String', WK('String'), S, 'VARCHAR'],
  ['well-known BinaryData', WK('BinaryData'), { kind: 'binary' }, 'VARCHAR'],
  ['well-known Date', WK('Date'), { kind: 'date' }, 'DATE'],
  ['well-known TimestampWithTimezone', WK('TimestampWithTimezone'), { kind: 'timestamptz' }, 'TIMESTAMP WITH TIME ZONE'],
  ['well-known TimestampWithoutTimezone', WK('TimestampWithoutTimezone'), { kind: 'timestamp' }, 'TIMESTAMP'],
  ['well-known TimeWithTimezone', WK('TimeWithTimezone'), { kind: 'timetz' }, 'VARCHAR'],
  ['well-known TimeWithoutTimezone', WK('TimeWithoutTimezone'), { kind: 'time' }, 'VARCHAR'],
  ['well-known Number (numbers and digit strings)', WK('Number'), { kind: 'number', strings: true }, 'DOUBLE'],
  ['well-known Integer (integers and digit strings)', WK('Integer'), { kind: 'integer', strings: true }, 'BIGINT'],
  ['anyOf null or well-known Integer', { anyOf: [{ type: 'null' }, WK('Integer')] }, { kind: 'integer', strings: true }, 'BIGINT'],
  ['anyOf well-known Integer or integer', { anyOf: [WK('Integer'), { type: 'integer' }] }, { kind: 'integer', strings: true }, 'BIGINT'],
  ['anyOf well-known Integer or number', { anyOf: [WK('Integer'), { type: 'number' }] }, { kind: 'number', strings: true }, 'DOUBLE'],
  ['well-known Boolean', WK('Boolean'), { kind: 'boolean' }, 'BOOLEAN'],
  ['unknown well-known type', WK('Decimal'), J, 'VARCHAR'],
  ['missing type', {}, J, 'VARCHAR'],
  ['unknown type', { type: 'decimal' }, J, 'VARCHAR'],
  ['null only', { type: 'null' }, J, 'VARCHAR'],
  ['union of string and integer', { type: ['string', 'integer'] }, J, 'VARCHAR'],
  [
    'anyOf null or date-time',
    { anyOf: [{ type: 'null' }, { type: 'string', format: 'date-time' }] },
    { kind: 'timestamptz' },
    'TIMESTAMP WITH TIME ZONE',
  ],
  ['oneOf string or integer', { oneOf: [{ type: 'string' }, { type: 'integer' }] }, J, 'VARCHAR'],
  ['anyOf integer or number', { anyOf: [{ type: 'integer' }, { type: 'number' }] }, { kind: 'number' }, 'DOUBLE'],
  ['anyOf string or date-time (plain text, not JSON text)', { anyOf: [{ type: 'string' }, { type: 'string', format: 'date-time' }] }, S, 'VARCHAR'],
  ['oneOf date or well-known BinaryData', { oneOf: [{ type: 'string', format: 'date' }, WK('BinaryData')] }, S, 'VARCHAR'],
  ['anyOf date-time or integer', { anyOf: [{ type: 'string', format: 'date-time' }, { type: 'integer' }] }, J, 'VARCHAR'],
  ['object without properties', { type: 'object' }, J, 'VARCHAR'],
  ['object with empty properties', { type: 'object', properties: {} }, J, 'VARCHAR'],
  [
    'object with properties',
    { type: 'object', properties: { a: { type: 'integer' }, 'b c': { type: 'string' } } },
    {
      kind: 'struct',
      fields: [
        { name: 'a', type: I },
        { name: 'b c', type: S },
      ],
    },
    'STRUCT("a" BIGINT, "b c" VARCHAR)',
  ],
  [
    'closed object',
    { type: 'object', additionalProperties: false, properties: { a: { type: 'integer' } } },
    { kind: 'struct', fields: [{ name: 'a', type: I }] },
    'STRUCT("a" BIGINT)',
  ],
  ['object open by additionalProperties: true', { type: 'object', additionalProperties: true, properties: { a: { type: 'integer' } } }, J, 'VARCHAR'],
  [
    'object open by an additionalProperties schema',
    { type: 'object', additionalProperties: { type: 'string' }, properties: { a: { type: 'integer' } } },
    J,
    'VARCHAR',
  ],
  ['object with patternProperties', { type: 'object', patternProperties: { '^x': {} }, properties: { a: { type: 'integer' } } }, J, 'VARCHAR'],
  ['object whose members differ only in case', { type: 'object', properties: { a: { type: 'integer' }, A: { type: 'integer' } } }, J, 'VARCHAR'],
  [
    'untyped object with properties',
    { properties: { a: { type: 'boolean' } } },
    { kind: 'struct', fields: [{ name: 'a', type: { kind: 'boolean' } }] },
    'STRUCT("a" BOOLEAN)',
  ],
  ['array of strings', { type: 'array', items: { type: 'string' } }, { kind: 'list', items: S }, 'VARCHAR[]'],
  [
    'array of objects',
    { type: 'array', items: { type: 'object', properties: { k: { type: 'string' } } } },
    { kind: 'list', items: { kind: 'struct', fields: [{ name: 'k', type: S }] } },
    'STRUCT("k" VARCHAR)[]',
  ],
  [
    'array of arrays of numbers',
    { type: 'array', items: { type: 'array', items: { type: 'number' } } },
    { kind: 'list', items: { kind: 'list', items: { kind: 'number' } } },
    'DOUBLE[][]',
  ],
  ['array without items', { type: 'array' }, J, 'VARCHAR'],
  ['array of anything', { type: 'array', items: {} }, J, 'VARCHAR'],
  ['tuple array', { type: 'array', items: [{ type: 'string' }, { type: 'integer' }] }, J, 'VARCHAR'],
  ['array of open objects', { type: 'array', items: { type: 'object' } }, J, 'VARCHAR'],
];

describe('JSON schema → column type', () => {
  it.each(TABLE)('%s', (_name, schema, expected, parquetType) => {
    const type = resolve(schema, {}, 0);
    expect(type).toEqual(expected);
    expect(duckdbType(type)).toBe(parquetType);
  });

  it('follows local $refs into the stream schema', () => {
    const root = { definitions: { money: { type: 'number' } }, $defs: { when: { type: 'string', format: 'date' } } };
    expect(resolve({ $ref: '#/definitions/money' }, root, 0)).toEqual({ kind: 'number' });
    expect(resolve({ $ref: '#/$defs/when' }, root, 0)).toEqual({ kind: 'date' });
    expect(resolve({ $ref: '#/definitions/missing' }, root, 0)).toEqual(J);
  });

  it('writes the recursive member of a self-referencing schema as JSON text', () => {
    const root = { definitions: { node: { type: 'object', properties: { value: { type: 'integer' }, next: { $ref: '#/definitions/node' } } } } };
    expect(resolve({ $ref: '#/definitions/node' }, root, 0)).toEqual({
      kind: 'struct',
      fields: [
        { name: 'value', type: I },
        { name: 'next', type: J },
      ],
    });
  });

  it('maps the type-matrix schema as the matrix tests expect', () => {
    const plan = planColumns(MATRIX_SCHEMA);
    expect(Object.fromEntries(plan.columns.map((c) => [c.name, c.type]))).toEqual(MATRIX_TYPES);
  });
});

describe('planColumns', () => {
  it('gives no column to reserved, empty or case-duplicate names, in schema order otherwise', () => {
    const plan = planColumns({
      type: 'object',
      properties: { b: { type: 'string' }, _airbyte_raw_id: {}, '': {}, a: { type: 'integer' }, B: {}, _AIRBYTE_ADDITIONAL_PROPERTIES: {} },
    });
    expect(plan.columns.map((c) => c.name)).toEqual(['b', 'a']);
    expect(plan.unmapped).toEqual(['_airbyte_raw_id', '', 'B', '_AIRBYTE_ADDITIONAL_PROPERTIES']);
  });

  it('plans no data column for a schema without properties', () => {
    expect(planColumns({}).columns).toEqual([]);
    expect(planColumns(undefined).columns).toEqual([]);
    expect(planColumns({ type: 'object', properties: [] }).columns).toEqual([]);
  });
});

describe('outputColumns', () => {
  const plan = planColumns({
    type: 'object',
    properties: { n: { type: 'integer' }, o: { type: 'object', properties: { x: { type: 'string' } } }, j: {} },
  });

  it('lists metadata first and the additional-properties column last, per format', () => {
    expect(outputColumns(plan, 'parquet')).toEqual([
      { name: '_airbyte_raw_id', type: 'VARCHAR' },
      { name: '_airbyte_extracted_at', type: 'TIMESTAMP WITH TIME ZONE' },
      { name: '_airbyte_generation_id', type: 'BIGINT' },
      { name: '_airbyte_meta', type: 'STRUCT(sync_id BIGINT, changes STRUCT(field VARCHAR, change VARCHAR, reason VARCHAR)[])' },
      { name: 'n', type: 'BIGINT' },
      { name: 'o', type: 'STRUCT("x" VARCHAR)' },
      { name: 'j', type: 'VARCHAR' },
      { name: '_airbyte_additional_properties', type: 'VARCHAR' },
    ]);
    expect(outputColumns(plan, 'csv').map((c) => c.type)).toEqual([
      'VARCHAR',
      'TIMESTAMP WITH TIME ZONE',
      'BIGINT',
      'JSON',
      'BIGINT',
      'JSON',
      'JSON',
      'JSON',
    ]);
    expect(
      outputColumns(plan, 'jsonl')
        .map((c) => c.type)
        .slice(3),
    ).toEqual([
      'STRUCT(sync_id BIGINT, changes STRUCT(field VARCHAR, change VARCHAR, reason VARCHAR)[])',
      'BIGINT',
      'STRUCT("x" VARCHAR)',
      'JSON',
      'JSON',
    ]);
  });
});
