// The process's one DuckDB instance (in memory), which parses spools and writes output files.
// It never reaches the network: extensions are built in (json, parquet, icu) and autoloading or
// installing anything else is switched off.

import { totalmem } from 'node:os';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { SystemError } from '../errors.js';

export interface DuckDbEngineOptions {
  /** DuckDB's memory_limit; beyond it, operators spill to tempDirectory. Default: DuckDB's (80% of RAM). */
  memoryLimitBytes?: number;
  /** Worker threads; default 1 (the write session runs conversions beside reading and uploads). */
  threads?: number;
  /** Where DuckDB spills; default: DuckDB's own (`.tmp` beside a database, none in memory). */
  tempDirectory?: string;
  /** The most DuckDB may spill to tempDirectory; a conversion that needs more fails. Default: DuckDB's (90% of the free disk). */
  maxTempDirectoryBytes?: number;
  /** The highest memory_limit withMemoryAtLeast may set; default three quarters of the machine's memory. */
  memoryCapBytes?: number;
}

export interface DuckDbEngine {
  /** A new connection with the session settings the converters rely on (UTC). */
  connect(): Promise<DuckDBConnection>;
  /**
   * Runs `work` with DuckDB's memory_limit raised to at least `bytes` (never above the cap), and
   * puts the configured limit back once no work needs more. Some conversions need more than the
   * planned share, whatever the budget: a spool holding one record of many MiB (see the
   * converter's engineBytesFor). Without a configured limit it just runs `work`.
   */
  withMemoryAtLeast<T>(bytes: number, work: () => Promise<T>): Promise<T>;
  /** Closes the instance; connections must be done. */
  close(): void;
}

/** A task whose peak allocation passes this (MiB) makes DuckDB's allocator flush its caches. */
const ALLOCATOR_FLUSH_THRESHOLD_MIB = 16;
/** A bulk free larger than this (MiB) makes DuckDB's allocator flush what is outstanding. */
const ALLOCATOR_BULK_FLUSH_THRESHOLD_MIB = 4;

/** Settings DuckDB takes at start-up (string values, as its config API wants them). */
export function engineConfig(options: DuckDbEngineOptions = {}): Record<string, string> {
  const config: Record<string, string> = {
    threads: String(Math.max(1, Math.floor(options.threads ?? 1))),
    // Output rows need no particular order, and without it DuckDB can bound row groups by
    // bytes (ROW_GROUP_SIZE_BYTES) and stream with less memory.
    preserve_insertion_order: 'false',
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'false',
    // DuckDB's allocator (jemalloc) keeps what a conversion freed for the next one: after a task
    // it flushes its caches only when the task's peak allocation passed allocator_flush_threshold
    // (128 MiB by default), and after a bulk free only when it passed
    // allocator_bulk_deallocation_flush_threshold (512 MiB); dirty pages go back to the system
    // only when a background thread purges them. A write runs one conversion after another, so
    // that memory piled up: with 20 streams of 2 GB in all, peak RSS 611 MiB with DuckDB's
    // defaults, 487 MiB with a 16 MiB flush threshold and background threads, and (with the other
    // savings of docs/benchmarks.md) 426 -> 388 MiB with bulk frees flushed from 4 MiB. 1 MiB
    // would save ~60 MiB more but made conversions ~20% slower; 4 MiB costs a few percent.
    allocator_flush_threshold: `${ALLOCATOR_FLUSH_THRESHOLD_MIB}MiB`,
    allocator_bulk_deallocation_flush_threshold: `${ALLOCATOR_BULK_FLUSH_THRESHOLD_MIB}MiB`,
    allocator_background_threads: 'true',
  };
  if (options.memoryLimitBytes !== undefined) {
    const mib = Math.max(1, Math.floor(options.memoryLimitBytes / (1024 * 1024)));
    config.memory_limit = `${mib}MiB`;
  }
  if (options.tempDirectory !== undefined) config.temp_directory = options.tempDirectory;
  if (options.maxTempDirectoryBytes !== undefined) {
    config.max_temp_directory_size = `${Math.max(1, Math.floor(options.maxTempDirectoryBytes / (1024 * 1024)))}MiB`;
  }
  return config;
}

export async function createDuckDbEngine(options: DuckDbEngineOptions = {}): Promise<DuckDbEngine> {
  let instance: DuckDBInstance;
  try {
    instance = await DuckDBInstance.create(':memory:', engineConfig(options));
  } catch (err) {
    throw new SystemError(`Could not start the DuckDB engine: ${(err as Error).message}`, { cause: err });
  }
  let closed = false;
  const base = options.memoryLimitBytes;
  const cap = options.memoryCapBytes ?? Math.floor(totalmem() * 0.75);
  const needs = new Set<{ bytes: number }>();
  let applied = base;
  // Serialises the SET statements, so that the last one run is the one for the current needs.
  let setting: Promise<void> = Promise.resolve();
  const apply = (): Promise<void> =>
    (setting = setting.then(async () => {
      if (base === undefined || closed) return;
      const wanted = Math.max(base, Math.min(cap, Math.max(0, ...[...needs].map((n) => n.bytes))));
      if (wanted === applied) return;
      const connection = await instance.connect();
      try {
        await connection.run(`SET memory_limit = '${Math.max(1, Math.floor(wanted / (1024 * 1024)))}MiB'`);
        applied = wanted;
      } finally {
        connection.closeSync();
      }
    }));
  return {
    async withMemoryAtLeast(bytes, work) {
      if (base === undefined || bytes <= base) return work();
      const need = { bytes };
      needs.add(need);
      try {
        await apply();
        return await work();
      } finally {
        needs.delete(need);
        await apply().catch(() => undefined);
      }
    },
    async connect() {
      if (closed) throw new SystemError('The DuckDB engine is closed.');
      const connection = await instance.connect();
      // ICU is built in but loads after start-up, so the time zone is a session setting.
      await connection.run(`SET TimeZone = 'UTC'`);
      return connection;
    },
    close() {
      if (closed) return;
      closed = true;
      instance.closeSync();
    },
  };
}
