// The stdin line reader: yields each line with its 1-based number. split2 splits, but it decodes
// with a replacing decoder, so invalid UTF-8 would silently become U+FFFD; a pass-through check
// in front of it finds invalid bytes and reports the line they are on.

import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { isUtf8 } from 'node:buffer';
import split2 from 'split2';
import { ConfigError } from '../errors.js';

/** The longest input line accepted (characters). DESIGN §5.5 asks for at least 64 MiB. */
export const MAX_LINE_CHARS = 96 * 1024 * 1024;

export interface InputLine {
  text: string;
  lineNo: number;
}

/** Passes bytes through unchanged; fails with the line number on the first invalid UTF-8 byte. */
class Utf8Guard extends Transform {
  private carry: Buffer = Buffer.alloc(0);
  private newlinesSeen = 0;

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    const buf = this.carry.length ? Buffer.concat([this.carry, chunk]) : chunk;
    const cut = completeUtf8Prefix(buf);
    const body = buf.subarray(0, cut);
    this.carry = Buffer.from(buf.subarray(cut));
    if (!isUtf8(body)) return cb(this.invalidAt(body));
    this.newlinesSeen += countNewlines(body);
    cb(null, body);
  }

  override _flush(cb: TransformCallback): void {
    if (this.carry.length && !isUtf8(this.carry)) return cb(this.invalidAt(this.carry));
    cb(null, this.carry.length ? this.carry : undefined);
  }

  private invalidAt(body: Buffer): ConfigError {
    let line = this.newlinesSeen + 1;
    let start = 0;
    for (;;) {
      const nl = body.indexOf(10, start);
      const end = nl < 0 ? body.length : nl;
      if (!isUtf8(body.subarray(start, end))) break;
      if (nl < 0) break;
      line += 1;
      start = nl + 1;
    }
    return new ConfigError(`Input line ${line} is not valid UTF-8; the source must send UTF-8 JSON lines.`);
  }
}

/** Length of the longest prefix that does not end inside a multi-byte UTF-8 sequence. */
function completeUtf8Prefix(buf: Buffer): number {
  const n = buf.length;
  for (let back = 1; back <= Math.min(3, n); back++) {
    const b = buf[n - back]!;
    if ((b & 0xc0) === 0x80) continue; // continuation byte: look further back
    if (b < 0x80) return n;
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return back < need ? n - back : n;
  }
  return n;
}

function countNewlines(buf: Buffer): number {
  let count = 0;
  let i = buf.indexOf(10);
  while (i >= 0) {
    count++;
    i = buf.indexOf(10, i + 1);
  }
  return count;
}

/** Yields the non-empty lines of the input; blank lines are skipped but counted. */
export async function* readLines(input: Readable, maxLineChars = MAX_LINE_CHARS): AsyncGenerator<InputLine> {
  const guard = new Utf8Guard();
  const splitter = split2({ maxLength: maxLineChars } as split2.Options);
  input.on('error', (err) => guard.destroy(err));
  guard.on('error', (err) => splitter.destroy(err));
  input.pipe(guard).pipe(splitter);
  let lineNo = 0;
  try {
    for await (const text of splitter as AsyncIterable<string>) {
      lineNo++;
      // split2 drops nothing, so lineNo follows the input; a trailing '\r' (CRLF input) is tolerated.
      const line = text.endsWith('\r') ? text.slice(0, -1) : text;
      if (line.trim().length === 0) continue;
      yield { text: line, lineNo };
    }
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    if (err instanceof Error && /maximum buffer reached/i.test(err.message)) {
      throw new ConfigError(
        `Input line ${lineNo + 1} is longer than the limit of ${maxLineChars / 1024 / 1024} MiB for one message; split the record at the source or drop oversized fields.`,
      );
    }
    throw err;
  }
}
