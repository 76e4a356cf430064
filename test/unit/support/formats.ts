// Test support for the format writers: independent readers of what they wrote (hyparquet for
// Parquet, an RFC 4180 parser for CSV, an exact JSON parser for JSONL, besides DuckDB) and one
// canonical form to compare every reader's values against the expected ones.

import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects, parquetSchema } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import {
  DuckDBDateValue,
  DuckDBListValue,
  DuckDBStructValue,
  DuckDBTimestampTZValue,
  type DuckDBTimestampValue,
  type DuckDBConnection,
  type DuckDBValue,
} from '@duckdb/node-api';
import type { ValueType } from '../../../src/formats/schema.js';

/** A canonical value: integers as decimal strings, timestamps as ISO text with microseconds. */
export type Canon = null | boolean | number | string | Canon[] | { [key: string]: Canon };

const pad = (n: number, width: number): string => String(n).padStart(width, '0');

function yearText(year: number): string {
  return year < 0 ? `-${pad(-year, 4)}` : pad(year, 4);
}

/** ISO-8601 of epoch microseconds (astronomical years: 1 BC is 0000), written independently of the converter. */
export function isoFromMicros(micros: bigint, withZone: boolean): string {
  let ms = micros / 1000n;
  let sub = micros % 1000n;
  if (sub < 0n) {
    sub += 1000n;
    ms -= 1n;
  }
  const d = new Date(Number(ms));
  const date = `${yearText(d.getUTCFullYear())}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)}`;
  const time = `${pad(d.getUTCHours(), 2)}:${pad(d.getUTCMinutes(), 2)}:${pad(d.getUTCSeconds(), 2)}.${pad(d.getUTCMilliseconds(), 3)}${pad(Number(sub), 3)}`;
  return `${date}T${time}${withZone ? 'Z' : ''}`;
}

export function isoFromDays(days: number): string {
  const d = new Date(days * 86_400_000);
  return `${yearText(d.getUTCFullYear())}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)}`;
}

function canonNumber(n: number): Canon {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return 'Infinity';
  if (n === -Infinity) return '-Infinity';
  return n;
}

function jsonPlain(text: string): Canon {
  return JSON.parse(text) as Canon;
}

// ---- DuckDB values ----

export function canonFromDuck(type: ValueType, v: DuckDBValue): Canon {
  if (v === null) return null;
  switch (type.kind) {
    case 'integer':
      return String(v as bigint);
    case 'number':
      return canonNumber(v as number);
    case 'boolean':
      return v as boolean;
    case 'timestamptz':
      return isoFromMicros((v as DuckDBTimestampTZValue).micros, true);
    case 'timestamp':
      return isoFromMicros((v as DuckDBTimestampValue).micros, false);
    case 'date':
      return isoFromDays((v as DuckDBDateValue).days);
    case 'json':
      return jsonPlain(String(v));
    case 'struct': {
      const entries = (v as DuckDBStructValue).entries;
      return Object.fromEntries(type.fields.map((f) => [f.name, canonFromDuck(f.type, entries[f.name] ?? null)]));
    }
    case 'list':
      return (v as DuckDBListValue).items.map((item) => canonFromDuck(type.items, item));
    default:
      return String(v);
  }
}

export function isDuckValue(v: unknown, cls: 'timestamptz' | 'date' | 'struct' | 'list'): boolean {
  const classes = { timestamptz: DuckDBTimestampTZValue, date: DuckDBDateValue, struct: DuckDBStructValue, list: DuckDBListValue };
  return v instanceof classes[cls];
}

/**
 * Rows of a query as canonical objects, typed by `types` (column name → value type). Columns in
 * `jsonText` hold nested values as JSON text (CSV's metadata and nested columns): parsed exactly.
 */
export async function duckRows(
  connection: DuckDBConnection,
  sql: string,
  types: Record<string, ValueType>,
  jsonText: ReadonlySet<string> = new Set(),
): Promise<Record<string, Canon>[]> {
  const reader = await connection.runAndReadAll(sql);
  return reader.getRowObjects().map((row) => {
    const out: Record<string, Canon> = {};
    for (const [name, value] of Object.entries(row)) {
      const type = types[name];
      if (!type) throw new Error(`no type for column ${name}`);
      const viaJson = jsonText.has(name) && type.kind !== 'json' && value !== null;
      out[name] = viaJson ? canonFromJson(type, parseJsonExact(String(value))) : canonFromDuck(type, value);
    }
    return out;
  });
}

// ---- hyparquet ----

export async function hyparquetRead(path: string): Promise<{ rows: Record<string, unknown>[]; schema: ReturnType<typeof parquetSchema> }> {
  const file = await asyncBufferFromFile(path);
  const metadata = await parquetMetadataAsync(file);
  const rows = (await parquetReadObjects({
    file,
    metadata,
    compressors,
    parsers: { timestampFromMicroseconds: (micros: bigint) => micros, dateFromDays: (days: number) => days },
  })) as Record<string, unknown>[];
  return { rows, schema: parquetSchema(metadata) };
}

export function canonFromHyparquet(type: ValueType, v: unknown): Canon {
  if (v === null || v === undefined) return null;
  switch (type.kind) {
    case 'integer':
      return String(v as bigint);
    case 'number':
      return canonNumber(v as number);
    case 'boolean':
      return v as boolean;
    case 'timestamptz':
      return isoFromMicros(v as bigint, true);
    case 'timestamp':
      return isoFromMicros(v as bigint, false);
    case 'date':
      return isoFromDays(v as number);
    case 'json':
      return jsonPlain(v as string);
    case 'struct': {
      const obj = v as Record<string, unknown>;
      return Object.fromEntries(type.fields.map((f) => [f.name, canonFromHyparquet(f.type, obj[f.name])]));
    }
    case 'list':
      return (v as unknown[]).map((item) => canonFromHyparquet(type.items, item));
    default:
      return v as string;
  }
}

// ---- exact JSON (numbers keep their text) ----

export class JsonNumber {
  constructor(readonly text: string) {}
}

export type ExactJson = null | boolean | string | JsonNumber | ExactJson[] | { [key: string]: ExactJson };

/** A small strict JSON parser that keeps numbers as their source text (JSON.parse rounds big integers). */
export function parseJsonExact(text: string): ExactJson {
  let i = 0;
  const fail = (what: string): never => {
    throw new Error(`invalid JSON at ${i}: ${what} in ${text.slice(Math.max(0, i - 20), i + 20)}`);
  };
  const ws = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const value = (): ExactJson => {
    ws();
    const ch = text[i];
    if (ch === '{') {
      i++;
      const obj: Record<string, ExactJson> = {};
      ws();
      if (text[i] === '}') return (i++, obj);
      for (;;) {
        ws();
        if (text[i] !== '"') fail('expected key');
        const key = string();
        ws();
        if (text[i++] !== ':') fail('expected :');
        obj[key] = value();
        ws();
        const sep = text[i++];
        if (sep === '}') return obj;
        if (sep !== ',') fail('expected , or }');
      }
    }
    if (ch === '[') {
      i++;
      const arr: ExactJson[] = [];
      ws();
      if (text[i] === ']') return (i++, arr);
      for (;;) {
        arr.push(value());
        ws();
        const sep = text[i++];
        if (sep === ']') return arr;
        if (sep !== ',') fail('expected , or ]');
      }
    }
    if (ch === '"') return string();
    for (const [word, val] of [
      ['true', true],
      ['false', false],
      ['null', null],
    ] as const) {
      if (text.startsWith(word, i)) return ((i += word.length), val);
    }
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (!m) fail('unexpected token');
    i += m![0].length;
    return new JsonNumber(m![0]);
  };
  const string = (): string => {
    const start = i;
    i++;
    while (i < text.length && text[i] !== '"') {
      if (text[i] === '\\') i++;
      else if (text.charCodeAt(i) < 0x20) fail('raw control character in string');
      i++;
    }
    if (text[i] !== '"') fail('unterminated string');
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const result = value();
  ws();
  if (i !== text.length) fail('trailing characters');
  return result;
}

function exactToPlain(v: ExactJson): Canon {
  if (v instanceof JsonNumber) return Number(v.text);
  if (Array.isArray(v)) return v.map(exactToPlain);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, exactToPlain(x)]));
  return v;
}

export function canonFromJson(type: ValueType, v: ExactJson): Canon {
  if (v === null) return null;
  switch (type.kind) {
    case 'integer':
      if (!(v instanceof JsonNumber) || !/^-?\d+$/.test(v.text)) throw new Error(`integer written as ${JSON.stringify(v)}`);
      return v.text.replace(/^-0$/, '0');
    case 'number':
      if (v instanceof JsonNumber) return Number(v.text);
      if (v === 'NaN' || v === 'Infinity' || v === '-Infinity') return v;
      throw new Error(`number written as ${JSON.stringify(v)}`);
    case 'boolean':
      if (typeof v !== 'boolean') throw new Error(`boolean written as ${JSON.stringify(v)}`);
      return v;
    case 'json':
      return exactToPlain(v);
    case 'struct': {
      const obj = v as Record<string, ExactJson>;
      return Object.fromEntries(type.fields.map((f) => [f.name, canonFromJson(f.type, obj[f.name] ?? null)]));
    }
    case 'list':
      return (v as ExactJson[]).map((item) => canonFromJson(type.items, item));
    default:
      if (typeof v !== 'string') throw new Error(`${type.kind} written as ${JSON.stringify(v)}`);
      return v;
  }
}

// ---- CSV (RFC 4180) ----

export interface CsvCell {
  quoted: boolean;
  text: string;
}

/** Parses RFC 4180 CSV strictly (quotes only around whole fields, "" inside them); LF or CRLF line ends. */
export function parseCsv(text: string): CsvCell[][] {
  const rows: CsvCell[][] = [];
  let row: CsvCell[] = [];
  let i = 0;
  while (i < text.length) {
    let cell: CsvCell;
    if (text[i] === '"') {
      let out = '';
      i++;
      for (;;) {
        const q = text.indexOf('"', i);
        if (q < 0) throw new Error('unterminated quoted field');
        out += text.slice(i, q);
        if (text[q + 1] === '"') {
          out += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      cell = { quoted: true, text: out };
    } else {
      let end = i;
      while (end < text.length && text[end] !== ',' && text[end] !== '\n' && text[end] !== '\r') {
        if (text[end] === '"') throw new Error(`bare quote in unquoted field at ${end}`);
        end++;
      }
      cell = { quoted: false, text: text.slice(i, end) };
      i = end;
    }
    row.push(cell);
    if (text[i] === ',') {
      i++;
      continue;
    }
    if (text[i] === '\r') i++;
    if (text[i] === '\n' || i >= text.length) {
      i++;
      rows.push(row);
      row = [];
      continue;
    }
    throw new Error(`unexpected character after field at ${i}`);
  }
  return rows;
}

export function canonFromCsvCell(type: ValueType, cell: CsvCell): Canon {
  if (!cell.quoted && cell.text === '') return null;
  const t = cell.text;
  switch (type.kind) {
    case 'integer':
      if (!/^-?\d+$/.test(t)) throw new Error(`integer written as ${t}`);
      return t;
    case 'number':
      return t === 'NaN' || t === 'Infinity' || t === '-Infinity' ? t : Number(t);
    case 'boolean':
      if (t !== 'true' && t !== 'false') throw new Error(`boolean written as ${t}`);
      return t === 'true';
    case 'json':
      return jsonPlain(t);
    case 'struct':
    case 'list':
      return canonFromJson(type, parseJsonExact(t));
    default:
      return t;
  }
}

/** The text of a written file, gunzipped when its name ends in .gz. */
export async function readText(path: string): Promise<string> {
  const bytes = await readFile(path);
  return (path.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8');
}
