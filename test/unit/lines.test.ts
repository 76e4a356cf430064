import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { MAX_LINE_BYTES, readLines, type InputLine } from '../../src/protocol/lines.js';

interface Outcome {
  lines: InputLine[];
  error?: unknown;
}

/** Reads the given chunks (each a separate 'data' event) to the end or to the first error. */
async function read(chunks: (string | Buffer)[], maxLineBytes?: number): Promise<Outcome> {
  const input = Readable.from(
    chunks.map((c) => (typeof c === 'string' ? Buffer.from(c) : c)),
    { objectMode: false },
  );
  const lines: InputLine[] = [];
  try {
    for await (const line of readLines(input, maxLineBytes)) lines.push(line);
    return { lines };
  } catch (error) {
    return { lines, error };
  }
}

/** Splits a buffer into chunks of n bytes. */
const chunked = (buf: Buffer, n: number): Buffer[] => Array.from({ length: Math.ceil(buf.length / n) }, (_, i) => buf.subarray(i * n, (i + 1) * n));

const texts = (o: Outcome): [string, number][] => o.lines.map((l) => [l.text, l.lineNo]);

describe('readLines', () => {
  it('numbers lines from 1 and skips blank ones while counting them', async () => {
    const o = await read(['{"a":1}\n\n   \n{"b":2}\n\t\n{"c":3}\n']);
    expect(o.error).toBeUndefined();
    expect(texts(o)).toEqual([
      ['{"a":1}', 1],
      ['{"b":2}', 4],
      ['{"c":3}', 6],
    ]);
  });

  it('yields a last line without a final newline', async () => {
    expect(texts(await read(['one\ntwo']))).toEqual([
      ['one', 1],
      ['two', 2],
    ]);
  });

  it('yields nothing for an empty input', async () => {
    expect(await read([])).toEqual({ lines: [] });
    expect(await read(['\n\n'])).toEqual({ lines: [] });
  });

  it('strips the CR of CRLF line endings, also when CR and LF arrive in different chunks', async () => {
    expect(texts(await read(['a\r\nb\r', '\nc\r\n']))).toEqual([
      ['a', 1],
      ['b', 2],
      ['c', 3],
    ]);
  });

  it('keeps a CR inside a line', async () => {
    expect(texts(await read(['a\rb\n']))).toEqual([['a\rb', 1]]);
  });

  it('joins a line and its multi-byte characters split across many chunks', async () => {
    const text = '{"name":"Zoë 日本 📦"}';
    const o = await read(chunked(Buffer.from(`${text}\n${text}\n`), 1));
    expect(texts(o)).toEqual([
      [text, 1],
      [text, 2],
    ]);
  });

  describe('invalid UTF-8', () => {
    const bad = Buffer.concat([Buffer.from('{"x":"'), Buffer.from([0xff]), Buffer.from('"}\n')]);
    const input = Buffer.concat([Buffer.from('{"a":1}\n\n{"b":2}\n'), bad, Buffer.from('{"c":3}\n')]);

    it.each([
      ['in one chunk', [input]],
      ['byte by byte', chunked(input, 1)],
      ['in 5-byte chunks', chunked(input, 5)],
    ])('is reported with its line number after every line before it, %s', async (_how, chunks) => {
      const o = await read(chunks);
      expect(texts(o)).toEqual([
        ['{"a":1}', 1],
        ['{"b":2}', 3],
      ]);
      expect(o.error).toBeInstanceOf(ConfigError);
      expect((o.error as Error).message).toBe('Input line 4 is not valid UTF-8; the source must send UTF-8 JSON lines.');
    });

    it.each([
      ['a continuation byte alone', [0x80]],
      ['a truncated two-byte sequence', [0xc3]],
      ['an overlong encoding of "/"', [0xc0, 0xaf]],
      ['an encoded UTF-16 surrogate', [0xed, 0xa0, 0x80]],
    ])('catches %s', async (_what, bytes) => {
      const o = await read([Buffer.concat([Buffer.from('ok\n"'), Buffer.from(bytes), Buffer.from('"\n')])]);
      expect(texts(o)).toEqual([['ok', 1]]);
      expect((o.error as Error).message).toContain('Input line 2 is not valid UTF-8');
    });

    it('catches a multi-byte character cut off by the end of the input', async () => {
      const o = await read(['ok\n', Buffer.from([0x22, 0xe6, 0x97])]);
      expect((o.error as Error).message).toContain('Input line 2 is not valid UTF-8');
    });
  });

  describe('the line length limit', () => {
    it('accepts a line of exactly the limit, with or without CR', async () => {
      const line = 'x'.repeat(16);
      expect(texts(await read([`${line}\n${line}\r\n`], 16))).toEqual([
        [line, 1],
        [line, 2],
      ]);
    });

    it.each([
      ['in one chunk', 1000],
      ['in 3-byte chunks', 3],
    ])('fails on the first longer line, after the lines before it, %s', async (_how, size) => {
      const input = Buffer.from(`short\n${'y'.repeat(16)}\n${'x'.repeat(17)}\nafter\n`);
      const o = await read(chunked(input, size), 16);
      expect(texts(o)).toEqual([
        ['short', 1],
        ['y'.repeat(16), 2],
      ]);
      expect(o.error).toBeInstanceOf(ConfigError);
      expect((o.error as Error).message).toBe(
        'Input line 3 is longer than the limit of 16 bytes for one message; split the record at the source or drop oversized fields.',
      );
    });

    it('fails as soon as a line passes the limit, without waiting for its end', async () => {
      const input = new PassThrough();
      input.write(`ok\n${'z'.repeat(300)}`); // never ended: the reader must not wait for more
      const lines: string[] = [];
      await expect(
        (async () => {
          for await (const l of readLines(input, 100)) lines.push(l.text);
        })(),
      ).rejects.toThrow('Input line 2 is longer than the limit of 100 bytes');
      expect(lines).toEqual(['ok']);
    });

    it('names the default limit in MiB, at least the 64 MiB that docs/types.md ("Record size") asks for', () => {
      expect(MAX_LINE_BYTES).toBeGreaterThanOrEqual(64 * 1024 * 1024);
    });

    it('reads a 16 MiB line in 64 KiB chunks in linear time', async () => {
      const big = Buffer.from(`{"blob":"${'b'.repeat(16 * 1024 * 1024)}"}\nnext\n`);
      const started = Date.now();
      const o = await read(chunked(big, 64 * 1024));
      // split2 re-scanned the whole pending line at every chunk: about 8 s here. Now ~0.2 s.
      expect(Date.now() - started).toBeLessThan(4000);
      expect(o.lines.map((l) => [l.text.length, l.lineNo])).toEqual([
        [16 * 1024 * 1024 + 11, 1],
        [4, 2],
      ]);
    });
  });

  it('passes on an error of the input stream', async () => {
    const input = new PassThrough();
    const reading = (async () => {
      for await (const _ of readLines(input)) void _;
    })();
    input.write('a\n');
    input.destroy(new Error('stdin broke'));
    await expect(reading).rejects.toThrow('stdin broke');
  });
});
