// Takes finished spools to S3: convert (DuckDB, one at a time: it uses the cores itself), upload
// each output file under its part key, rewrite the stream's manifest, and only then report the
// records as committed (docs/write-path.md, "When a state is echoed"). Commits of one stream happen
// in order; streams upload in parallel up to a bound. The first failure stops everything and aborts
// uploads.

import { createReadStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import type { ObjectStore } from '../storage/port.js';
import type { ConvertedFile } from '../formats/format.js';
import type { FileJob, StreamSink } from './sink.js';

/**
 * Output bytes reserved per spool byte before a stream's first conversion. A written row is at
 * most about twice its input line (a nested value with undeclared members is written twice,
 * see converter.ts); rows of a few bytes can grow more (the metadata columns), and are counted
 * as written once the conversion ends.
 */
export const FIRST_OUTPUT_RESERVE = 2;
/** Margin on the ratio learned from a stream's previous file: files of one stream differ a little. */
export const RATIO_MARGIN = 1.25;

/** Temp disk to reserve for the output of converting `spoolBytes`, before the conversion writes it. */
export function outputReserveBytes(spoolBytes: number, learnedRatio: number | undefined): number {
  return Math.ceil(spoolBytes * (learnedRatio === undefined ? FIRST_OUTPUT_RESERVE : learnedRatio * RATIO_MARGIN));
}

export interface CommitterDeps {
  store: ObjectStore;
  outDir: string;
  targetFileBytes: number;
  /** Most files uploading at once, across streams. */
  maxParallelUploads: number;
  /** The object key of a stream's next data file. */
  dataKey(sink: StreamSink, part: number): string;
  /** Rewrites the stream's manifest with the files committed so far. */
  writeManifest(sink: StreamSink): Promise<void>;
  /** Called once records up to `recordsEnd` of the stream are in listed objects. */
  onCommitted(sink: StreamSink, recordsEnd: number): void;
  /** Told once, at the first failure (so that the caller can stop reading its input at once). */
  onFailure?(err: Error): void;
  log(message: string): void;
}

export class Committer {
  private readonly queue: FileJob[] = [];
  private converting = false;
  private uploading = 0;
  private readonly uploadWaiters: (() => void)[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private readonly abort = new AbortController();
  private failure: Error | undefined;
  /**
   * Temp disk held by the pipeline: spools queued or converting (with the tail a cut spool
   * holds until it is truncated), the output reserved for the conversion running, and converted
   * files not yet uploaded.
   */
  backlogBytes = 0;
  private roomWaiters: (() => void)[] = [];
  /** Streams whose output ratio was learned from a conversion (the reservation follows it). */
  private readonly learned = new WeakSet<StreamSink>();

  constructor(private readonly deps: CommitterDeps) {}

  get failed(): Error | undefined {
    return this.failure;
  }

  submit(job: FileJob): void {
    if (this.failure) {
      void job.ready.then(
        () => job.spool.remove(),
        () => job.spool.remove(),
      );
      return;
    }
    // A spool cut at a state boundary keeps the records after it on disk until its tail is
    // copied out and the file truncated (`ready`): counted until then.
    const tailBytes = job.spool.untruncatedBytes;
    this.backlogBytes += job.spool.bytes + tailBytes;
    if (tailBytes > 0) {
      void job.ready
        .finally(() => {
          this.backlogBytes -= tailBytes;
          this.notify();
        })
        .catch(() => undefined);
    }
    this.queue.push(job);
    this.pump();
  }

  /** Resolves once the backlog is at most `limitBytes` (or the pipeline failed). */
  async waitForRoom(limitBytes: number): Promise<void> {
    while (this.backlogBytes > limitBytes && !this.failure) {
      await new Promise<void>((res) => this.roomWaiters.push(res));
    }
  }

  /** Resolves when every submitted job is committed; rejects with the first failure. */
  async idle(): Promise<void> {
    while (this.queue.length > 0 || this.converting || this.inFlight.size > 0) {
      await Promise.allSettled([...this.inFlight, this.nextTick()]);
      if (this.failure) break;
    }
    if (this.failure) throw this.failure;
  }

  /**
   * Resolves when no job is converting or committing any more, failed or not (after a failure,
   * queued jobs are dropped and uploads aborted, so this comes soon). A commit whose upload
   * completed despite the abort still lists its file and echoes its states: whoever writes a
   * stream's manifest after this must wait for it, or would overwrite that list with an older one.
   */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private tickWaiters: (() => void)[] = [];
  private nextTick(): Promise<void> {
    return new Promise((res) => this.tickWaiters.push(res));
  }
  private notify(): void {
    for (const w of this.tickWaiters.splice(0)) w();
    for (const w of this.roomWaiters.splice(0)) w();
  }

  /** Stops the pipeline: queued jobs are dropped, uploads aborted. */
  fail(err: Error): void {
    const first = this.failure === undefined;
    this.failure ??= err;
    this.abort.abort(err);
    if (first) this.deps.onFailure?.(err);
    for (const job of this.queue.splice(0))
      void job.ready.then(
        () => job.spool.remove(),
        () => job.spool.remove(),
      );
    this.notify();
  }

  private pump(): void {
    if (this.converting || this.failure) return;
    const job = this.queue.shift();
    if (!job) return;
    this.converting = true;
    const work = this.convert(job)
      .then((files) => {
        this.converting = false;
        this.pump();
        return this.commitInOrder(job, files);
      })
      .catch((err: unknown) => {
        this.converting = false;
        this.fail(err instanceof Error ? err : new Error(String(err)));
      })
      .finally(() => {
        this.inFlight.delete(work);
        this.notify();
      });
    this.inFlight.add(work);
  }

  private async convert(job: FileJob): Promise<ConvertedFile[]> {
    await job.ready;
    const spoolBytes = job.spool.bytes;
    // The output is written while the spool is still on disk: it is reserved before DuckDB writes
    // it, so that the reader waits for room with it counted, not only once it is written.
    const reserved = outputReserveBytes(spoolBytes, this.learned.has(job.sink) ? job.sink.outputRatio : undefined);
    this.backlogBytes += reserved;
    try {
      const files = await job.sink.converter.convert(job.spool.path, {
        targetFileBytes: this.deps.targetFileBytes,
        outDir: this.deps.outDir,
        // The spool knows its longest line: the converter need not read it once more to find it.
        maxLineBytes: job.spool.longestLine,
        // A failure or SIGTERM interrupts DuckDB rather than waiting for the conversion to end.
        signal: this.abort.signal,
      });
      const outBytes = files.reduce((n, f) => n + f.bytes, 0);
      if (spoolBytes > 0) {
        job.sink.outputRatio = Math.max(0.01, outBytes / spoolBytes);
        this.learned.add(job.sink);
      }
      this.backlogBytes += outBytes;
      return files;
    } finally {
      this.backlogBytes -= spoolBytes + reserved;
      await job.spool.remove();
      // the output is usually smaller than its spool: a reader waiting for room may go on
      this.notify();
    }
  }

  private commitInOrder(job: FileJob, files: ConvertedFile[]): Promise<void> {
    const sink = job.sink;
    /** Converted files whose upload has not started (uploadOne removes the others). */
    const notStarted = new Set(files);
    const commit = sink.commitTail.then(async () => {
      if (this.failure) throw this.failure;
      for (const file of files) {
        notStarted.delete(file);
        await this.uploadOne(sink, file);
      }
      await this.deps.writeManifest(sink);
      sink.committedRecords = job.recordsEnd;
      this.deps.onCommitted(sink, job.recordsEnd);
    });
    sink.commitTail = commit.catch(() => undefined);
    // A commit stopped by a failure (its own, or an earlier one) still frees its temp disk.
    return commit.catch(async (err: unknown) => {
      await this.discard([...notStarted]);
      throw err;
    });
  }

  private async discard(files: ConvertedFile[]): Promise<void> {
    for (const file of files) {
      this.backlogBytes -= file.bytes;
      await rm(file.path, { force: true });
    }
    this.notify();
  }

  private async uploadOne(sink: StreamSink, file: ConvertedFile): Promise<void> {
    while (this.uploading >= this.deps.maxParallelUploads) {
      await new Promise<void>((res) => this.uploadWaiters.push(res));
    }
    this.uploading++;
    try {
      if (this.failure) throw this.failure;
      const part = sink.files.length;
      const key = this.deps.dataKey(sink, part);
      const { size } = await stat(file.path);
      const result = await this.deps.store.upload(key, createReadStream(file.path), {
        contentType: sink.converter.contentType,
        signal: this.abort.signal,
      });
      if (result.bytes !== size) throw new Error(`uploaded ${result.bytes} bytes of ${file.path}, expected ${size}`);
      sink.files.push({
        key,
        records: file.records,
        bytes: result.bytes,
        sha256: result.sha256,
        minExtractedAt: file.minExtractedAt,
        maxExtractedAt: file.maxExtractedAt,
      });
    } finally {
      this.uploading--;
      this.backlogBytes -= file.bytes;
      await rm(file.path, { force: true });
      this.uploadWaiters.shift()?.();
      this.notify();
    }
  }
}
