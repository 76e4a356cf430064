// Builds the one SELECT that turns a spool of RECORD lines into the rows of a stream's output:
// metadata columns, typed data columns, the additional-properties column. Pure string building.
//
// Layers, so that each expression is computed once:
//   1. read: each line is parsed by DuckDB and cast once to a struct of the declared fields in
//      their raw shapes (values.ts); the keys of `data` are listed beside it;
//   2. convert: each raw field → its typed value (nested values: parsed one level);
//   3. nested: nested values converted;
//   4. NULL what does not fit, list the NULLED changes after the source's own, gather the
//      fields the schema does not declare;
//   5. render for the output format and name the columns.

import type { Format } from '../config/config.js';
import { spoolLinesSource } from './spool-line.js';
import {
  ADDITIONAL_PROPERTIES_COLUMN,
  duckdbType,
  quoteIdent,
  quoteLiteral,
  type ColumnPlan,
  type DataColumn,
  type StructField,
  type ValueType,
} from './schema.js';
import {
  canMisfit,
  convertLeaf,
  convertPair,
  convertScalar,
  doubleText,
  hasStruct,
  isoDate,
  isoTimestamp,
  isNested,
  jsonlJson,
  keysDeclared,
  misfitReason,
  parseNested,
  rawShape,
  renderJson,
} from './values.js';

export const CHANGE_TYPE = 'STRUCT(field VARCHAR, change VARCHAR, reason VARCHAR)';
export const META_TYPE = `STRUCT(sync_id BIGINT, changes ${CHANGE_TYPE}[])`;

export interface ConversionQueryInput {
  plan: ColumnPlan;
  format: Format['type'];
  syncId: number;
  generationId: number;
  spoolPath: string;
  /** At least the longest line of the spool, in bytes (sizes the reader's buffers). */
  maxObjectBytes: number;
}

export interface OutputColumn {
  name: string;
  /** The DuckDB type of the written column, for the manifest (normalised by DuckDB later). */
  type: string;
}

/** The columns as written, in order: metadata, data, additional properties. */
export function outputColumns(plan: ColumnPlan, format: Format['type']): OutputColumn[] {
  const jsonText = format === 'parquet' ? 'VARCHAR' : 'JSON';
  const dataType = (t: ValueType): string => {
    if (t.kind === 'json') return jsonText;
    // CSV holds nested values as JSON text; Parquet and JSONL keep their structure.
    if (format === 'csv' && isNested(t)) return 'JSON';
    return duckdbType(t);
  };
  return [
    { name: '_airbyte_raw_id', type: 'VARCHAR' },
    { name: '_airbyte_extracted_at', type: 'TIMESTAMP WITH TIME ZONE' },
    { name: '_airbyte_generation_id', type: 'BIGINT' },
    { name: '_airbyte_meta', type: format === 'csv' ? 'JSON' : META_TYPE },
    ...plan.columns.map((c) => ({ name: c.name, type: dataType(c.type) })),
    { name: ADDITIONAL_PROPERTIES_COLUMN, type: jsonText },
  ];
}

const int = (n: number): string => String(Math.trunc(n));

/** The SQL of one top-level data column, spread over the query's layers. */
interface ColumnSql {
  /** Computed from the read layer (`__s`, the struct of raw fields). */
  convert: string[];
  /** Computed from the convert layer's outputs. */
  nested: string[];
  /** The typed value, before the fits check (valid after `nested`). */
  value: string;
  /** True when the value fits (or is NULL); null when every value fits. */
  fits: string | null;
  /** True when a nested value carried undeclared members; null when it cannot. */
  und: string | null;
  /** The raw value (JSON text or text). */
  raw: string;
}

function columnSql(c: DataColumn, i: number): ColumnSql {
  const field = `__s.${quoteIdent(c.name)}`;
  const r = `__r${i}`;
  const t = c.type;
  if (t.kind !== 'struct' && t.kind !== 'list') {
    const v = `__v${i}`;
    return {
      convert: [`${field} AS ${r}`, `${convertScalar(t, field)} AS ${v}`],
      nested: [],
      value: v,
      fits: canMisfit(t) ? `(${r} IS NULL OR ${v} IS NOT NULL)` : null,
      und: null,
      raw: r,
    };
  }
  // Nested: parse one level in the convert layer, convert in the nested layer; deeper levels
  // convert through {ok, und, v} pairs (values.ts).
  const p = `__p${i}`;
  const convert = [`${field} AS ${r}`, `${parseNested(t, field)} AS ${p}`];
  if (t.kind === 'struct') {
    const member = (f: StructField): string => `${p}.${quoteIdent(f.name)}`;
    const slot = (j: number): string => `__m${i}_${j}`;
    const nested = t.fields.map((f, j) => `${isNested(f.type) ? convertPair(f.type, member(f)) : convertLeaf(f.type, member(f))} AS ${slot(j)}`);
    const oks = t.fields
      .map((f, j) => (isNested(f.type) ? `${slot(j)}.ok` : canMisfit(f.type) ? `(${member(f)} IS NULL OR ${slot(j)} IS NOT NULL)` : ''))
      .filter(Boolean);
    const values = t.fields.map((f, j) => `${quoteIdent(f.name)} := ${isNested(f.type) ? `${slot(j)}.v` : slot(j)}`);
    const nestedUnd = t.fields.map((f, j) => (hasStruct(f.type) ? ` OR ${slot(j)}.und` : '')).join('');
    return {
      convert,
      nested,
      value: `CASE WHEN ${p} IS NULL THEN NULL ELSE struct_pack(${values.join(', ')}) END`,
      fits: `(${r} IS NULL OR (${p} IS NOT NULL${oks.map((o) => ` AND ${o}`).join('')}))`,
      und: `(${p} IS NOT NULL AND (NOT ${keysDeclared(
        `json_keys(${r})`,
        t.fields.map((f) => f.name),
      )}${nestedUnd}))`,
      raw: r,
    };
  }
  const items = t.items;
  const w = `__w${i}`;
  if (!canMisfit(items)) {
    return {
      convert,
      nested: [],
      value: items.kind === 'json' ? `CAST(${p} AS VARCHAR[])` : p,
      fits: `(${r} IS NULL OR ${p} IS NOT NULL)`,
      und: null,
      raw: r,
    };
  }
  if (!isNested(items)) {
    return {
      convert,
      nested: [`list_transform(${p}, lambda e: ${convertLeaf(items, 'e')}) AS ${w}`],
      value: w,
      fits: `(${r} IS NULL OR (${p} IS NOT NULL AND list_aggregate(${p}, 'count') = list_aggregate(${w}, 'count')))`,
      und: null,
      raw: r,
    };
  }
  return {
    convert,
    nested: [`list_transform(${p}, lambda e: ${convertPair(items, 'e', 1)}) AS ${w}`],
    value: `list_transform(${w}, lambda z: z.v)`,
    fits: `(${r} IS NULL OR (${p} IS NOT NULL AND COALESCE(list_bool_and(list_transform(${w}, lambda z: z.ok)), true)))`,
    und: hasStruct(items) ? `COALESCE(list_bool_or(list_transform(${w}, lambda z: z.und)), false)` : null,
    raw: r,
  };
}

export function buildConversionQuery(input: ConversionQueryInput): string {
  const { plan, format } = input;
  const cols = plan.columns;
  const sql = cols.map(columnSql);

  // Layer 1: read. Each line is cast once to the record's struct, the declared fields in their
  // raw shapes; the keys of `data` tell the undeclared fields. (Reading lines as JSON text + one
  // cast measured faster than read_json with columns, and far faster on records of many MiB.)
  const rawStruct = cols.length ? `data STRUCT(${cols.map((c) => `${quoteIdent(c.name)} ${rawShape(c.type)}`).join(', ')}), ` : '';
  const reader = spoolLinesSource(input.spoolPath, input.maxObjectBytes);
  const read =
    `SELECT __v, __x, __j, __rec.meta AS __m, __k${cols.length ? ', __rec.data AS __s' : ''} FROM (` +
    `SELECT __v, __x, __j, TRY_CAST(__j AS STRUCT(record STRUCT(${rawStruct}meta JSON))).record AS __rec, ` +
    `json_keys(__j, '$.record.data') AS __k FROM ${reader})`;

  // Layer 2: convert (and parse nested values one level); layer 3: convert nested values.
  const convert = `SELECT __v, __x, __j, __m, __k${sql
    .flatMap((c) => c.convert)
    .map((e) => `, ${e}`)
    .join('')} FROM (${read})`;
  const nestedItems = sql.flatMap((c) => c.nested);
  const converted = nestedItems.length ? `SELECT *, ${nestedItems.join(', ')} FROM (${convert})` : convert;

  // Layer 4: NULL what does not fit, list the changes, gather what the schema does not declare.
  // A scalar that does not fit is already NULL; only nested values need dropping as a whole.
  const typed = (c: ColumnSql, i: number): string => (isNested(cols[i]!.type) ? `CASE WHEN ${c.fits} THEN ${c.value} END` : c.value);
  const sourceChanges = `CASE WHEN __m IS NULL THEN NULL ELSE TRY_CAST(json_extract(__m, '$.changes') AS ${CHANGE_TYPE}[]) END`;
  // Scalars give Airbyte's reason for their misfit; a nested value dropped as a whole is a
  // serialization error.
  const checked = cols
    .map((c, i) => ({
      name: c.name,
      fits: sql[i]!.fits,
      reason: isNested(c.type) ? quoteLiteral('DESTINATION_SERIALIZATION_ERROR') : misfitReason(c.type, sql[i]!.raw),
    }))
    .filter((c): c is { name: string; fits: string; reason: string } => c.fits !== null);
  const nulledChanges = checked.length
    ? `CASE WHEN ${checked.map((c) => c.fits).join(' AND ')} THEN []::${CHANGE_TYPE}[] ELSE list_filter([${checked
        .map((c) => `CASE WHEN NOT ${c.fits} THEN {'field': ${quoteLiteral(c.name)}, 'change': 'NULLED', 'reason': ${c.reason}} END`)
        .join(', ')}], lambda x: x IS NOT NULL) END`
    : `[]::${CHANGE_TYPE}[]`;
  const changes = `list_concat(COALESCE(${sourceChanges}, []::${CHANGE_TYPE}[]), ${nulledChanges})`;
  const meta = `{'sync_id': CAST(${int(input.syncId)} AS BIGINT), 'changes': ${changes}}`;

  // The scanner decided each record's extracted-at (its emitted_at, or its clock): spool-line.ts.
  const extractedAt = `make_timestamptz(__x * 1000)`;

  const inner = [
    `${extractedAt} AS __x`,
    `${meta} AS __meta`,
    `${additionalProperties(cols, sql)} AS __extras`,
    ...sql.map((c, i) => `${typed(c, i)} AS __t${i}`),
  ];

  // Layer 5: render for the format, name the columns.
  const select = [
    `CAST(uuid() AS VARCHAR) AS _airbyte_raw_id`,
    `${format === 'parquet' ? '__x' : isoTimestamp('__x', true)} AS _airbyte_extracted_at`,
    `CAST(${int(input.generationId)} AS BIGINT) AS _airbyte_generation_id`,
    `${format === 'csv' ? 'CAST(to_json(__meta) AS VARCHAR)' : '__meta'} AS _airbyte_meta`,
    ...cols.map((c, i) => `${render(format, c.type, `__t${i}`)} AS ${quoteIdent(c.name)}`),
    `${format === 'jsonl' ? jsonlJson('__extras') : '__extras'} AS ${ADDITIONAL_PROPERTIES_COLUMN}`,
  ];
  return `SELECT ${select.join(', ')} FROM (SELECT ${inner.join(', ')} FROM (${converted}))`;
}

/** Renders a typed value for the output format (Parquet keeps it as is). */
function render(format: Format['type'], type: ValueType, v: string): string {
  if (format === 'parquet') return v;
  switch (type.kind) {
    case 'timestamptz':
    case 'timestamp':
      return isoTimestamp(v, type.kind === 'timestamptz');
    case 'date':
      return isoDate(v);
    case 'number':
      return format === 'csv' ? doubleText(v) : renderJson(type, v);
    case 'json':
      return format === 'jsonl' ? jsonlJson(v) : v;
    case 'struct':
    case 'list': {
      const json = renderJson(type, v, 0, format === 'jsonl');
      return format === 'csv' ? `CAST(${json} AS VARCHAR)` : json;
    }
    default:
      return v;
  }
}

/**
 * The additional-properties column: a JSON object of the record's fields that have no column,
 * plus (whole, under their own name) nested values that carried members their schema does not
 * declare. NULL when there are none. A `data` that is not an object is kept as it is.
 */
function additionalProperties(cols: DataColumn[], sql: ColumnSql[]): string {
  const names = cols.map((c) => c.name);
  const data = `json_extract(__j, '$.record.data')`;
  // A `data` without keys is either {} or not an object at all (kept as it is).
  if (names.length === 0) return `(CASE WHEN len(__k) > 0 OR json_type(__j, '$.record.data') <> 'OBJECT' THEN CAST(${data} AS VARCHAR) END)`;
  const declared = `[${names.map(quoteLiteral).join(', ')}]::VARCHAR[]`;
  const und = cols.map((c, i) => ({ name: c.name, sql: sql[i]! })).filter((c) => c.sql.und !== null);
  // The rare path, for records that need it. Which keys are undeclared: when the declared
  // names come first in schema order (fields added to a source usually come last), the rest;
  // otherwise by counting, a hash aggregate linear in the keys (with the record's keys counted
  // twice and the declared names once, a key with an even count is not declared), then kept in
  // record order by a membership test against the shorter of the undeclared keys and the
  // declared names. Their values: a few are fetched from the line by JSON pointer (RFC 6901),
  // many through a map of the whole record. Nothing here costs keys × names on a wide schema
  // unless a record has many declared and many undeclared keys at once.
  // Lambdas over one-element lists bind an intermediate once.
  const d = names.length;
  const counted = `list_transform(list_filter(map_entries(list_aggregate(list_concat(__k, __k, ${declared}), 'histogram')), lambda h: h.value % 2 = 0), lambda h: h.key)`;
  const inOrder =
    `list_transform([${counted}], lambda u: CASE WHEN len(u) < ${d} THEN list_filter(__k, lambda k: list_contains(u, k)) ` +
    `ELSE list_filter(__k, lambda k: NOT list_contains(${declared}, k)) END)[1]`;
  const undeclaredKeys = `CASE WHEN __k[1:${d}] = ${declared} THEN __k[${d + 1}:] ELSE ${inOrder} END`;
  const entry = (key: string, value: string): string => `to_json(${key}) || ':' || COALESCE(CAST(${value} AS VARCHAR), 'null')`;
  const byPointer = `list_transform(ks, lambda k: ${entry('k', `json_extract(__j, '/record/data/' || replace(replace(k, '~', '~0'), '/', '~1'))`)})`;
  const entries = `map_entries(TRY_CAST(${data} AS MAP(VARCHAR, JSON)))`;
  const byMap =
    `list_transform(CASE WHEN len(ks) < ${d} THEN list_filter(${entries}, lambda e: list_contains(ks, e.key)) ` +
    `ELSE list_filter(${entries}, lambda e: NOT list_contains(${declared}, e.key)) END, lambda e: ${entry('e.key', 'e.value')})`;
  const extraEntries = `list_transform([${undeclaredKeys}], lambda ks: CASE WHEN len(ks) <= 8 THEN ${byPointer} ELSE ${byMap} END)[1]`;
  const nestedEntries = und.length
    ? `list_filter([${und
        .map(
          (c) =>
            `CASE WHEN ${c.sql.fits ?? 'true'} AND ${c.sql.und} THEN ${quoteLiteral(JSON.stringify(c.name) + ':')} || CAST(${c.sql.raw} AS VARCHAR) END`,
        )
        .join(', ')}], lambda x: x IS NOT NULL)`
    : `[]::VARCHAR[]`;
  const build = `COALESCE('{' || array_to_string(list_concat(${extraEntries}, ${nestedEntries}), ',') || '}', CAST(${data} AS VARCHAR))`;
  const anyUnd = und.map((c) => ` OR ${c.sql.und}`).join('');
  return (
    `(CASE WHEN len(__k) = 0 AND json_type(__j, '$.record.data') <> 'OBJECT' THEN CAST(${data} AS VARCHAR) ` +
    `WHEN ${keysDeclared('__k', names)}${anyUnd ? ` AND NOT (false${anyUnd})` : ''} THEN NULL ELSE ${build} END)`
  );
}

/**
 * The cap on a Parquet row group's size in DuckDB's memory while it is written. Each conversion
 * thread holds one row group in memory: 32 MiB groups (an eighth of the default 256 MB file) cost
 * ~65 MiB more peak RSS than 16 MiB ones on two threads. 16 MiB of DuckDB's vectors is ~5 MiB
 * written (~30,000 rows of 20 columns), still a row group every reader handles well.
 */
export const MAX_ROW_GROUP_BYTES = 16 * 1024 * 1024;

/** Row group bytes for files of `targetFileBytes`: an eighth of it, at most MAX_ROW_GROUP_BYTES. */
export function rowGroupBytes(targetFileBytes: number): number {
  return Math.max(1, Math.min(MAX_ROW_GROUP_BYTES, Math.floor(targetFileBytes / 8)));
}

/**
 * Wraps a SELECT in the COPY statement for the format. `targetFileBytes` is file_size_mb.
 *
 * The write session has already cut the spool at a state boundary once its estimated output
 * reached the target (docs/write-path.md, "When a file is finished (splitting)"), so the
 * converter must not split that output again at the target: a spool whose output came out a little past it would be split mid-state into a full
 * file and a sliver. DuckDB splits only at the hard bound, twice the target, a net for an
 * estimate that was far off; a file passes it by at most the row group being written.
 */
export function buildCopyStatement(select: string, format: Format, dir: string, prefix: string, targetFileBytes: number): string {
  const target = Math.max(1, targetFileBytes);
  // Files are added to the directory (APPEND, which wants a {uuid} in the name): <prefix><uuid>-part-<i>.<ext>.
  const options = [`FILE_SIZE_BYTES ${int(2 * target)}`, `FILENAME_PATTERN ${quoteLiteral(`${prefix}{uuid}-part-{i}`)}`, 'APPEND true'];
  switch (format.type) {
    case 'parquet':
      options.unshift('FORMAT parquet', `COMPRESSION ${format.compression}`);
      // Row groups at most an eighth of the target (docs/write-path.md, "When a file is
      // finished"; measured before compression, so the written groups are smaller still), and at
      // most MAX_ROW_GROUP_BYTES.
      options.push(`ROW_GROUP_SIZE_BYTES ${int(rowGroupBytes(target))}`);
      break;
    case 'csv':
      options.unshift('FORMAT csv', 'HEADER true', `DELIMITER ','`, `QUOTE '"'`, `ESCAPE '"'`, `NULLSTR ''`);
      if (format.compression === 'gzip') options.push(`COMPRESSION gzip`, `FILE_EXTENSION 'csv.gz'`);
      else options.push(`COMPRESSION none`, `FILE_EXTENSION 'csv'`);
      break;
    case 'jsonl':
      options.unshift('FORMAT json');
      if (format.compression === 'gzip') options.push(`COMPRESSION gzip`, `FILE_EXTENSION 'jsonl.gz'`);
      else options.push(`COMPRESSION none`, `FILE_EXTENSION 'jsonl'`);
      break;
  }
  return `COPY (${select}) TO ${quoteLiteral(dir)} (${options.join(', ')})`;
}
