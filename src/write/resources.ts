// How the memory and temp-disk budgets are shared out (DESIGN §5.2). Documented in
// docs/operations.md; change both together.

import type { Config } from '../config/config.js';
import type { SessionLimits } from './session.js';

/** lib-storage part size: S3's minimum is 5 MiB; 8 MiB keeps part counts low for 256 MB files. */
export const UPLOAD_PART_BYTES = 8 * 1024 * 1024;

export interface ResourcePlan {
  /** DuckDB's memory_limit. */
  engineMemoryBytes: number;
  /** Files uploading at once across streams (each holds up to upload_concurrency parts). */
  maxParallelUploads: number;
  sessionLimits(config: Config): SessionLimits;
}

export function resourcePlan(config: Config): ResourcePlan {
  const memory = config.memoryBudgetBytes;
  const perUpload = UPLOAD_PART_BYTES * config.uploadConcurrency;
  // 40% for DuckDB's conversions, 30% for upload buffers, the rest for Node itself, spool batches
  // and the largest record in flight.
  const engineMemoryBytes = Math.max(32 * 1024 * 1024, Math.floor(memory * 0.4));
  const maxParallelUploads = Math.max(1, Math.min(8, Math.floor((memory * 0.3) / perUpload)));
  const disk = config.tempDiskBudgetBytes;
  return {
    engineMemoryBytes,
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
