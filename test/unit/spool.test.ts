import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Spool } from '../../src/write/spool.js';

const dir = () => mkdtempSync(join(tmpdir(), 'spool-test-'));
const lines = (path: string) => readFileSync(path, 'utf8').split('\n').filter(Boolean);

describe('Spool', () => {
  it('keeps every line in order, unicode byte counts exact', async () => {
    const d = dir();
    const spool = new Spool(join(d, 'a'), 0);
    const input = Array.from({ length: 5000 }, (_, i) => `{"i":${i},"s":"héllo ✓ ${'x'.repeat(i % 97)}"}`);
    for (const l of input) spool.append(l);
    await spool.close();
    expect(lines(spool.path)).toEqual(input);
    expect(spool.bytes).toBe(readFileSync(spool.path).length);
    expect(spool.records).toBe(5000);
  });

  it('writes a raw carriage return between JSON tokens as a space, in short and in long lines, and leaves the caller’s bytes alone', async () => {
    const d = dir();
    const spool = new Spool(join(d, 'a'), 0);
    const short = Buffer.from('{"a":1,\r"b":"x\\r y"}\r');
    const long = Buffer.from(`{"blob":"${'z'.repeat(300 * 1024)}",\r\r"n":2}`);
    spool.append(short);
    spool.append(long);
    spool.append('{"plain":true}');
    await spool.close();
    const written = lines(spool.path);
    expect(written).toEqual(['{"a":1, "b":"x\\r y"} ', `{"blob":"${'z'.repeat(300 * 1024)}",  "n":2}`, '{"plain":true}']);
    expect(written.map((l) => JSON.parse(l))).toEqual([JSON.parse(short.toString()), JSON.parse(long.toString()), { plain: true }]);
    expect(short.includes(0x0d)).toBe(true);
    expect(spool.bytes).toBe(readFileSync(spool.path).length);
  });

  it('cutAt keeps the records before the mark and moves the rest to a tail that takes new appends after them', async () => {
    const d = dir();
    const spool = new Spool(join(d, 'a'), 10);
    for (let i = 0; i < 3000; i++) spool.append(`{"i":${i}}`);
    const mark = spool.mark;
    for (let i = 3000; i < 3500; i++) spool.append(`{"i":${i}}`);
    const { done, tail } = spool.cutAt(mark, join(d, 'b'), true);
    expect(tail).toBeDefined();
    for (let i = 3500; i < 3600; i++) tail!.append(`{"i":${i}}`);
    await done;
    await tail!.close();
    expect(lines(spool.path)).toEqual(Array.from({ length: 3000 }, (_, i) => `{"i":${i}}`));
    expect(lines(tail!.path)).toEqual(Array.from({ length: 600 }, (_, i) => `{"i":${3000 + i}}`));
    expect(tail!.firstRecordIndex).toBe(10 + 3000);
    expect(tail!.records).toBe(600);
    expect(tail!.bytes).toBe(readFileSync(tail!.path).length);
    expect(spool.bytes).toBe(readFileSync(spool.path).length);
  });

  it('cutAt without keeping the tail drops the records after the mark', async () => {
    const d = dir();
    const spool = new Spool(join(d, 'a'), 0);
    spool.append('{"a":1}');
    const mark = spool.mark;
    spool.append('{"a":2}');
    const { done, tail } = spool.cutAt(mark, join(d, 'b'), false);
    await done;
    expect(tail).toBeUndefined();
    expect(lines(spool.path)).toEqual(['{"a":1}']);
    expect(spool.records).toBe(1);
  });
});
