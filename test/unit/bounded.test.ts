import { describe, expect, it } from 'vitest';
import { forEachBounded } from '../../src/write/bounded.js';

const tick = () => new Promise((r) => setTimeout(r, 1));

describe('forEachBounded', () => {
  it('never has more than the limit in flight, and does every item', async () => {
    let running = 0;
    let most = 0;
    const done: number[] = [];
    await forEachBounded(
      Array.from({ length: 100 }, (_, i) => i),
      7,
      async (i) => {
        running++;
        most = Math.max(most, running);
        await tick();
        running--;
        done.push(i);
      },
    );
    expect(most).toBe(7);
    expect(done.sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it('stops starting items after a failure, waits for those running, and rejects with it', async () => {
    const started: number[] = [];
    let running = 0;
    const run = forEachBounded(
      Array.from({ length: 100 }, (_, i) => i),
      4,
      async (i) => {
        started.push(i);
        running++;
        await tick();
        running--;
        if (i === 5) throw new Error('boom');
      },
    );
    await expect(run).rejects.toThrow('boom');
    expect(running).toBe(0);
    expect(started.length).toBeLessThan(12);
  });
});
