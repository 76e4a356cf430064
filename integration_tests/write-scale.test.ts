// write with many streams, through the real connector on radosgw (issue 10.3 and 10.4): what
// grows with the number of streams or of held checkpoints stays bounded.

import { afterEach, describe, expect, it } from 'vitest';
import { runCli, tempJson } from './support/cli.js';
import { FaultProxy } from './support/fault-proxy.js';
import { manifestKeys, readManifests } from './support/invariants.js';
import { accessKeyConfig, catalog, recordLine, streamStateLine } from './support/messages.js';
import { freshBucket, s3Server } from './support/server.js';

const server = s3Server();
let proxy: FaultProxy | undefined;
afterEach(async () => {
  await proxy?.stop();
  proxy = undefined;
});

export function completeLine(name: string): string {
  return JSON.stringify({ type: 'TRACE', trace: { type: 'STREAM_STATUS', emitted_at: 1, stream_status: { stream_descriptor: { name }, status: 'COMPLETE' } } });
}

describe('write to a slow store with many streams', () => {
  it('writes the final manifests through a bounded queue, not one burst that times out in the client (issue 10.4)', { timeout: 300_000 }, async () => {
    // 64 sockets at 250 ms a PUT: a burst of more than 64 × 10 s / 0.25 s = 2,560 requests waits
    // in the client past its 10 s connection timeout, on every retry (it failed so before)
    const streams = 2_700;
    proxy = await new FaultProxy(server.endpoint, 41).start();
    proxy.rules = [{ operation: 'PutObject', fault: 'latency', rate: 1, delayMs: 250 }];
    const bucket = await freshBucket('write-slow-manifests');
    const names = Array.from({ length: streams }, (_, i) => `t${i}`);
    const config = tempJson('config.json', accessKeyConfig(server, bucket, { s3_endpoint: proxy.endpoint }));
    const cat = tempJson('catalog.json', catalog(names.map((name) => ({ name }))));
    const input = [recordLine('t0', { id: 1, name: 'a', updated_at: '2024-01-01T00:00:00Z' }), streamStateLine('t0', 1), ...names.map(completeLine)];
    const started = Date.now();
    const res = await runCli(['write', '--config', config, '--catalog', cat], { stdin: input.join('\n') + '\n', timeoutMs: 280_000 });
    const seconds = (Date.now() - started) / 1000;
    expect(res.code, res.lines.filter((l) => l.includes('TRACE')).join('\n').slice(0, 2000)).toBe(0);
    expect(res.messages.filter((m) => m.type === 'STATE')).toHaveLength(1);
    const keys = await manifestKeys(bucket);
    expect(keys).toHaveLength(streams);
    const sample = await readManifests(bucket, keys.slice(0, 50));
    for (const m of sample) expect(m.status).toBe('complete');
    console.info(`[reliability] ${streams} final manifests at 250 ms per PUT: exit ${res.code} in ${seconds.toFixed(1)} s, ${proxy.stats.requests.PutObject} PutObjects`);
  });
});
