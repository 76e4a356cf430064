import { describe, expect, it } from 'vitest';
import { buildConfig } from '../../src/config/config.js';
import { ENGINE_BYTES_PER_THREAD, resourcePlan, UPLOAD_PART_BYTES } from '../../src/write/resources.js';

const MB = 1024 * 1024;
const config = (memoryBudgetMb: number, extra: Record<string, unknown> = {}) =>
  buildConfig({ s3_bucket_name: 'acme-exports', s3_bucket_region: 'us-east-1', memory_budget_mb: memoryBudgetMb, ...extra });

/** Bytes the plan lets uploads hold: each uploading file has its parts in flight plus one being filled. */
const uploadBytes = (p: ReturnType<typeof resourcePlan>) => p.maxParallelUploads * (p.uploadConcurrency + 1) * UPLOAD_PART_BYTES;

describe('resourcePlan', () => {
  it('gives DuckDB every core when its memory share allows', () => {
    expect(resourcePlan(config(2048), 2).engineThreads).toBe(2);
    expect(resourcePlan(config(2048), 1).engineThreads).toBe(1);
  });

  it('gives DuckDB fewer threads than cores when its memory share is small, never none', () => {
    // 40% of 400 MB is one thread's worth: two would make a conversion run out of memory.
    expect(resourcePlan(config(400), 4).engineThreads).toBe(1);
    expect(resourcePlan(config(64), 4).engineThreads).toBe(1);
    const plan = resourcePlan(config(2048), 16);
    expect(plan.engineThreads).toBe(Math.floor(plan.engineMemoryBytes / ENGINE_BYTES_PER_THREAD));
    expect(plan.engineThreads).toBeLessThan(16);
  });

  it.each([256, 512, 1024, 2048, 8192])('keeps upload buffers within 30%% of a %i MB budget, whatever upload_concurrency asks', (budget) => {
    for (const concurrency of [1, 4, 16, 64]) {
      const plan = resourcePlan(config(budget, { upload_concurrency: concurrency }), 2, 20);
      expect(uploadBytes(plan), `upload_concurrency ${concurrency}`).toBeLessThanOrEqual(budget * MB * 0.3);
      expect(plan.uploadConcurrency).toBeLessThanOrEqual(concurrency);
      expect(plan.maxParallelUploads).toBeGreaterThanOrEqual(1);
    }
  });

  it('uploads one part at a time on the smallest budget rather than none', () => {
    const plan = resourcePlan(config(64, { upload_concurrency: 8 }), 2, 1);
    expect(plan.uploadConcurrency).toBe(1);
    expect(plan.maxParallelUploads).toBe(1);
  });

  it('keeps upload_concurrency as configured when the budget has room for it', () => {
    const plan = resourcePlan(config(2048, { upload_concurrency: 4 }), 2, 1);
    expect(plan.uploadConcurrency).toBe(4);
    expect(plan.maxParallelUploads).toBe(4);
  });

  it('shares 15% of the budget among the streams’ spool buffers, between 256 KiB and 1 MiB each', () => {
    const limits = (budget: number, streams: number) => resourcePlan(config(budget), 2, streams).sessionLimits(config(budget)).spoolMemoryBytes;
    expect(limits(2048, 1)).toBe(MB);
    expect(limits(256, 50) * 50).toBeLessThanOrEqual(256 * MB * 0.15);
    expect(limits(256, 50)).toBeGreaterThanOrEqual(256 * 1024);
    expect(limits(256, 5000)).toBe(256 * 1024);
  });
});
