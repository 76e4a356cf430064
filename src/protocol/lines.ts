// The stdin line reader: yields each line with its 1-based number. It splits bytes on '\n'
// itself, because split2 (used before) re-scanned the whole pending line at every 64 KiB chunk
// (a 32 MiB record took 40 s), decoded invalid UTF-8 into U+FFFD, checked the length limit
// only on the pending tail (a long line inside one chunk passed), and reported errors by
// destroying the stream, which dropped the lines it still buffered before the bad one (and so
// the STATEs among them that must still be echoed: docs/write-path.md, "When a state is echoed").
//
// Here each line is checked whole (UTF-8, length) once its '\n' arrives, and an error is
// yielded in order after every good line before it.

import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { isUtf8 } from 'node:buffer';
import { ConfigError } from '../errors.js';

/** The longest input line accepted, in bytes (without its line ending). At least 64 MiB (docs/types.md, "Record size"). */
export const MAX_LINE_BYTES = 96 * 1024 * 1024;
/** @deprecated the limit is in bytes: use MAX_LINE_BYTES. */
export const MAX_LINE_CHARS = MAX_LINE_BYTES;

export interface InputLine {
  text: string;
  lineNo: number;
  /** The line's bytes (UTF-8, without its line ending), when the reader has them. */
  bytes?: Buffer;
}

/** A line as read: its bytes, decoded to text only when something asks for the text. */
class RawLine implements InputLine {
  private decoded: string | undefined;

  constructor(
    readonly bytes: Buffer,
    readonly lineNo: number,
  ) {}

  get text(): string {
    this.decoded ??= this.bytes.toString('utf8');
    return this.decoded;
  }
}

/** The lines of one input chunk, or the error that ends the input (after the lines before it). */
type Item = InputLine[] | { error: ConfigError };

const isBlank = (bytes: Buffer): boolean => {
  // Most lines start with '{'; only others are decoded to apply JS's notion of white space.
  const first = bytes[0];
  return first === undefined || (first !== 0x7b && bytes.toString('utf8').trim().length === 0);
};

const LF = 0x0a;
const CR = 0x0d;

class LineSplitter extends Transform {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private lineNo = 0;
  private failed = false;

  constructor(private readonly maxLineBytes: number) {
    super({ readableObjectMode: true });
  }

  /** Lines completed by the current chunk, handed on together (one object per chunk, not per line). */
  private batch: InputLine[] = [];

  private pushBatch(): void {
    if (this.batch.length === 0) return;
    this.push(this.batch satisfies Item);
    this.batch = [];
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.transformChunk(chunk);
    this.pushBatch();
    cb();
  }

  private transformChunk(chunk: Buffer): void {
    let start = 0;
    while (!this.failed) {
      const nl = chunk.indexOf(LF, start);
      const piece = chunk.subarray(start, nl < 0 ? chunk.length : nl);
      if (this.pendingBytes + piece.length > this.maxLineBytes + 1) {
        // +1: a '\r' before the '\n' is not part of the line.
        this.fail(this.tooLong(this.lineNo + 1));
        break;
      }
      if (nl < 0) {
        if (piece.length) {
          this.pending.push(piece);
          this.pendingBytes += piece.length;
        }
        break;
      }
      this.emitLine(this.completeLine(piece));
      start = nl + 1;
    }
  }

  override _flush(cb: TransformCallback): void {
    if (!this.failed && this.pendingBytes > 0) this.emitLine(this.completeLine(Buffer.alloc(0)));
    this.pushBatch();
    cb();
  }

  private completeLine(last: Buffer): Buffer {
    const line = this.pending.length ? Buffer.concat([...this.pending, last]) : last;
    this.pending = [];
    this.pendingBytes = 0;
    return line;
  }

  private emitLine(raw: Buffer): void {
    this.lineNo++;
    const bytes = raw.length && raw[raw.length - 1] === CR ? raw.subarray(0, raw.length - 1) : raw;
    if (bytes.length > this.maxLineBytes) return this.fail(this.tooLong(this.lineNo));
    if (!isUtf8(bytes)) {
      return this.fail(new ConfigError(`Input line ${this.lineNo} is not valid UTF-8; the source must send UTF-8 JSON lines.`));
    }
    if (isBlank(bytes)) return; // blank lines are skipped but counted
    // A line inside the chunk is a view of it (no copy): consumers copy what they keep.
    this.batch.push(new RawLine(bytes, this.lineNo));
  }

  private tooLong(lineNo: number): ConfigError {
    return new ConfigError(
      `Input line ${lineNo} is longer than the limit of ${formatBytes(this.maxLineBytes)} for one message; split the record at the source or drop oversized fields.`,
    );
  }

  /** Yields the error after the lines before it; later input is read and dropped. */
  private fail(error: ConfigError): void {
    this.failed = true;
    this.pending = [];
    this.pendingBytes = 0;
    this.pushBatch();
    this.push({ error } satisfies Item);
  }
}

function formatBytes(n: number): string {
  return n % (1024 * 1024) === 0 ? `${n / 1024 / 1024} MiB` : `${n} bytes`;
}

/**
 * Yields the non-empty lines of the input in batches (the lines that each input chunk
 * completed); blank lines are skipped but counted. Each line's `bytes` is a view of the input
 * chunk, valid as long as the caller keeps it: copy what must outlive the batch.
 */
export async function* readLineBatches(input: Readable, maxLineBytes = MAX_LINE_BYTES): AsyncGenerator<InputLine[]> {
  const splitter = new LineSplitter(maxLineBytes);
  input.on('error', (err) => splitter.destroy(err));
  input.pipe(splitter);
  try {
    for await (const item of splitter as AsyncIterable<Item>) {
      if (!Array.isArray(item)) throw item.error;
      yield item;
    }
  } finally {
    input.unpipe(splitter);
    splitter.destroy();
  }
}

/** Yields the non-empty lines of the input one by one; blank lines are skipped but counted. */
export async function* readLines(input: Readable, maxLineBytes = MAX_LINE_BYTES): AsyncGenerator<InputLine> {
  for await (const batch of readLineBatches(input, maxLineBytes)) yield* batch;
}
