// How the memory and temp-disk budgets are shared out. Documented in docs/write-path.md
// ("Resource bounds") and docs/operations.md ("Resources"); change them together.
//
// memory_budget_mb bounds what the connector holds on top of the runtime itself (Node, the AWS
// SDK and DuckDB's code: ~140 MiB resident before any data). It is shared out as:
//   40%  DuckDB: its memory_limit, and the threads that fit in it (one conversion at a time);
//   30%  uploads: parts in flight (files uploading at once × parts each);
//   15%  spool buffers: lines on their way to each stream's spool file;
//    5%  held checkpoints: STATEs waiting for their files (raw text and per-stream watermarks);
//   10%  the rest: line batches, the largest record in flight, manifests, JS objects.
// A conversion that needs more than DuckDB's share (a record of many MiB) gets it while it runs
// (formats/converter.ts, engineBytesFor).

import { availableParallelism } from 'node:os';
import type { Config } from '../config/config.js';
import { DEFAULT_PART_SIZE } from '../storage/s3-store.js';
import type { SessionLimits } from './session.js';

const MiB = 1024 * 1024;

/** The size of one upload part (the store's: lib-storage holds each part in memory). */
export const UPLOAD_PART_BYTES = DEFAULT_PART_SIZE;

/**
 * DuckDB memory one conversion thread needs (measured: a conversion on one thread ran in a
 * 100 MB memory_limit, on two in 200 MB but not in 150 MB), with a margin.
 */
export const ENGINE_BYTES_PER_THREAD = 160 * MiB;

/** Held checkpoints' share of the memory budget (taken from what was "the rest"). */
export const HELD_STATES_SHARE = 0.05;

/** Files uploading at once, at most: more buys no throughput from one process. */
const MAX_PARALLEL_UPLOADS = 4;

/** A stream's spool buffer, at least and at most (lines wait there for the spool's file). */
const MIN_SPOOL_MEMORY_BYTES = 256 * 1024;
const MAX_SPOOL_MEMORY_BYTES = MiB;

export interface ResourcePlan {
  /** DuckDB's memory_limit. */
  engineMemoryBytes: number;
  /** DuckDB's worker threads: every core, as far as its memory share allows. */
  engineThreads: number;
  /** The most DuckDB may spill to disk: the temp-disk budget's 10% that spools and the backlog leave. */
  engineSpillBytes: number;
  /** Files uploading at once across streams. */
  maxParallelUploads: number;
  /** Parts in flight per uploading file: upload_concurrency, as far as the upload share allows. */
  uploadConcurrency: number;
  sessionLimits(config: Config): SessionLimits;
}

/**
 * The plan for a sync of `streams` catalog streams on a machine of `cores` cores.
 * An uploading file holds its parts in flight plus the one being filled.
 */
export function resourcePlan(config: Config, cores = availableParallelism(), streams = 1): ResourcePlan {
  const memory = config.memoryBudgetBytes;
  const engineMemoryBytes = Math.max(32 * MiB, Math.floor(memory * 0.4));
  // Reading and routing the input costs little beside the conversions, and a conversion left
  // alone (at the end of input) should use the whole machine: DuckDB gets every core, unless its
  // memory share would make a conversion fail for lack of memory.
  const engineThreads = Math.max(1, Math.min(cores, Math.floor(engineMemoryBytes / ENGINE_BYTES_PER_THREAD)));

  const uploadShare = Math.floor(memory * 0.3);
  const partsThatFit = Math.max(2, Math.floor(uploadShare / UPLOAD_PART_BYTES));
  const uploadConcurrency = Math.max(1, Math.min(config.uploadConcurrency, partsThatFit - 1));
  const maxParallelUploads = Math.max(1, Math.min(MAX_PARALLEL_UPLOADS, Math.floor(partsThatFit / (uploadConcurrency + 1))));

  const spoolShare = Math.floor(memory * 0.15);
  const spoolMemoryBytes = Math.max(MIN_SPOOL_MEMORY_BYTES, Math.min(MAX_SPOOL_MEMORY_BYTES, Math.floor(spoolShare / Math.max(1, streams))));

  const disk = config.tempDiskBudgetBytes;
  return {
    engineMemoryBytes,
    engineThreads,
    engineSpillBytes: Math.floor(disk * 0.1),
    maxParallelUploads,
    uploadConcurrency,
    sessionLimits: (c) => ({
      targetFileBytes: c.fileSizeBytes,
      flushIntervalMs: c.flushIntervalMs,
      // Open spools and the pipeline's backlog (queued spools, converted files) share the disk.
      spoolBudgetBytes: Math.floor(disk * 0.45),
      backlogBudgetBytes: Math.floor(disk * 0.45),
      spoolMemoryBytes,
      heldStatesBytes: Math.floor(memory * HELD_STATES_SHARE),
    }),
  };
}
