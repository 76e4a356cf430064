// DuckDB's memory_limit follows what a conversion needs (src/formats/duckdb.ts
// withMemoryAtLeast, src/formats/converter.ts engineBytesFor).

import { afterEach, describe, expect, it } from 'vitest';
import { createDuckDbEngine, type DuckDbEngine } from '../../src/formats/duckdb.js';
import { engineBytesFor } from '../../src/formats/converter.js';

const MiB = 1024 * 1024;
let engine: DuckDbEngine | undefined;
afterEach(() => {
  engine?.close();
  engine = undefined;
});

async function setting(e: DuckDbEngine, name: string): Promise<string> {
  const connection = await e.connect();
  try {
    const reader = await connection.runAndReadAll(`SELECT current_setting('${name}') AS v`);
    return String((reader.getRowObjectsJS()[0] as { v: string }).v);
  } finally {
    connection.closeSync();
  }
}

const memoryLimit = (e: DuckDbEngine): Promise<string> => setting(e, 'memory_limit');

describe('createDuckDbEngine', () => {
  it('makes DuckDB give memory back after each conversion instead of keeping up to 128 MiB for the next', async () => {
    engine = await createDuckDbEngine({ threads: 1, memoryLimitBytes: 512 * MiB });
    expect(await setting(engine, 'allocator_flush_threshold')).toBe('16.0 MiB');
    expect(await setting(engine, 'allocator_bulk_deallocation_flush_threshold')).toBe('4.0 MiB');
    expect(await setting(engine, 'allocator_background_threads')).toBe('true');
  });

  it('bounds what DuckDB may spill to its temp directory when told to', async () => {
    engine = await createDuckDbEngine({ threads: 1, memoryLimitBytes: 512 * MiB, maxTempDirectoryBytes: 800 * MiB });
    expect(await setting(engine, 'max_temp_directory_size')).toBe('800.0 MiB');
  });
});

describe('DuckDbEngine.withMemoryAtLeast', () => {
  it('raises memory_limit while a conversion needs more than the planned share, then puts it back', async () => {
    engine = await createDuckDbEngine({ threads: 1, memoryLimitBytes: 64 * MiB, memoryCapBytes: 1024 * MiB });
    expect(await memoryLimit(engine)).toBe('64.0 MiB');
    const inside = await engine.withMemoryAtLeast(300 * MiB, () => memoryLimit(engine!));
    expect(inside).toBe('300.0 MiB');
    expect(await memoryLimit(engine)).toBe('64.0 MiB');
  });

  it('never goes above the cap, and keeps the largest need of overlapping conversions', async () => {
    engine = await createDuckDbEngine({ threads: 1, memoryLimitBytes: 64 * MiB, memoryCapBytes: 256 * MiB });
    const e = engine;
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const big = e.withMemoryAtLeast(200 * MiB, async () => {
      await held;
      return memoryLimit(e);
    });
    const capped = await e.withMemoryAtLeast(4096 * MiB, () => memoryLimit(e));
    expect(capped).toBe('256.0 MiB');
    // the capped conversion ended; the 200 MiB one still runs with its 200 MiB
    expect(await memoryLimit(e)).toBe('200.0 MiB');
    release();
    expect(await big).toBe('200.0 MiB');
    expect(await memoryLimit(e)).toBe('64.0 MiB');
  });

  it('leaves the limit alone when the planned share is enough', async () => {
    engine = await createDuckDbEngine({ threads: 1, memoryLimitBytes: 512 * MiB });
    expect(await engine.withMemoryAtLeast(100 * MiB, () => memoryLimit(engine!))).toBe('512.0 MiB');
  });
});

describe('engineBytesFor', () => {
  it('is 128 MiB for small records and grows with the longest one (32x)', () => {
    expect(engineBytesFor(1024)).toBe(128 * MiB + 32 * 1024);
    expect(engineBytesFor(64 * MiB)).toBe(128 * MiB + 2048 * MiB);
  });
});
