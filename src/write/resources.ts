// How the memory and temp-disk budgets are shared out (DESIGN §5.2). Documented in
// docs/operations.md; change both together.

import { availableParallelism } from 'node:os';
import type { Config } from '../config/config.js';
import type { SessionLimits } from './session.js';

/** lib-storage part size: S3's minimum is 5 MiB; 8 MiB keeps part counts low for 256 MB files. */
export const UPLOAD_PART_BYTES = 8 * 1024 * 1024;

/**
 * DuckDB memory one conversion thread needs (measured: a conversion on one thread ran in a
 * 100 MB memory_limit, on two in 200 MB but not in 150 MB), with a margin.
 */
export const ENGINE_BYTES_PER_THREAD = 160 * 1024 * 1024;

export interface ResourcePlan {
  /** DuckDB's memory_limit. */
  engineMemoryBytes: number;
  /** DuckDB's worker threads: every core, as far as its memory share allows. */
  engineThreads: number;
  /** Files uploading at once across streams (each holds up to upload_concurrency parts). */
  maxParallelUploads: number;
  sessionLimits(config: Config): SessionLimits;
}

export function resourcePlan(config: Config, cores = availableParallelism()): ResourcePlan {
  const memory = config.memoryBudgetBytes;
  const perUpload = UPLOAD_PART_BYTES * config.uploadConcurrency;
  // 40% for DuckDB's conversions, 30% for upload buffers, the rest for Node itself, spool batches
  // and the largest record in flight.
  const engineMemoryBytes = Math.max(32 * 1024 * 1024, Math.floor(memory * 0.4));
  const maxParallelUploads = Math.max(1, Math.min(8, Math.floor((memory * 0.3) / perUpload)));
  const disk = config.tempDiskBudgetBytes;
  // Reading and routing the input costs little beside the conversions, and a conversion left
  // alone (at the end of input) should use the whole machine: DuckDB gets every core, unless its
  // memory share would make a conversion fail for lack of memory.
  const engineThreads = Math.max(1, Math.min(cores, Math.floor(engineMemoryBytes / ENGINE_BYTES_PER_THREAD)));
  return {
    engineMemoryBytes,
    engineThreads,
    maxParallelUploads,
    sessionLimits: (c) => ({
      targetFileBytes: c.fileSizeBytes,
      flushIntervalMs: c.flushIntervalMs,
      // Open spools and the pipeline's backlog (queued spools, converted files) share the disk.
      spoolBudgetBytes: Math.floor(disk * 0.45),
      backlogBudgetBytes: Math.floor(disk * 0.45),
      spoolMemoryBytes: 1024 * 1024,
    }),
  };
}
