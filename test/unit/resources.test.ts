import { describe, expect, it } from 'vitest';
import { buildConfig } from '../../src/config/config.js';
import { ENGINE_BYTES_PER_THREAD, resourcePlan } from '../../src/write/resources.js';

const config = (memoryBudgetMb: number) => buildConfig({ s3_bucket_name: 'acme-exports', s3_bucket_region: 'us-east-1', memory_budget_mb: memoryBudgetMb });

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
});
