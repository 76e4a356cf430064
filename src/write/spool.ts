// A spool: a local file holding one stream's RECORD lines exactly as received (docs/types.md,
// "Exactness": the raw text reaches DuckDB, never a JS re-serialisation). Appends are synchronous:
// lines are batched in memory and written in order by a chain of async writes, so the session never
// has to await to take a record, and can detach a spool (cut a file) at any moment without a lock.

import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { rm, truncate } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';

/** Lines are handed to the file in batches of about this size. */
const BATCH_BYTES = 256 * 1024;

const CR = 0x0d;
const SPACE = 0x20;

/** Turns every carriage return in buffer[start, end) into a space. */
function blankCarriageReturns(buffer: Buffer, start: number, end: number): void {
  for (let i = buffer.indexOf(CR, start); i !== -1 && i < end; i = buffer.indexOf(CR, i + 1)) buffer[i] = SPACE;
}

/** A point in the spool: how many bytes and records precede it. */
export interface SpoolMark {
  bytes: number;
  records: number;
}

export class Spool {
  private readonly file: WriteStream;
  /** Lines not yet handed to the file, copied end to end ('\n' after each). */
  private batch: Buffer = Buffer.allocUnsafe(BATCH_BYTES);
  private batchBytes = 0;
  /** Bytes handed to the write chain and not yet written: the memory the spool holds. */
  private inFlight = 0;
  /** Serialises the file's writes; starts with the copy of a predecessor's tail, if any. */
  private writes: Promise<void>;
  private failure: Error | undefined;
  private closing: Promise<void> | undefined;
  bytes = 0;
  records = 0;
  /** The longest line appended, in bytes (for the tail of a cut spool: its predecessor's). */
  longestLine = 0;
  /**
   * Bytes past a cut that the file still holds until `cutAt(...).done`: the tail is copied out
   * first, then the file truncated. Temp disk that `bytes` no longer counts meanwhile.
   */
  untruncatedBytes = 0;

  /**
   * @param firstRecordIndex records of the stream received before this spool's first record
   * @param head bytes written before any append (the tail of a spool cut at a state boundary)
   */
  constructor(
    readonly path: string,
    readonly firstRecordIndex: number,
    head?: { from: Promise<{ path: string; start: number }>; mark: SpoolMark; longestLine: number },
  ) {
    this.file = createWriteStream(path, { flags: 'w' });
    this.file.on('error', (err) => {
      this.failure ??= err;
    });
    this.writes = head
      ? head.from.then(({ path: src, start }) => pipeline(createReadStream(src, { start }), this.file, { end: false }))
      : Promise.resolve();
    this.writes.catch((err: Error) => {
      this.failure ??= err;
    });
    if (head) {
      this.bytes = head.mark.bytes;
      this.records = head.mark.records;
      this.longestLine = head.longestLine;
    }
  }

  /**
   * Appends one line of JSON text (its bytes are copied: the caller may reuse them). A raw
   * carriage return in a valid JSON line can only be white space between tokens: it is written
   * as a space, because DuckDB's line reader would take it for a line break.
   */
  append(line: string | Buffer): void {
    const bytes = typeof line === 'string' ? Buffer.from(line, 'utf8') : line;
    const size = bytes.length + 1;
    const hasCarriageReturn = bytes.indexOf(CR) !== -1;
    if (this.batchBytes + size > this.batch.length) this.flushBatch();
    if (size > this.batch.length) {
      // A line longer than a batch goes to the file on its own.
      const own = Buffer.allocUnsafe(size);
      bytes.copy(own, 0);
      own[size - 1] = 0x0a;
      if (hasCarriageReturn) blankCarriageReturns(own, 0, size - 1);
      this.enqueue(own);
    } else {
      bytes.copy(this.batch, this.batchBytes);
      this.batch[this.batchBytes + size - 1] = 0x0a;
      if (hasCarriageReturn) blankCarriageReturns(this.batch, this.batchBytes, this.batchBytes + size - 1);
      this.batchBytes += size;
    }
    this.bytes += size;
    this.records += 1;
    if (bytes.length > this.longestLine) this.longestLine = bytes.length;
    if (this.batchBytes >= BATCH_BYTES) this.flushBatch();
  }

  get mark(): SpoolMark {
    return { bytes: this.bytes, records: this.records };
  }

  /** Memory held by lines not yet on disk; the reader waits (drained()) when it grows. */
  get bufferedBytes(): number {
    return this.inFlight + this.batchBytes;
  }

  private flushBatch(): void {
    if (this.batchBytes === 0) return;
    const chunk = this.batch.subarray(0, this.batchBytes);
    this.batch = Buffer.allocUnsafe(BATCH_BYTES);
    this.batchBytes = 0;
    this.enqueue(chunk);
  }

  /** Hands a chunk to the write chain (in order after every earlier chunk). */
  private enqueue(chunk: Buffer): void {
    const size = chunk.length;
    this.inFlight += size;
    this.writes = this.writes.then(
      () =>
        new Promise<void>((resolve, reject) => {
          this.file.write(chunk, (err) => {
            this.inFlight -= size;
            if (err) reject(err);
            else resolve();
          });
        }),
    );
    this.writes.catch((err: Error) => {
      this.failure ??= err;
    });
  }

  /** Resolves when every line appended so far is written to the file. */
  async drained(): Promise<void> {
    this.flushBatch();
    await this.writes;
    if (this.failure) throw this.failure;
  }

  /** Writes what is buffered and closes the file. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.drained();
      await new Promise<void>((res, rej) => this.file.end((err?: Error | null) => (err ? rej(err) : res())));
      if (this.failure) throw this.failure;
    })();
    return this.closing;
  }

  /**
   * Cuts the spool at `mark` (a state boundary): returns a promise that resolves once this file
   * holds exactly the records before the mark, and, when records follow the mark, a new open
   * spool at `tailPath` that starts with them. Synchronous up to the returned promises, so the
   * caller can keep appending to the tail at once.
   */
  cutAt(mark: SpoolMark, tailPath: string, keepTail: boolean): { done: Promise<void>; tail: Spool | undefined } {
    const after = { bytes: this.bytes - mark.bytes, records: this.records - mark.records };
    if (after.records === 0) return { done: this.close(), tail: undefined };
    const closed = this.close();
    const tail = keepTail
      ? new Spool(tailPath, this.firstRecordIndex + mark.records, {
          from: closed.then(() => ({ path: this.path, start: mark.bytes })),
          mark: after,
          longestLine: this.longestLine,
        })
      : undefined;
    this.untruncatedBytes = after.bytes;
    const done = (async () => {
      await closed;
      // The tail must be copied out before the file is shortened.
      if (tail) await tail.writes;
      await truncate(this.path, mark.bytes);
      this.untruncatedBytes = 0;
    })();
    this.bytes = mark.bytes;
    this.records = mark.records;
    return { done, tail };
  }

  async remove(): Promise<void> {
    if (!this.file.closed) this.file.destroy();
    await rm(this.path, { force: true });
  }
}
