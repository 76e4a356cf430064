// SQL expressions that turn a record's raw JSON values into typed values (strictly: a value that
// does not fit becomes NULL, and the caller records a NULLED change), and that render typed values
// as text for CSV and JSONL. Everything here is pure string building; docs/types.md states the
// rules these expressions implement.
//
// "Raw" values come out of DuckDB's JSON reader in one of two shapes:
// - text-shaped (VARCHAR): strings unquoted, any other JSON value as its JSON text. Used for the
//   kinds whose source value is a string (string, binary, timestamps, date, time).
// - JSON-shaped (JSON): the value's JSON text, strings still quoted. Used for integer, number,
//   boolean and JSON kinds, so that "12" (a string) is told apart from 12 (a number), and for
//   nested values, which are parsed again at their own level.

import { duckdbType, quoteIdent, quoteLiteral, type ScalarKind, type ValueType } from './schema.js';

const TEXT_SHAPED: ReadonlySet<ScalarKind> = new Set(['string', 'binary', 'timestamptz', 'timestamp', 'date', 'time', 'timetz']);

/** The type a raw value is read as (see the header). */
export function rawShape(type: ValueType): 'VARCHAR' | 'JSON' {
  return type.kind !== 'struct' && type.kind !== 'list' && TEXT_SHAPED.has(type.kind) ? 'VARCHAR' : 'JSON';
}

export function isNested(type: ValueType): type is Extract<ValueType, { kind: 'struct' | 'list' }> {
  return type.kind === 'struct' || type.kind === 'list';
}

/** True when every value of the type's raw shape fits (no conversion can fail). */
function alwaysFits(type: ValueType): boolean {
  return type.kind === 'string' || type.kind === 'binary' || type.kind === 'json';
}

/** True when the type holds a STRUCT somewhere, i.e. a value can carry undeclared members. */
export function hasStruct(type: ValueType): boolean {
  if (type.kind === 'struct') return true;
  if (type.kind === 'list') return hasStruct(type.items);
  return false;
}

const text = (x: string): string => `CAST(${x} AS VARCHAR)`;
// Starts with a digit (':' follows '9' in ASCII); cheaper than taking a substring.
const digitFirst = (x: string): string => `(${x} >= '0' AND ${x} < ':')`;

const TIME_PATTERN = '[0-9][0-9]:[0-9][0-9]:[0-9][0-9](\\.[0-9]+)?';

/** Pads a one-digit offset hour at the end of a time (+5:30 → +05:30). */
function fixOffset(x: string): string {
  return `regexp_replace(${x}, '([+-])([0-9])(:[0-9][0-9])$', '\\10\\2\\3')`;
}

/**
 * Converts a raw scalar (of rawShape(kind)) to its typed value; NULL when it does not fit.
 * `x` is evaluated several times: pass a column or field reference, not a computation.
 */
export function convertScalar(kind: ScalarKind, x: string): string {
  switch (kind) {
    case 'string':
    case 'binary':
      return x;
    case 'json':
      return text(x);
    case 'integer': {
      const t = text(x);
      // Plain integer text casts exactly (strings keep their quotes and fail). Text with a
      // fraction or an exponent fits only when it is an exact integer: "5.0", "1e2".
      const d = `TRY_CAST(${t} AS DOUBLE)`;
      const fractional =
        `CASE WHEN regexp_full_match(${t}, '-?[0-9]+\\.0*') THEN TRY_CAST(split_part(${t}, '.', 1) AS BIGINT) ` +
        `WHEN abs(${d}) <= 9007199254740992 AND ${d} = trunc(${d}) THEN CAST(${d} AS BIGINT) END`;
      return `(CASE WHEN contains(${t}, '.') OR contains(${t}, 'e') OR contains(${t}, 'E') THEN ${fractional} ELSE TRY_CAST(${t} AS BIGINT) END)`;
    }
    case 'number': {
      const t = text(x);
      const d = `TRY_CAST(${t} AS DOUBLE)`;
      // JSON has no NaN or Infinity; Airbyte's well-known Number sends them as strings.
      return (
        `(CASE WHEN starts_with(${t}, '"') THEN (CASE ${t} WHEN '"NaN"' THEN CAST('NaN' AS DOUBLE) ` +
        `WHEN '"Infinity"' THEN CAST('Infinity' AS DOUBLE) WHEN '"-Infinity"' THEN CAST('-Infinity' AS DOUBLE) END) ` +
        `WHEN isinf(${d}) THEN NULL ELSE ${d} END)`
      );
    }
    case 'boolean':
      return `(CASE ${text(x)} WHEN 'true' THEN true WHEN 'false' THEN false END)`;
    case 'timestamptz':
    case 'timestamp': {
      const target = kind === 'timestamptz' ? 'TIMESTAMPTZ' : 'TIMESTAMP';
      // DuckDB reads ISO-8601 with offsets; the RFC 3339 / Airbyte forms it does not read
      // directly (a " BC" suffix, one-digit offset hours as in +5:30, lower-case t and z) are
      // rewritten on the slow path only.
      const fixed = `regexp_replace(${fixOffset(`upper(${x})`)}, '^([0-9]+-[0-9][0-9]-[0-9][0-9])[T ](.*) BC$', '\\1 (BC) \\2')`;
      return `(CASE WHEN ${digitFirst(x)} THEN COALESCE(TRY_CAST(${x} AS ${target}), TRY_CAST(${fixed} AS ${target})) END)`;
    }
    case 'date':
      // DuckDB's DATE cast ignores trailing text ("2022-01-23x"): only the plain ten-character
      // form goes to it directly; a date-time must parse whole (its wall-clock date is kept), and
      // " BC" is rewritten to DuckDB's "(BC)".
      return (
        `(CASE WHEN NOT ${digitFirst(x)} THEN NULL WHEN length(${x}) = 10 THEN TRY_CAST(${x} AS DATE) ` +
        `WHEN regexp_full_match(${x}, '[0-9]+-[0-9][0-9]-[0-9][0-9] BC') THEN TRY_CAST(replace(${x}, ' BC', ' (BC)') AS DATE) ` +
        `ELSE CAST(TRY_CAST(${x} AS TIMESTAMP) AS DATE) END)`
      );
    case 'time':
    case 'timetz':
      // Validated, then written as the source's own ISO-8601 text (Parquet TIME breaks older Spark).
      // The shape is checked as Airbyte's well-known types spell it (DuckDB's TIME cast ignores
      // trailing text), the ranges by DuckDB. TIMETZ wants "+00" for Z, two-digit offset hours.
      if (kind === 'time') return `(CASE WHEN regexp_full_match(${x}, '${TIME_PATTERN}') AND TRY_CAST(${x} AS TIME) IS NOT NULL THEN ${x} END)`;
      return (
        `(CASE WHEN regexp_full_match(${x}, '${TIME_PATTERN}([Zz]|[+-][0-9][0-9]?:[0-9][0-9])') ` +
        `AND TRY_CAST(regexp_replace(${fixOffset(x)}, '[Zz]$', '+00') AS TIMETZ) IS NOT NULL THEN ${x} END)`
      );
  }
}

/** convertScalar for a type known not to be nested. */
export function convertLeaf(type: ValueType, x: string): string {
  if (type.kind === 'struct' || type.kind === 'list') throw new Error(`convertLeaf: ${type.kind} is nested`);
  return convertScalar(type.kind, x);
}

/** True when a value of the type can fail to fit (and so needs a fits check). */
export function canMisfit(type: ValueType): boolean {
  return !alwaysFits(type);
}

/** A check that every key of a JSON object (keys: VARCHAR[]) is one of `names`. */
export function keysDeclared(keys: string, names: string[]): string {
  if (names.length === 0) return `(len(${keys}) = 0)`;
  const list = names.map(quoteLiteral).join(', ');
  // Sources mostly send every declared key in schema order: one list comparison settles it.
  // Otherwise: the keys add nothing to the declared names exactly when the distinct union of
  // both is as long as the names (hashing, linear in the keys; a membership test per key would
  // be quadratic on wide streams).
  return `(CASE WHEN ${keys} = [${list}]::VARCHAR[] THEN true ELSE len(list_distinct(list_concat(${keys}, [${list}]::VARCHAR[]))) = ${names.length} END)`;
}

/** Parses a raw nested value (JSON text) one level deep; NULL when it is not of the declared shape. */
export function parseNested(type: Extract<ValueType, { kind: 'struct' | 'list' }>, x: string): string {
  if (type.kind === 'struct') {
    const rawStruct = `STRUCT(${type.fields.map((f) => `${quoteIdent(f.name)} ${rawShape(f.type)}`).join(', ')})`;
    return `(CASE WHEN starts_with(${text(x)}, '{') THEN TRY_CAST(${x} AS ${rawStruct}) END)`;
  }
  return `(CASE WHEN starts_with(${text(x)}, '[') THEN TRY_CAST(${x} AS ${rawShape(type.items)}[]) END)`;
}

/**
 * Converts a raw value of any type into `{ok, und, v}`: ok is false when some part of a non-null
 * value does not fit (the caller then drops the whole value), und is true when an object carried
 * members its schema does not declare, v is the typed value. Used below the top level, where
 * there is no query layer to hold intermediate results: a lambda over a one-element list binds a
 * parsed value once (SQL has no let); scalar conversions are cheap enough to spell twice.
 */
export function convertPair(type: ValueType, x: string, depth = 0): string {
  if (type.kind === 'struct') return convertStructPair(type, x, depth);
  if (type.kind === 'list') return convertListPair(type, x, depth);
  const c = convertScalar(type.kind, x);
  const ok = alwaysFits(type) ? 'true' : `(${x} IS NULL OR ${c} IS NOT NULL)`;
  return `{'ok': ${ok}, 'und': false, 'v': ${c}}`;
}

function convertStructPair(type: Extract<ValueType, { kind: 'struct' }>, x: string, depth: number): string {
  const s = `s${depth}`;
  const p = `p${depth}`;
  const nested = type.fields.filter((f) => isNested(f.type));
  const member = (name: string): string => `${s}.${quoteIdent(name)}`;
  const pairOf = (name: string): string => `${p}.${quoteIdent(name)}`;
  const oks = type.fields.map((f) =>
    isNested(f.type) ? `${pairOf(f.name)}.ok` : alwaysFits(f.type) ? 'true' : `(${member(f.name)} IS NULL OR ${convertLeaf(f.type, member(f.name))} IS NOT NULL)`,
  );
  const values = type.fields.map(
    (f) => `${quoteIdent(f.name)} := ${isNested(f.type) ? `${pairOf(f.name)}.v` : convertLeaf(f.type, member(f.name))}`,
  );
  const nestedUnd = nested.filter((f) => hasStruct(f.type)).map((f) => ` OR ${pairOf(f.name)}.und`).join('');
  const result =
    `{'ok': ${x} IS NULL OR (${s} IS NOT NULL AND ${oks.join(' AND ')}), ` +
    `'und': ${s} IS NOT NULL AND (NOT ${keysDeclared(`json_keys(${x})`, type.fields.map((f) => f.name))}${nestedUnd}), ` +
    `'v': CASE WHEN ${s} IS NULL THEN NULL ELSE struct_pack(${values.join(', ')}) END}`;
  const bound = nested.length
    ? `list_transform([{${nested.map((f) => `${quoteLiteral(f.name)}: ${convertPair(f.type, member(f.name), depth + 1)}`).join(', ')}}], lambda ${p}: ${result})[1]`
    : result;
  return `list_transform([${parseNested(type, x)}], lambda ${s}: ${bound})[1]`;
}

function convertListPair(type: Extract<ValueType, { kind: 'list' }>, x: string, depth: number): string {
  const l = `l${depth}`;
  const e = `e${depth}`;
  const q = `q${depth}`;
  const z = `z${depth}`;
  let result: string;
  if (alwaysFits(type.items)) {
    const v = type.items.kind === 'json' ? `CAST(${l} AS VARCHAR[])` : l;
    result = `{'ok': ${x} IS NULL OR ${l} IS NOT NULL, 'und': false, 'v': ${v}}`;
  } else if (!isNested(type.items)) {
    const v = `list_transform(${l}, lambda ${e}: ${convertLeaf(type.items, e)})`;
    result = `list_transform([${v}], lambda ${q}: {'ok': ${x} IS NULL OR (${l} IS NOT NULL AND list_aggregate(${l}, 'count') = list_aggregate(${q}, 'count')), 'und': false, 'v': ${q}})[1]`;
  } else {
    const und = hasStruct(type.items) ? `COALESCE(list_bool_or(list_transform(${q}, lambda ${z}: ${z}.und)), false)` : 'false';
    const inner =
      `{'ok': ${x} IS NULL OR (${l} IS NOT NULL AND COALESCE(list_bool_and(list_transform(${q}, lambda ${z}: ${z}.ok)), true)), ` +
      `'und': ${und}, 'v': list_transform(${q}, lambda ${z}: ${z}.v)}`;
    result = `list_transform([list_transform(${l}, lambda ${e}: ${convertPair(type.items, e, depth + 1)})], lambda ${q}: ${inner})[1]`;
  }
  return `list_transform([${parseNested(type, x)}], lambda ${l}: ${result})[1]`;
}

// ---- rendering as text (CSV, JSONL) ----

/** ISO-8601 text of a TIMESTAMP WITH TIME ZONE (UTC, "Z") or a TIMESTAMP, microseconds. */
export function isoTimestamp(tv: string, withZone: boolean): string {
  const zone = withZone ? 'Z' : '';
  // As a plain TIMESTAMP (UTC wall clock; the session is UTC): ICU's year() of a TIMESTAMPTZ
  // counts BC years by era, the core one astronomically.
  const v = withZone ? `CAST(${tv} AS TIMESTAMP)` : tv;
  const lower = "TIMESTAMP '1000-01-01 00:00:00'";
  // strftime pads years to four digits only from 1000 on; earlier years (and BC, as astronomical
  // years: 1 BC is 0000, 2 BC is -0001) are spelled out on the slow path.
  return (
    `(CASE WHEN ${v} >= ${lower} THEN strftime(${v}, '%Y-%m-%dT%H:%M:%S.%f${zone}') ` +
    `WHEN ${v} IS NOT NULL THEN ${yearText(`year(${v})`)} || strftime(${v}, '-%m-%dT%H:%M:%S.%f${zone}') END)`
  );
}

/** ISO-8601 text of a DATE. */
export function isoDate(v: string): string {
  return `(CASE WHEN ${v} >= DATE '1000-01-01' THEN CAST(${v} AS VARCHAR) WHEN ${v} IS NOT NULL THEN ${yearText(`year(${v})`)} || strftime(${v}, '-%m-%d') END)`;
}

function yearText(y: string): string {
  return `(CASE WHEN ${y} < 0 THEN '-' ELSE '' END || lpad(CAST(abs(${y}) AS VARCHAR), 4, '0'))`;
}

/** A DOUBLE as text; NaN and infinities as Airbyte's well-known Number spells them. */
export function doubleText(v: string): string {
  return `(CASE WHEN isnan(${v}) THEN 'NaN' WHEN ${v} = CAST('Infinity' AS DOUBLE) THEN 'Infinity' WHEN ${v} = CAST('-Infinity' AS DOUBLE) THEN '-Infinity' ELSE CAST(${v} AS VARCHAR) END)`;
}

/** A typed value rendered as a JSON value (type JSON), for CSV cells and JSONL fields. */
export function renderJson(type: ValueType, v: string, depth = 0): string {
  switch (type.kind) {
    case 'json':
      return `CAST(${v} AS JSON)`;
    case 'number':
      return `(CASE WHEN isfinite(${v}) THEN to_json(${v}) WHEN ${v} IS NOT NULL THEN to_json(${doubleText(v)}) END)`;
    case 'timestamptz':
    case 'timestamp':
      return `to_json(${isoTimestamp(v, type.kind === 'timestamptz')})`;
    case 'date':
      return `to_json(${isoDate(v)})`;
    case 'struct': {
      const members = type.fields.map((f) => `${quoteLiteral(f.name)}, ${renderJson(f.type, `${v}.${quoteIdent(f.name)}`, depth + 1)}`);
      return `(CASE WHEN ${v} IS NOT NULL THEN json_object(${members.join(', ')}) END)`;
    }
    case 'list': {
      const e = `r${depth}`;
      return `to_json(list_transform(${v}, lambda ${e}: ${renderJson(type.items, e, depth + 1)}))`;
    }
    default:
      return `to_json(${v})`;
  }
}
