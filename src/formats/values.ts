// SQL expressions that turn a record's raw JSON values into typed values (strictly: a value that
// does not fit becomes NULL, and the caller records a NULLED change), and that render typed values
// as text for CSV and JSONL. Everything here is pure string building; docs/types.md states the
// rules these expressions implement.
//
// "Raw" values come out of DuckDB's JSON reader in one of two shapes:
// - text-shaped (VARCHAR): strings unquoted, any other JSON value as its JSON text. Used for the
//   kinds whose source value is a string (string, timestamps, date, time).
// - JSON-shaped (JSON): the value's JSON text, strings still quoted. Used for integer, number,
//   boolean, binary and JSON kinds, so that "12" (a string) is told apart from 12 (a number), and
//   for nested values, which are parsed again at their own level. (DuckDB writes a string's JSON
//   text with the fewest escapes: base64 text comes out between its quotes as it is.)
//
// Numbers: DuckDB reads a number with a fraction or an exponent as a double, so an integer column
// sees 1.0000000000000001 as 1.0. The record scan gives a record carrying such a number the
// 'inexact' verdict (src/protocol/record-rewrite.ts, src/formats/spool-line.ts), and spools
// integers of 2^53 and beyond written with a fraction (123456789012345678.0) as their digits; an
// integer column takes a fraction or exponent form only below 2^53 and on a line without that
// verdict. `__v` is the spooled line's verdict (query.ts).

import { INEXACT_VERDICT_SQL } from './spool-line.js';
import { quoteIdent, quoteLiteral, type ScalarKind, type ScalarType, type ValueType } from './schema.js';

const TEXT_SHAPED: ReadonlySet<ScalarKind> = new Set(['string', 'timestamptz', 'timestamp', 'date', 'time', 'timetz', 'time_or_timetz']);
/** 2^53: below it every integer is a double of its own. */
const SAFE_INTEGER_BOUND = '9007199254740992';

/** The type a raw value is read as (see the header). */
export function rawShape(type: ValueType): 'VARCHAR' | 'JSON' {
  return type.kind !== 'struct' && type.kind !== 'list' && TEXT_SHAPED.has(type.kind) ? 'VARCHAR' : 'JSON';
}

export function isNested(type: ValueType): type is Extract<ValueType, { kind: 'struct' | 'list' }> {
  return type.kind === 'struct' || type.kind === 'list';
}

/** True when every value of the type's raw shape fits (no conversion can fail). */
function alwaysFits(type: ValueType): boolean {
  return type.kind === 'string' || type.kind === 'json';
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
/** Ends with ASCII white space (space, \t, \n, \v, \f, \r), which DuckDB's casts skip; ends_with costs next to nothing. */
const spaceLast = (x: string): string => `(${[32, 9, 10, 11, 12, 13].map((c) => `ends_with(${x}, chr(${c}))`).join(' OR ')})`;
/** The text between the quotes of a JSON string's text (known to hold no escapes). */
const unquoted = (t: string): string => `substr(${t}, 2, length(${t}) - 2)`;

// Shapes checked before a cast where DuckDB's cast is too lenient (it reads "2022-01-2x" as a date,
// takes 24:00:00 as a time of day). Timestamps are left to DuckDB's cast, which rejects trailing
// text, except for trailing white space (checked cheaply); its remaining leniencies (one-digit
// fields, 24:00:00, offsets beyond ±23:59) are documented in docs/types.md: a shape check on every
// timestamp value measured about 170 ns a value (several % of a conversion).
const DATE_SHAPE = '[0-9]{4,}-[0-9][0-9]-[0-9][0-9]';
const TIME_SHAPE = '(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\\.[0-9]+)?';
/** A date followed by a time of day (its rest is DuckDB's to read, as for timestamps). */
const DATE_TIME_SHAPE = `${DATE_SHAPE}[Tt ][0-9].*`;
const BASE64_SHAPE = '(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?';
const INTEGER_TEXT = '-?[0-9]+';
const NUMBER_TEXT = '-?[0-9]+(?:\\.[0-9]+)?';

/** Pads a one-digit offset hour at the end of a time (+5:30 → +05:30). */
function fixOffset(x: string): string {
  return `regexp_replace(${x}, '([+-])([0-9])(:[0-9][0-9])$', '\\10\\2\\3')`;
}

/** A timestamp text DuckDB reads: the RFC 3339 / Airbyte forms it does not (" BC", +5:30, t and z) rewritten. */
function fixTimestamp(x: string): string {
  return `regexp_replace(${fixOffset(`upper(${x})`)}, '^([0-9]+-[0-9][0-9]-[0-9][0-9])[T ](.*) BC$', '\\1 (BC) \\2')`;
}

/**
 * A TIMESTAMPTZ from text, each value on its own. DuckDB's ICU cast keeps the zone of the last
 * value that named one ("... America/New_York") and reads later values without an offset in it
 * (DuckDB 1.5: "2022-01-23T01:23:45" after a New York value came out 06:23:45Z). So only values
 * that carry a zone or an offset take that cast (an offset is applied as written, whatever the
 * cast's state); a value without either is read as a wall clock (the TIMESTAMP cast, which has no
 * zone state) and taken as UTC by arithmetic. "Carries a zone or an offset": a '+', a '-' after
 * the time's ':', or a last character that is not a digit (Z, a zone name, " BC" is rewritten
 * before). The checks cost next to nothing (contains, LIKE without a regex, a one-byte compare).
 */
function castTimestamptz(x: string): string {
  const zoned = `(contains(${x}, '+') OR ${x} LIKE '%:%-%' OR NOT (right(${x}, 1) BETWEEN '0' AND '9'))`;
  return `(CASE WHEN ${zoned} THEN TRY_CAST(${x} AS TIMESTAMPTZ) ELSE make_timestamptz(epoch_us(TRY_CAST(${x} AS TIMESTAMP))) END)`;
}

/** A timestamp (TIMESTAMPTZ or TIMESTAMP); the rewrite only when the direct cast fails. */
function castTimestamp(x: string, target: 'TIMESTAMPTZ' | 'TIMESTAMP'): string {
  const cast = (v: string): string => (target === 'TIMESTAMPTZ' ? castTimestamptz(v) : `TRY_CAST(${v} AS TIMESTAMP)`);
  return `COALESCE(${cast(x)}, ${cast(fixTimestamp(x))})`;
}

/** An integer from a JSON number's text: exact, or NULL (see the header on fractions and exponents). */
function integerFromNumber(t: string): string {
  const d = `TRY_CAST(${t} AS DOUBLE)`;
  const exact = `abs(${d}) < ${SAFE_INTEGER_BOUND} AND ${d} = trunc(${d}) AND NOT ${INEXACT_VERDICT_SQL}`;
  return `(CASE WHEN contains(${t}, '.') OR contains(${t}, 'e') OR contains(${t}, 'E') THEN (CASE WHEN ${exact} THEN CAST(${d} AS BIGINT) END) ELSE TRY_CAST(${t} AS BIGINT) END)`;
}

/**
 * Converts a raw scalar (of rawShape(type)) to its typed value; NULL when it does not fit.
 * `x` is evaluated several times: pass a column or field reference, not a computation.
 */
export function convertScalar(type: ScalarType, x: string): string {
  switch (type.kind) {
    case 'string':
      return x;
    case 'binary': {
      // Base64 as Airbyte's well-known BinaryData spells it (standard alphabet, padded); kept as text.
      const t = text(x);
      return `(CASE WHEN regexp_full_match(${t}, '"${BASE64_SHAPE}"') THEN ${unquoted(t)} END)`;
    }
    case 'json':
      return text(x);
    case 'integer': {
      const t = text(x);
      // A string fits only a well-known Integer (its canonical form: digits).
      if (!type.strings) return integerFromNumber(t);
      return `(CASE WHEN starts_with(${t}, '"') THEN (CASE WHEN regexp_full_match(${t}, '"${INTEGER_TEXT}"') THEN TRY_CAST(${unquoted(t)} AS BIGINT) END) ELSE ${integerFromNumber(t)} END)`;
    }
    case 'number': {
      const t = text(x);
      const d = `TRY_CAST(${t} AS DOUBLE)`;
      // JSON has no NaN or Infinity; Airbyte's well-known Number sends them as strings, and its
      // other values as strings of digits (taken by a well-known Number column only).
      const digits = type.strings
        ? `WHEN regexp_full_match(${t}, '"${NUMBER_TEXT}"') THEN (CASE WHEN NOT isinf(TRY_CAST(${unquoted(t)} AS DOUBLE)) THEN TRY_CAST(${unquoted(t)} AS DOUBLE) END) `
        : '';
      return (
        `(CASE WHEN starts_with(${t}, '"') THEN (CASE WHEN ${t} = '"NaN"' THEN CAST('NaN' AS DOUBLE) ` +
        `WHEN ${t} = '"Infinity"' THEN CAST('Infinity' AS DOUBLE) WHEN ${t} = '"-Infinity"' THEN CAST('-Infinity' AS DOUBLE) ${digits}END) ` +
        `WHEN isinf(${d}) THEN NULL ELSE ${d} END)`
      );
    }
    case 'boolean':
      return `(CASE ${text(x)} WHEN 'true' THEN true WHEN 'false' THEN false END)`;
    case 'timestamptz':
    case 'timestamp':
      return `(CASE WHEN ${digitFirst(x)} AND NOT ${spaceLast(x)} THEN ${castTimestamp(x, type.kind === 'timestamptz' ? 'TIMESTAMPTZ' : 'TIMESTAMP')} END)`;
    case 'date':
      // YYYY-MM-DD (the common case, tested first: DuckDB's DATE cast ignores trailing text), with
      // Airbyte's " BC", or a full date-time, whose own calendar date is kept (its wall-clock
      // date, whatever its offset), BC included.
      return (
        `(CASE WHEN length(${x}) = 10 AND regexp_full_match(${x}, '${DATE_SHAPE}') THEN TRY_CAST(${x} AS DATE) ` +
        `WHEN regexp_full_match(${x}, '${DATE_SHAPE} BC') THEN TRY_CAST(replace(${x}, ' BC', ' (BC)') AS DATE) ` +
        `WHEN regexp_full_match(${x}, '${DATE_TIME_SHAPE}') AND NOT ${spaceLast(x)} THEN CAST(${castTimestamp(x, 'TIMESTAMP')} AS DATE) END)`
      );
    case 'time':
    case 'timetz':
    case 'time_or_timetz': {
      // Validated, then written as the source's own ISO-8601 text (Parquet TIME breaks older
      // Spark). The shape checks the ranges too: hours 00-23, offsets up to ±23:59.
      if (type.kind === 'time') return `(CASE WHEN regexp_full_match(${x}, '${TIME_SHAPE}') THEN ${x} END)`;
      const offset = `(?:[Zz]|[+-](?:[01]?[0-9]|2[0-3]):[0-5][0-9])${type.kind === 'time_or_timetz' ? '?' : ''}`;
      return `(CASE WHEN regexp_full_match(${x}, '${TIME_SHAPE}${offset}') THEN ${x} END)`;
    }
  }
}

/** Airbyte's reasons for a NULLED change (AirbyteRecordMessageMetaChange.Reason). */
export const FIELD_SIZE_LIMITATION = 'DESTINATION_FIELD_SIZE_LIMITATION';
export const SERIALIZATION_ERROR = 'DESTINATION_SERIALIZATION_ERROR';

/**
 * The reason a raw scalar that did not fit was nulled, as Airbyte's CDK gives it: a number too
 * large for the column's type (an integer beyond int64, a number beyond a double's range) is
 * DESTINATION_FIELD_SIZE_LIMITATION; anything else (wrong type, shape or format) is
 * DESTINATION_SERIALIZATION_ERROR. `raw` as for convertScalar.
 */
export function misfitReason(type: ValueType, raw: string): string {
  const serialization = quoteLiteral(SERIALIZATION_ERROR);
  if (type.kind !== 'integer' && type.kind !== 'number') return serialization;
  const t = text(raw);
  const d = `TRY_CAST(${t} AS DOUBLE)`;
  // An integer token beyond int64 (its double is at least 2^63 in magnitude), or any number token
  // beyond a double; a well-known Integer's or Number's digits (the only strings that can fail
  // by size: other strings fail by shape).
  const tooLarge = type.kind === 'integer' ? `abs(${d}) >= 9223372036854775808` : `isinf(${d})`;
  const digits = type.strings
    ? ` OR (regexp_full_match(${t}, '"${type.kind === 'integer' ? INTEGER_TEXT : NUMBER_TEXT}"') AND ${type.kind === 'integer' ? 'true' : `isinf(TRY_CAST(${unquoted(t)} AS DOUBLE))`})`
    : '';
  return `(CASE WHEN (NOT starts_with(${t}, '"') AND ${tooLarge})${digits} THEN ${quoteLiteral(FIELD_SIZE_LIMITATION)} ELSE ${serialization} END)`;
}

/** convertScalar for a type known not to be nested. */
export function convertLeaf(type: ValueType, x: string): string {
  if (type.kind === 'struct' || type.kind === 'list') throw new Error(`convertLeaf: ${type.kind} is nested`);
  return convertScalar(type, x);
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
  const c = convertScalar(type, x);
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
    isNested(f.type)
      ? `${pairOf(f.name)}.ok`
      : alwaysFits(f.type)
        ? 'true'
        : `(${member(f.name)} IS NULL OR ${convertLeaf(f.type, member(f.name))} IS NOT NULL)`,
  );
  const values = type.fields.map((f) => `${quoteIdent(f.name)} := ${isNested(f.type) ? `${pairOf(f.name)}.v` : convertLeaf(f.type, member(f.name))}`);
  const nestedUnd = nested
    .filter((f) => hasStruct(f.type))
    .map((f) => ` OR ${pairOf(f.name)}.und`)
    .join('');
  const result =
    `{'ok': ${x} IS NULL OR (${s} IS NOT NULL AND ${oks.join(' AND ')}), ` +
    `'und': ${s} IS NOT NULL AND (NOT ${keysDeclared(
      `json_keys(${x})`,
      type.fields.map((f) => f.name),
    )}${nestedUnd}), ` +
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

/**
 * JSON text (VARCHAR) as a JSONL value: embedded as it is, unless two of its keys differ only in
 * case. Readers that fold case (DuckDB's read_json, Spark, Athena's JSON SerDe, BigQuery) refuse
 * such an object ("Duplicate name"), and Parquet keeps such values as JSON text anyway: the value
 * is then written as a JSON string holding its text. Keys are taken from DuckDB's serialisation
 * (no white space, every key `"...":`), at every depth; keys of different objects count as one
 * set, which errs on the side of a string. Values without an upper-case character skip the test.
 */
export function jsonlJson(v: string): string {
  const keys = `regexp_extract_all(${v}, '"((?:[^"\\\\]|\\\\.)*)":', 1)`;
  const collide = `list_transform([${keys}], lambda jks: len(list_distinct(list_transform(jks, lambda jk: lower(jk)))) < len(list_distinct(jks)))[1]`;
  return `(CASE WHEN lower(${v}) <> ${v} AND ${collide} THEN to_json(${v}) ELSE CAST(${v} AS JSON) END)`;
}

/**
 * A typed value rendered as a JSON value (type JSON), for CSV cells and JSONL fields; `jsonl`:
 * JSON text values as jsonlJson writes them.
 */
export function renderJson(type: ValueType, v: string, depth = 0, jsonl = false): string {
  switch (type.kind) {
    case 'json':
      return jsonl ? jsonlJson(v) : `CAST(${v} AS JSON)`;
    case 'number':
      return `(CASE WHEN isfinite(${v}) THEN to_json(${v}) WHEN ${v} IS NOT NULL THEN to_json(${doubleText(v)}) END)`;
    case 'timestamptz':
    case 'timestamp':
      return `to_json(${isoTimestamp(v, type.kind === 'timestamptz')})`;
    case 'date':
      return `to_json(${isoDate(v)})`;
    case 'struct': {
      const members = type.fields.map((f) => `${quoteLiteral(f.name)}, ${renderJson(f.type, `${v}.${quoteIdent(f.name)}`, depth + 1, jsonl)}`);
      return `(CASE WHEN ${v} IS NOT NULL THEN json_object(${members.join(', ')}) END)`;
    }
    case 'list': {
      const e = `r${depth}`;
      return `to_json(list_transform(${v}, lambda ${e}: ${renderJson(type.items, e, depth + 1, jsonl)}))`;
    }
    default:
      return `to_json(${v})`;
  }
}
