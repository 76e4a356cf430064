// JSON Schema → column plan (pure). Decides, for each top-level property of a stream's schema, the
// value type its column gets; docs/types.md states the same rules for users.
//
// Rules, in short:
// - scalars by `type` plus `format`/`airbyte_type`/`contentEncoding` and Airbyte's well-known types
//   (WellKnownTypes.json#/definitions/...);
// - `null` is dropped from type unions; anyOf/oneOf whose options (other than null) all map to one
//   type take that type; any other union, a missing or unknown type → JSON text;
// - an object is a STRUCT when it declares at least one property and does not declare itself open
//   (`additionalProperties`/`patternProperties` given as true or a schema); otherwise JSON text;
// - an array is a LIST when `items` is one schema that maps to anything but JSON text; otherwise
//   JSON text.

/** Column names the connector writes itself; a schema property with one of these names (in any case) is kept in the additional-properties column. */
export const META_COLUMNS = ['_airbyte_raw_id', '_airbyte_extracted_at', '_airbyte_generation_id', '_airbyte_meta'] as const;
export const ADDITIONAL_PROPERTIES_COLUMN = '_airbyte_additional_properties';

export type ScalarKind =
  | 'integer'
  | 'number'
  | 'boolean'
  | 'string'
  /** base64 text, kept as the text (docs/types.md). */
  | 'binary'
  | 'timestamptz'
  | 'timestamp'
  | 'date'
  /** Validated time of day, written as its ISO-8601 text. */
  | 'time'
  | 'timetz'
  /** A plain `format: time`: a time of day with or without an offset (as Airbyte's CDK reads it), as its text. */
  | 'time_or_timetz'
  /** Any JSON value, written as JSON text. */
  | 'json';

export type ValueType = ScalarType | { kind: 'struct'; fields: StructField[] } | { kind: 'list'; items: ValueType };

export interface ScalarType {
  kind: ScalarKind;
  /**
   * Integer and number only: the value may also come as a string of digits. Airbyte's well-known
   * Integer and Number are strings (WellKnownTypes.json: `type: string` with a digit pattern), so
   * a column from those references takes "12345" as well as 12345.
   */
  strings?: true;
}

export interface StructField {
  name: string;
  type: ValueType;
}

export interface DataColumn {
  /** The property name, as in the schema and the records. */
  name: string;
  type: ValueType;
}

export interface ColumnPlan {
  columns: DataColumn[];
  /** Declared properties that could not get a column (reserved or duplicate names); their values land in the additional-properties column. */
  unmapped: string[];
}

type Schema = Record<string, unknown>;

const MAX_DEPTH = 64;
const WELL_KNOWN_PREFIX = 'WellKnownTypes.json#/definitions/';
const WELL_KNOWN: Record<string, ScalarType> = {
  String: { kind: 'string' },
  BinaryData: { kind: 'binary' },
  Date: { kind: 'date' },
  TimestampWithTimezone: { kind: 'timestamptz' },
  TimestampWithoutTimezone: { kind: 'timestamp' },
  TimeWithTimezone: { kind: 'timetz' },
  TimeWithoutTimezone: { kind: 'time' },
  Number: { kind: 'number', strings: true },
  Integer: { kind: 'integer', strings: true },
  Boolean: { kind: 'boolean' },
};

/** Kinds whose values are strings in JSON: a union of them is a plain string column. */
const TEXT_KINDS: ReadonlySet<string> = new Set<ScalarKind>([
  'string',
  'binary',
  'timestamptz',
  'timestamp',
  'date',
  'time',
  'timetz',
  'time_or_timetz',
]);

const JSON_TYPE: ValueType = { kind: 'json' };

function isObject(x: unknown): x is Schema {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** Plans the data columns of a stream from its JSON schema. */
export function planColumns(jsonSchema: unknown): ColumnPlan {
  const root = isObject(jsonSchema) ? jsonSchema : {};
  const props = isObject(root.properties) ? root.properties : {};
  const reserved = new Set<string>([...META_COLUMNS, ADDITIONAL_PROPERTIES_COLUMN]);
  const taken = new Set<string>();
  const columns: DataColumn[] = [];
  const unmapped: string[] = [];
  for (const [name, schema] of Object.entries(props)) {
    const folded = name.toLowerCase();
    // Readers (DuckDB, Spark, Athena) resolve column names without regard to case: two names
    // that differ only in case cannot both be columns; the first declared wins.
    if (name === '' || name.includes('\u0000') || reserved.has(folded) || taken.has(folded)) {
      unmapped.push(name);
      continue;
    }
    taken.add(folded);
    columns.push({ name, type: resolve(schema, root, 0) });
  }
  return { columns, unmapped };
}

/** Maps one property schema to its value type. */
export function resolve(schema: unknown, root: Schema, depth: number, refs: ReadonlySet<string> = new Set()): ValueType {
  if (depth > MAX_DEPTH || !isObject(schema)) return JSON_TYPE;

  const ref = schema.$ref;
  if (typeof ref === 'string') return resolveRef(ref, root, depth, refs);

  const declared = schema.type;
  if (declared === undefined) {
    const options = (schema.anyOf ?? schema.oneOf) as unknown;
    if (Array.isArray(options)) return resolveUnion(options, root, depth, refs);
    if (Array.isArray(schema.allOf) && schema.allOf.length === 1) return resolve(schema.allOf[0], root, depth + 1, refs);
    // Untyped, but shaped like an object or an array: treat it as one.
    if (isObject(schema.properties)) return resolveTyped('object', schema, root, depth, refs);
    if (schema.items !== undefined) return resolveTyped('array', schema, root, depth, refs);
    return JSON_TYPE;
  }
  const types = (Array.isArray(declared) ? declared : [declared]).filter((t): t is string => typeof t === 'string' && t !== 'null');
  const unique = [...new Set(types)];
  if (unique.length === 1) return resolveTyped(unique[0]!, schema, root, depth, refs);
  // integer ⊂ number: a value of either fits a double column.
  if (unique.length === 2 && unique.includes('integer') && unique.includes('number')) return { kind: 'number' };
  return JSON_TYPE;
}

function resolveRef(ref: string, root: Schema, depth: number, refs: ReadonlySet<string>): ValueType {
  const wellKnown = ref.startsWith(WELL_KNOWN_PREFIX) ? WELL_KNOWN[ref.slice(WELL_KNOWN_PREFIX.length)] : undefined;
  if (wellKnown) return { ...wellKnown };
  // A local reference (#/definitions/x, #/$defs/x) into the stream's own schema.
  // A schema that refers to itself (a tree, a linked list) has no finite column type.
  if (ref.startsWith('#/') && !refs.has(ref)) {
    let node: unknown = root;
    for (const part of ref.slice(2).split('/')) {
      const key = part.replace(/~1/g, '/').replace(/~0/g, '~');
      node = isObject(node) ? node[key] : undefined;
    }
    if (node !== undefined) return resolve(node, root, depth + 1, new Set([...refs, ref]));
  }
  return JSON_TYPE;
}

function resolveUnion(options: unknown[], root: Schema, depth: number, refs: ReadonlySet<string>): ValueType {
  const nonNull = options.filter((o) => !(isObject(o) && (o.type === 'null' || (Array.isArray(o.type) && o.type.every((t) => t === 'null')))));
  if (nonNull.length === 0) return JSON_TYPE;
  const resolved = nonNull.map((o) => resolve(o, root, depth + 1, refs));
  const first = resolved[0]!;
  const key = JSON.stringify(first);
  if (resolved.every((t) => JSON.stringify(t) === key)) return first;
  const kinds = new Set(resolved.map((t) => t.kind));
  // Integers and numbers: a double (an integer fits it) that takes strings when any option does.
  if ([...kinds].every((k) => k === 'integer' || k === 'number')) {
    const strings = resolved.some((t) => (t as ScalarType).strings);
    return { kind: kinds.has('number') ? 'number' : 'integer', ...(strings ? { strings: true as const } : {}) };
  }
  // Different kinds of string (a date or a plain string): the text as sent, not JSON text.
  if ([...kinds].every((k) => TEXT_KINDS.has(k))) return { kind: 'string' };
  return JSON_TYPE;
}

function resolveTyped(type: string, schema: Schema, root: Schema, depth: number, refs: ReadonlySet<string>): ValueType {
  const airbyteType = typeof schema.airbyte_type === 'string' ? schema.airbyte_type : undefined;
  switch (type) {
    case 'string':
      return { kind: stringKind(schema, airbyteType) };
    case 'integer':
      return { kind: 'integer' };
    case 'number':
      // Protocol v0 spelled integers as {type: number, airbyte_type: integer}.
      return { kind: airbyteType === 'integer' ? 'integer' : 'number' };
    case 'boolean':
      return { kind: 'boolean' };
    case 'object':
      return resolveObject(schema, root, depth, refs);
    case 'array':
      return resolveArray(schema, root, depth, refs);
    default:
      return JSON_TYPE;
  }
}

function stringKind(schema: Schema, airbyteType: string | undefined): ScalarKind {
  switch (airbyteType) {
    case 'timestamp_with_timezone':
      return 'timestamptz';
    case 'timestamp_without_timezone':
      return 'timestamp';
    case 'time_with_timezone':
      return 'timetz';
    case 'time_without_timezone':
      return 'time';
    case 'big_integer':
    case 'big_number':
      // Protocol v0: numbers too large for the source's own types, sent as text. Kept as text.
      return 'string';
    default:
      break;
  }
  switch (schema.format) {
    case 'date-time':
      return 'timestamptz';
    case 'date':
      return 'date';
    case 'time':
      // Airbyte's CDK reads a plain `format: time` as a time with time zone, and sources send
      // both forms under it: either is kept.
      return 'time_or_timetz';
    default:
      break;
  }
  if (schema.contentEncoding === 'base64') return 'binary';
  return 'string';
}

function declaresOpen(schema: Schema): boolean {
  const ap = schema.additionalProperties;
  if (ap === true || isObject(ap)) return true;
  return isObject(schema.patternProperties) && Object.keys(schema.patternProperties).length > 0;
}

function resolveObject(schema: Schema, root: Schema, depth: number, refs: ReadonlySet<string>): ValueType {
  const props = isObject(schema.properties) ? schema.properties : {};
  const names = Object.keys(props);
  if (names.length === 0 || declaresOpen(schema)) return JSON_TYPE;
  // A member name that is empty or clashes with another in case cannot be a STRUCT field that
  // every reader resolves: the whole object stays JSON text.
  const folded = new Set(names.map((n) => n.toLowerCase()));
  if (folded.size !== names.length || names.some((n) => n === '' || n.includes('\u0000'))) return JSON_TYPE;
  return { kind: 'struct', fields: names.map((name) => ({ name, type: resolve(props[name], root, depth + 1, refs) })) };
}

function resolveArray(schema: Schema, root: Schema, depth: number, refs: ReadonlySet<string>): ValueType {
  const items = schema.items;
  if (!isObject(items) || schema.prefixItems !== undefined) return JSON_TYPE;
  const itemType = resolve(items, root, depth + 1, refs);
  if (itemType.kind === 'json') return JSON_TYPE;
  return { kind: 'list', items: itemType };
}

/** The DuckDB type a value type is held in (JSON text is VARCHAR). */
export function duckdbType(type: ValueType): string {
  switch (type.kind) {
    case 'integer':
      return 'BIGINT';
    case 'number':
      return 'DOUBLE';
    case 'boolean':
      return 'BOOLEAN';
    case 'timestamptz':
      return 'TIMESTAMP WITH TIME ZONE';
    case 'timestamp':
      return 'TIMESTAMP';
    case 'date':
      return 'DATE';
    case 'struct':
      return `STRUCT(${type.fields.map((f) => `${quoteIdent(f.name)} ${duckdbType(f.type)}`).join(', ')})`;
    case 'list':
      return `${duckdbType(type.items)}[]`;
    default:
      return 'VARCHAR';
  }
}

/** Quotes an identifier for DuckDB SQL. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Quotes a string literal for DuckDB SQL. */
export function quoteLiteral(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}
