// Format writers behind one interface. A writer turns a spool of RECORD messages (the raw input
// lines, as received) into typed output files, using DuckDB to parse the values from the raw
// text (DESIGN §5.6: JSON.parse in JS would round big integers and drop microseconds).
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
   * file_size_mb (DESIGN §3). The caller has cut the spool at a state boundary near it, so output
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
}

export interface StreamWriterContext {
  stream: ConfiguredAirbyteStream;
  format: Format;
  /** Catalog sync_id (0 when absent), written into `_airbyte_meta.sync_id`. */
  syncId: number;
  /** Catalog generation_id (0 when absent), written into `_airbyte_generation_id`. */
  generationId: number;
}

export interface StreamConverter {
  /** The columns as written: the metadata columns of DESIGN §5.3 first, then the data columns. */
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
}
