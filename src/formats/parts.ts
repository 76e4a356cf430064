// Segments to parts, parts to output files (docs/architecture.md, "The segment and the part").
//
// convertSegment runs the conversion query over one closed segment of a stream's spool into one
// local part of the output format: Parquet with its configured compression and row groups, CSV
// with its header, JSONL; CSV and JSONL parts are never compressed (assemble compresses the whole
// file once). The records and extracted-at range come from the segment (the scanner decided each
// extracted-at, src/formats/spool-line.ts), so nothing is read back.
//
// assemble joins parts into one output file: one part of Parquet, of uncompressed CSV or JSONL
// is moved; several Parquet parts are copied by DuckDB into one file (one COPY from
// read_parquet); CSV and JSONL parts are concatenated (the header of the first CSV part only)
// through node's zlib gzip stream when compressed, which runs on libuv's thread pool, off the
// main thread.

import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { Format } from '../config/config.js';
import { AbortedError } from '../errors.js';
import type { ConvertedFile, ConvertedPart, Segment } from './format.js';
import { buildConversionQuery, rowGroupBytes } from './query.js';
import { quoteLiteral, type ColumnPlan } from './schema.js';

const MiB = 1024 * 1024;
/** The smallest line size the readers are told of: their buffers are a little more than it. */
const MIN_OBJECT_BYTES = MiB;
/** file_size_mb's default, for row groups when the context does not say. */
const DEFAULT_TARGET_FILE_BYTES = 256 * 1000 * 1000;

export interface PartsContext {
  plan: ColumnPlan;
  format: Format;
  syncId: number;
  generationId: number;
  targetFileBytes: number | undefined;
  /** Runs `work` on a connection of the engine with at least `bytes` of DuckDB memory. */
  withConnection<T>(bytes: number, work: (connection: DuckDBConnection) => Promise<T>): Promise<T>;
  engineBytesFor(longestLine: number): number;
}

const partExtension = (format: Format): string => (format.type === 'parquet' ? 'parquet' : format.type);

/** The COPY options of a part (CSV and JSONL uncompressed: assemble compresses). */
function partCopyOptions(format: Format, targetFileBytes: number): string[] {
  switch (format.type) {
    case 'parquet':
      return ['FORMAT parquet', `COMPRESSION ${format.compression}`, `ROW_GROUP_SIZE_BYTES ${rowGroupBytes(targetFileBytes)}`];
    case 'csv':
      return ['FORMAT csv', 'HEADER true', `DELIMITER ','`, `QUOTE '"'`, `ESCAPE '"'`, `NULLSTR ''`, 'COMPRESSION none'];
    case 'jsonl':
      return ['FORMAT json', 'COMPRESSION none'];
  }
}

export function abortedError(signal: AbortSignal | undefined): AbortedError {
  const reason = signal?.reason as unknown;
  return new AbortedError('The conversion was stopped.', reason instanceof Error ? { cause: reason } : {});
}

/**
 * Runs `work`, interrupting the connection's statement when `signal` fires (convertSegment,
 * assemble and the whole-spool convert() of converter.ts).
 */
export async function interruptible<T>(connection: DuckDBConnection, signal: AbortSignal | undefined, work: () => Promise<T>): Promise<T> {
  if (signal?.aborted) throw abortedError(signal);
  const onAbort = (): void => connection.interrupt();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    return await work();
  } catch (err) {
    if (signal?.aborted) throw abortedError(signal);
    throw err;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

export async function convertSegment(ctx: PartsContext, segment: Segment, options: { outDir: string; signal?: AbortSignal }): Promise<ConvertedPart> {
  const { signal } = options;
  if (signal?.aborted) throw abortedError(signal);
  const dir = resolvePath(options.outDir);
  await mkdir(dir, { recursive: true });
  const path = join(dir, `part-${randomBytes(8).toString('hex')}.${partExtension(ctx.format)}`);
  const select = buildConversionQuery({
    plan: ctx.plan,
    format: ctx.format.type,
    syncId: ctx.syncId,
    generationId: ctx.generationId,
    spoolPath: resolvePath(segment.path),
    maxObjectBytes: Math.max(MIN_OBJECT_BYTES, segment.longestLine + 1024),
  });
  const options_ = partCopyOptions(ctx.format, ctx.targetFileBytes ?? DEFAULT_TARGET_FILE_BYTES);
  const copy = `COPY (${select}) TO ${quoteLiteral(path)} (${options_.join(', ')})`;
  try {
    await ctx.withConnection(ctx.engineBytesFor(segment.longestLine), (connection) => interruptible(connection, signal, () => connection.run(copy)));
    return {
      path,
      records: segment.records,
      bytes: (await stat(path)).size,
      minExtractedAtMs: segment.minExtractedAtMs,
      maxExtractedAtMs: segment.maxExtractedAtMs,
    };
  } catch (err) {
    await rm(path, { force: true });
    if (signal?.aborted && !(err instanceof AbortedError)) throw abortedError(signal);
    throw err;
  }
}

/** The header a CSV part starts with (DuckDB's spelling of the column names), in bytes. */
export async function csvHeaderBytes(connection: DuckDBConnection, columnNames: readonly string[], dir: string): Promise<number> {
  const path = join(dir, `header-${randomBytes(8).toString('hex')}.csv`);
  const select = columnNames.map((n) => `NULL AS "${n.replace(/"/g, '""')}"`).join(', ');
  try {
    await connection.run(
      `COPY (SELECT ${select} LIMIT 0) TO ${quoteLiteral(path)} (${partCopyOptions({ type: 'csv', compression: 'none' } as Format, 1).join(', ')})`,
    );
    return (await stat(path)).size;
  } finally {
    await rm(path, { force: true });
  }
}

/** The bytes of the parts, in order, the CSV header of all but the first skipped. */
async function* concatenated(parts: readonly ConvertedPart[], skipBytes: number): AsyncGenerator<Buffer> {
  for (let k = 0; k < parts.length; k++) {
    const stream = createReadStream(parts[k]!.path, { start: k === 0 ? 0 : skipBytes, highWaterMark: MiB });
    for await (const chunk of stream) yield chunk as Buffer;
  }
}

export interface AssembleContext {
  format: Format;
  targetFileBytes: number | undefined;
  /** The CSV header's bytes (only asked for when CSV parts are joined). */
  csvHeaderBytes(dir: string): Promise<number>;
  withConnection<T>(bytes: number, work: (connection: DuckDBConnection) => Promise<T>): Promise<T>;
  engineBytesFor(longestLine: number): number;
}

export async function assemble(
  ctx: AssembleContext,
  parts: readonly ConvertedPart[],
  options: { outPath: string; signal?: AbortSignal },
): Promise<ConvertedFile> {
  const { signal } = options;
  if (parts.length === 0) throw new Error('assemble: no parts');
  const outPath = resolvePath(options.outPath);
  try {
    if (signal?.aborted) throw abortedError(signal);
    await mkdir(dirname(outPath), { recursive: true });
    const gzip = ctx.format.type !== 'parquet' && ctx.format.compression === 'gzip';
    if (parts.length === 1 && !gzip) {
      await rename(parts[0]!.path, outPath);
    } else if (ctx.format.type === 'parquet') {
      const list = `[${parts.map((p) => quoteLiteral(p.path)).join(', ')}]`;
      const copy =
        `COPY (SELECT * FROM read_parquet(${list})) TO ${quoteLiteral(outPath)} ` +
        `(${partCopyOptions(ctx.format, ctx.targetFileBytes ?? DEFAULT_TARGET_FILE_BYTES).join(', ')})`;
      await ctx.withConnection(ctx.engineBytesFor(0), (connection) => interruptible(connection, signal, () => connection.run(copy)));
    } else {
      const skip = ctx.format.type === 'csv' && parts.length > 1 ? await ctx.csvHeaderBytes(dirname(outPath)) : 0;
      const source = concatenated(parts, skip);
      const out = createWriteStream(outPath);
      try {
        await (gzip ? pipeline(source, createGzip(), out, signal ? { signal } : {}) : pipeline(source, out, signal ? { signal } : {}));
      } catch (err) {
        if (signal?.aborted) throw abortedError(signal);
        throw err;
      }
    }
    const file: ConvertedFile = {
      path: outPath,
      records: parts.reduce((n, p) => n + p.records, 0),
      bytes: (await stat(outPath)).size,
      minExtractedAt: new Date(Math.min(...parts.map((p) => p.minExtractedAtMs))).toISOString(),
      maxExtractedAt: new Date(Math.max(...parts.map((p) => p.maxExtractedAtMs))).toISOString(),
    };
    await Promise.all(parts.map((p) => rm(p.path, { force: true })));
    return file;
  } catch (err) {
    await rm(outPath, { force: true });
    await Promise.all(parts.map((p) => rm(p.path, { force: true })));
    throw err;
  }
}
