// The StreamConverter of one catalog stream. convertSegment and assemble (parts.ts) are the
// contract with the pipeline (docs/architecture.md). The older convert() runs the conversion query
// (query.ts) over a whole spool in DuckDB, split into files by size, then reads each file's record
// count and extracted_at range back from the file itself; it goes once the pipeline no longer
// calls it.

import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rm, stat } from 'node:fs/promises';
import { join, resolve as resolvePath } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { Format } from '../config/config.js';
import { AbortedError, ConnectorError, SystemError } from '../errors.js';
import type { DuckDbEngine } from './duckdb.js';
import type { Column, ConvertedFile, ConvertOptions, StreamConverter, StreamWriterContext } from './format.js';
import { abortedError, assemble, convertSegment, csvHeaderBytes, interruptible } from './parts.js';
import { buildConversionQuery, buildCopyStatement, outputColumns } from './query.js';
import { planColumns, quoteIdent, quoteLiteral, type ColumnPlan } from './schema.js';

const MiB = 1024 * 1024;
/** The smallest line size the readers are told of: their buffers are a little more than it. */
const MIN_OBJECT_BYTES = MiB;
/**
 * A written row is at most about twice its input line (a nested value with undeclared members
 * is written twice: in its column and in _airbyte_additional_properties); the read-back of CSV
 * and JSONL files allows for that.
 */
const OUTPUT_GROWTH = 2;
/**
 * DuckDB's memory while it converts a spool: about 100-128 MiB for the pipeline itself, plus a
 * multiple of the longest record (the JSON reader's buffers, the parse of the record, the
 * converted value, the writer's pages), as measured with DuckDB 1.5 on one thread: a spool of
 * 1 KiB records failed at 100 MiB and passed at 128 MiB; records of 16, 32 and 64 MiB failed at
 * 20x and passed at 24x their size as Parquet and CSV, and passed at 32x as JSONL.
 */
const ENGINE_BASE_BYTES = 128 * MiB;
const ENGINE_BYTES_PER_RECORD_BYTE = 32;

/** The memory_limit DuckDB needs to convert a spool whose longest line is `longestLineBytes`. */
export function engineBytesFor(longestLineBytes: number): number {
  return ENGINE_BASE_BYTES + ENGINE_BYTES_PER_RECORD_BYTE * longestLineBytes;
}

export function fileExtension(format: Format): string {
  const base = format.type === 'parquet' ? 'parquet' : format.type;
  return format.type !== 'parquet' && format.compression === 'gzip' ? `${base}.gz` : base;
}

export function contentType(format: Format): string {
  if (format.type === 'parquet') return 'application/vnd.apache.parquet';
  if (format.compression === 'gzip') return 'application/gzip';
  return format.type === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson';
}

/** Creates the converter of one stream; resolves the written column types with DuckDB. */
export async function createStreamConverter(ctx: StreamWriterContext, engine: DuckDbEngine): Promise<StreamConverter> {
  const plan = planColumns(ctx.stream.stream.json_schema);
  const format = ctx.format;
  const columns = await withConnection(engine, ctx, (connection) => describeColumns(connection, plan, format.type));
  const names = columns.map((c) => c.name);
  const connected = <T>(bytes: number, work: (connection: DuckDBConnection) => Promise<T>): Promise<T> =>
    engine.withMemoryAtLeast(bytes, () => withConnection(engine, ctx, work));
  let headerBytes: Promise<number> | undefined;
  const shared = { format, targetFileBytes: ctx.targetFileBytes, withConnection: connected, engineBytesFor };
  return {
    columns,
    extension: fileExtension(format),
    contentType: contentType(format),
    convert: (spoolPath, options) => convertSpool(engine, ctx, plan, names, spoolPath, options),
    engineBytesFor,
    convertSegment: (segment, options) => convertSegment({ ...shared, plan, syncId: ctx.syncId, generationId: ctx.generationId }, segment, options),
    assemble: (parts, options) =>
      assemble(
        {
          ...shared,
          // The same for every file of the stream: asked of DuckDB once.
          csvHeaderBytes: (dir) =>
            (headerBytes ??= connected(engineBytesFor(0), (connection) => csvHeaderBytes(connection, names, dir)).catch((err: unknown) => {
              headerBytes = undefined; // asked again next time
              throw err;
            })),
        },
        parts,
        options,
      ),
  };
}

/** The written columns with DuckDB's own spelling of their types. */
async function describeColumns(connection: DuckDBConnection, plan: ColumnPlan, format: Format['type']): Promise<Column[]> {
  const wanted = outputColumns(plan, format);
  const select = wanted.map((c) => `CAST(NULL AS ${c.type}) AS ${quoteIdent(c.name)}`).join(', ');
  const reader = await connection.runAndReadAll(`DESCRIBE SELECT ${select}`);
  const rows = reader.getRowObjectsJS() as { column_name: string; column_type: string }[];
  return rows.map((r) => ({ name: r.column_name, type: r.column_type }));
}

async function convertSpool(
  engine: DuckDbEngine,
  ctx: StreamWriterContext,
  plan: ColumnPlan,
  columnNames: string[],
  spoolPath: string,
  options: ConvertOptions,
): Promise<ConvertedFile[]> {
  const { signal } = options;
  if (signal?.aborted) throw abortedError(signal);
  const maxLine = options.maxLineBytes ?? (await longestLineBytes(spoolPath));
  const maxObjectBytes = Math.max(MIN_OBJECT_BYTES, maxLine + 1024);
  const dir = resolvePath(options.outDir);
  await mkdir(dir, { recursive: true });
  // Files of this conversion share a prefix no other conversion uses, in the caller's directory.
  const prefix = `convert-${randomBytes(6).toString('hex')}-`;
  const select = buildConversionQuery({
    plan,
    format: ctx.format.type,
    syncId: ctx.syncId,
    generationId: ctx.generationId,
    spoolPath: resolvePath(spoolPath),
    maxObjectBytes,
  });
  const copy = buildCopyStatement(select, ctx.format, dir, prefix, options.targetFileBytes);
  const written = async (): Promise<string[]> => (await readdir(dir)).filter((n) => n.startsWith(prefix)).sort((a, b) => partIndex(a) - partIndex(b));
  try {
    // The planned share of the memory budget may be too small for this spool (a record of many
    // MiB, or a small budget): DuckDB gets what the conversion needs while it runs.
    return await engine.withMemoryAtLeast(engineBytesFor(maxLine), () =>
      withConnection(engine, ctx, (connection) =>
        interruptible(connection, signal, async () => {
          await connection.run(copy);
          const files: ConvertedFile[] = [];
          for (const name of await written()) {
            const path = join(dir, name);
            const stats = await fileStats(connection, ctx.format.type, columnNames, path, maxObjectBytes * OUTPUT_GROWTH + MiB);
            if (stats.records === 0) {
              await rm(path, { force: true }); // no empty file (docs/write-path.md, "When a file is finished")
              continue;
            }
            files.push({ path, bytes: (await stat(path)).size, ...stats });
          }
          return files;
        }),
      ),
    );
  } catch (err) {
    // A failed or stopped conversion leaves no partial files behind.
    await Promise.all((await written().catch(() => [])).map((name) => rm(join(dir, name), { force: true })));
    if (signal?.aborted && !(err instanceof AbortedError)) throw abortedError(signal);
    throw err;
  }
}

function partIndex(name: string): number {
  return Number(/-part-(\d+)\./.exec(name)?.[1] ?? Number.MAX_SAFE_INTEGER);
}

interface FileStats {
  records: number;
  minExtractedAt: string;
  maxExtractedAt: string;
}

/** Counts the records of one written file and their extracted_at range, reading the file itself. */
async function fileStats(
  connection: DuckDBConnection,
  format: Format['type'],
  columnNames: string[],
  path: string,
  maxRowBytes: number,
): Promise<FileStats> {
  const file = quoteLiteral(path);
  let source: string;
  switch (format) {
    case 'parquet':
      source = `read_parquet(${file})`;
      break;
    case 'csv': {
      // Every column named and read as text: no sniffing (which costs more than the read).
      const columns = `{${columnNames.map((n) => `${quoteLiteral(n)}: 'VARCHAR'`).join(', ')}}`;
      // (read_csv's buffer defaults to 16 times max_line_size: named, so that a long line does
      // not ask for gigabytes.)
      source =
        `read_csv(${file}, header = true, auto_detect = false, columns = ${columns}, delim = ',', quote = '"', escape = '"', ` +
        `max_line_size = ${Math.floor(maxRowBytes)}, buffer_size = ${Math.floor(maxRowBytes) + MiB})`;
      break;
    }
    case 'jsonl':
      source = `(SELECT __j->>'_airbyte_extracted_at' AS _airbyte_extracted_at FROM read_json_objects(${file}, format = 'newline_delimited', maximum_object_size = ${Math.floor(maxRowBytes)}) AS __lines(__j))`;
      break;
  }
  // Parquet holds a TIMESTAMPTZ; CSV and JSONL its ISO-8601 text.
  const extractedAt = format === 'parquet' ? '_airbyte_extracted_at' : 'CAST(_airbyte_extracted_at AS TIMESTAMPTZ)';
  const reader = await connection.runAndReadAll(
    `SELECT count(*) AS n, epoch_us(min(${extractedAt})) AS lo, epoch_us(max(${extractedAt})) AS hi FROM ${source}`,
  );
  const row = reader.getRowObjectsJS()[0] as { n: bigint; lo: bigint | null; hi: bigint | null };
  const records = Number(row.n);
  if (records === 0) return { records, minExtractedAt: '', maxExtractedAt: '' };
  return { records, minExtractedAt: isoFromEpochMicros(row.lo!), maxExtractedAt: isoFromEpochMicros(row.hi!) };
}

/** ISO-8601 UTC with milliseconds (extracted_at comes from emitted_at, in milliseconds). */
export function isoFromEpochMicros(micros: bigint): string {
  const ms = micros >= 0n ? micros / 1000n : -((-micros + 999n) / 1000n);
  return new Date(Number(ms)).toISOString();
}

/** The longest line of a file in bytes, without its newline. */
export async function longestLineBytes(path: string): Promise<number> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.allocUnsafe(MiB);
    let longest = 0;
    let current = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      let start = 0;
      for (;;) {
        const nl = buffer.indexOf(10, start);
        if (nl < 0 || nl >= bytesRead) {
          current += bytesRead - start;
          break;
        }
        current += nl - start;
        if (current > longest) longest = current;
        current = 0;
        start = nl + 1;
      }
    }
    return Math.max(longest, current);
  } finally {
    await handle.close();
  }
}

async function withConnection<T>(engine: DuckDbEngine, ctx: StreamWriterContext, work: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
  const connection = await engine.connect();
  try {
    return await work(connection);
  } catch (err) {
    if (err instanceof ConnectorError) throw err;
    const stream = ctx.stream.stream;
    throw new SystemError(`Could not write the ${ctx.format.type} files of stream ${stream.name}: ${(err as Error).message}`, {
      stream: { name: stream.name, namespace: stream.namespace },
      cause: err,
    });
  } finally {
    connection.closeSync();
  }
}
