// One catalog stream's side of the write path: its open spool, the last state boundary in it,
// and the files committed so far. Cutting is synchronous (the spool is detached at once), so
// the message loop and the flush timer never need a lock.

import { join } from 'node:path';
import type { ConfiguredAirbyteStream } from '../protocol/messages.js';
import type { StreamConverter } from '../formats/format.js';
import type { CommittedFile } from './manifest.js';
import { Spool, type SpoolMark } from './spool.js';

/** A finished spool on its way to S3: converted, uploaded, listed, then its states echoed. */
export interface FileJob {
  sink: StreamSink;
  spool: Spool;
  /** Resolves when the spool file holds exactly its records. */
  ready: Promise<void>;
  /** Records of the stream up to and including this spool's last record. */
  recordsEnd: number;
  reason: CutReason;
}

export type CutReason = 'size' | 'hard-size' | 'timer' | 'budget' | 'states' | 'end' | 'failure';

export class StreamSink {
  spool: Spool | undefined;
  /** The latest state boundary inside the open spool (a STATE covering this stream came there). */
  boundary: SpoolMark | undefined;
  /** The open spool is big enough: cut it at the next state boundary. */
  due = false;
  /** Output bytes per spool byte, learned from each conversion; starts at 1 (no compression). */
  outputRatio = 1;
  readonly files: CommittedFile[] = [];
  committedRecords = 0;
  /** Records of the stream handed to the committer so far (the end of the last cut). */
  submittedRecords = 0;
  /** The previous job's commit: commits of one stream happen in order. */
  commitTail: Promise<void> = Promise.resolve();
  sawIncomplete = false;
  private spoolSeq = 0;
  /** Bytes of the spools cut so far (dropped tails included): with the open spool, all received. */
  private cutBytes = 0;

  constructor(
    readonly key: string,
    readonly configured: ConfiguredAirbyteStream,
    readonly model: string,
    readonly converter: StreamConverter,
    private readonly tmpDir: string,
    private readonly index: number,
  ) {}

  private nextSpoolPath(): string {
    return join(this.tmpDir, `s${this.index}-${this.spoolSeq++}.jsonl`);
  }

  /** The open spool, opened on the first record after a cut. */
  openSpool(firstRecordIndex: number): Spool {
    this.spool ??= new Spool(this.nextSpoolPath(), firstRecordIndex);
    return this.spool;
  }

  /** Estimated output size of the open spool. */
  get estimatedOutputBytes(): number {
    return (this.spool?.bytes ?? 0) * this.outputRatio;
  }

  /** Bytes of RECORD lines received for this stream (for progress reports). */
  get receivedBytes(): number {
    return this.cutBytes + (this.spool?.bytes ?? 0);
  }

  /** Marks a state boundary at the end of the open spool. */
  markBoundary(): void {
    if (this.spool && this.spool.records > 0) this.boundary = this.spool.mark;
  }

  /**
   * Detaches the open spool as a job. `at` cuts at a state boundary: the records after it stay
   * in a new open spool (keepTail) or are dropped (a failing transfer's unconfirmed tail).
   */
  cut(reason: CutReason, at?: SpoolMark, keepTail = true): FileJob | undefined {
    const spool = this.spool;
    if (!spool || spool.records === 0) return undefined;
    const mark = at ?? spool.mark;
    if (mark.records === 0) return undefined;
    const before = spool.bytes;
    const { done, tail } = spool.cutAt(mark, this.nextSpoolPath(), keepTail);
    this.cutBytes += before - (tail?.bytes ?? 0);
    this.spool = tail;
    this.boundary = undefined;
    this.due = false;
    const recordsEnd = spool.firstRecordIndex + mark.records;
    this.submittedRecords = recordsEnd;
    return { sink: this, spool, ready: done, recordsEnd, reason };
  }
}
