// Format writers behind one interface. A writer turns a spool of RECORD messages (the raw input
// lines, as received) into typed output files, using DuckDB to parse the values from the raw
// text (docs/types.md, "Exactness": JSON.parse in JS would round big integers and drop microseconds).
//
// Entry points: createDuckDbEngine (duckdb.ts) once per process, then createStreamConverter
// (converter.ts) once per catalog stream. docs/types.md documents what the files hold.

import type { ConfiguredAirbyteStream } from '../protocol/messages.js';
import type { Format } from '../config/config.js';

export interface Column {
  name: string;
  /** The written format's own type name (DuckDB/Parquet vocabulary), as listed in the manifest. */
  type: string;
}

export interface ConvertedFile {
  /** Local path of the output file. */
  path: string;
  records: number;
  bytes: number;
  /** ISO-8601 UTC of the smallest and largest `_airbyte_extracted_at` in the file. */
  minExtractedAt: string;
  maxExtractedAt: string;
}

export interface ConvertOptions {
  /**
   * file_size_mb (docs/write-path.md, "When a file is finished (splitting)"). The caller has cut the spool at a state boundary near it, so output
   * files are split only past twice this size (the hard bound; a file passes it by at most the
   * batch being written); row groups are at most an eighth of it.
   */
  targetFileBytes: number;
  /** Directory for the output files; names are the writer's choice, unique within it. */
  outDir: string;
  /**
   * The longest line of the spool in bytes, when the spool writer knows it. DuckDB's JSON reader
   * is sized from it; without it the converter scans the spool once to find it.
   */
  maxLineBytes?: number;
  /** Stops the conversion: DuckDB is interrupted, its files removed, and convert() rejects with AbortedError. */
  signal?: AbortSignal;
}

/** A closed piece of one stream's spool: whole lines, never written to again (docs/architecture.md). */
export interface Segment {
  path: string;
  records: number;
  bytes: number;
  /** The longest spool line in bytes, without '\n' (sizes DuckDB's reader and memory). */
  longestLine: number;
  minExtractedAtMs: number;
  maxExtractedAtMs: number;
}

/** One converted segment: a local file of the output format, not yet a complete output file. */
export interface ConvertedPart {
  path: string;
  records: number;
  bytes: number;
  minExtractedAtMs: number;
  maxExtractedAtMs: number;
}

export interface StreamWriterContext {
  stream: ConfiguredAirbyteStream;
  /** file_size_mb in bytes: sizes Parquet row groups (an eighth of it, at most 16 MiB); default 256 MB. */
  targetFileBytes?: number;
  format: Format;
  /** Catalog sync_id (0 when absent), written into `_airbyte_meta.sync_id`. */
  syncId: number;
  /** Catalog generation_id (0 when absent), written into `_airbyte_generation_id`. */
  generationId: number;
}

export interface StreamConverter {
  /** The columns as written: the metadata columns of docs/types.md ("Columns and types") first, then the data columns. */
  readonly columns: Column[];
  /** File extension without the dot: parquet, csv, csv.gz, jsonl, jsonl.gz. */
  readonly extension: string;
  readonly contentType: string;
  /**
   * Converts a non-empty spool into one or more non-empty output files, in `outDir`, in order.
   * Several conversions may run at once (each on its own DuckDB connection) and share `outDir`.
   * On failure it throws a SystemError naming the stream and leaves no file of its own behind.
   */
  convert(spoolPath: string, options: ConvertOptions): Promise<ConvertedFile[]>;
  /** DuckDB memory a conversion of a segment with this longest line needs (the ledger reserves it). */
  engineBytesFor(longestLine: number): number;
  /**
   * Converts one closed segment into one part in outDir. The records and extracted-at range are
   * the segment's (no read-back). On abort (signal) the running DuckDB statement is interrupted,
   * the part's files are removed, and it rejects with an AbortedError.
   */
  convertSegment(segment: Segment, options: { outDir: string; signal?: AbortSignal }): Promise<ConvertedPart>;
  /**
   * Joins parts, in order, into one output file at outPath: Parquet copies the parts' rows into
   * one file (row groups as configured); CSV writes one header; gzip compresses off the main
   * thread. One part may simply be moved. The parts' files are consumed (removed).
   */
  assemble(parts: readonly ConvertedPart[], options: { outPath: string; signal?: AbortSignal }): Promise<ConvertedFile>;
}
