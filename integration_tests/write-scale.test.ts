// write with many streams, through the real connector on radosgw (issue 10.3 and 10.4): what
// grows with the number of streams or of held checkpoints stays bounded.

import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli, startCli, tempJson } from './support/cli.js';
import { FaultProxy } from './support/fault-proxy.js';
import { manifestKeys, readManifests } from './support/invariants.js';
import { accessKeyConfig, catalog, recordLine, streamStateLine, streamStatusLine } from './support/messages.js';
import { freshBucket, s3Server } from './support/server.js';

const server = s3Server();
let proxy: FaultProxy | undefined;
afterEach(async () => {
  await proxy?.stop();
  proxy = undefined;
});

describe('write to a slow store with many streams', () => {
  it('writes the final manifests through a bounded queue, not one burst that times out in the client (issue 10.4)', {
    timeout: 300_000,
  }, async () => {
    // 64 sockets at 250 ms a PUT: a burst of more than 64 × 10 s / 0.25 s = 2,560 requests waits
    // in the client past its 10 s connection timeout, on every retry (it failed so before)
    const streams = 2_700;
    proxy = await new FaultProxy(server.endpoint, 41).start();
    proxy.rules = [{ operation: 'PutObject', fault: 'latency', rate: 1, delayMs: 250 }];
    const bucket = await freshBucket('write-slow-manifests');
    const names = Array.from({ length: streams }, (_, i) => `t${i}`);
    const config = tempJson('config.json', accessKeyConfig(server, bucket, { s3_endpoint: proxy.endpoint }));
    const cat = tempJson('catalog.json', catalog(names.map((name) => ({ name }))));
    const input = [
      recordLine('t0', { id: 1, name: 'a', updated_at: '2024-01-01T00:00:00Z' }),
      streamStateLine('t0', 1),
      ...names.map((name) => streamStatusLine(name)),
    ];
    const started = Date.now();
    const res = await runCli(['write', '--config', config, '--catalog', cat], { stdin: input.join('\n') + '\n', timeoutMs: 280_000 });
    const seconds = (Date.now() - started) / 1000;
    expect(
      res.code,
      res.lines
        .filter((l) => l.includes('TRACE'))
        .join('\n')
        .slice(0, 2000),
    ).toBe(0);
    expect(res.messages.filter((m) => m.type === 'STATE')).toHaveLength(1);
    const keys = await manifestKeys(bucket);
    expect(keys).toHaveLength(streams);
    const sample = await readManifests(bucket, keys.slice(0, 50));
    for (const m of sample) expect(m.status).toBe('complete');
    console.info(
      `[reliability] ${streams} final manifests at 250 ms per PUT: exit ${res.code} in ${seconds.toFixed(1)} s, ${proxy.stats.requests.PutObject} PutObjects`,
    );
  });
});

/** Peak resident memory of a running process, in MiB (Linux). */
function peakRssMiB(pid: number): number {
  const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return kb ? Number(kb[1]) / 1024 : Number.NaN;
}

describe('write with many held checkpoints', () => {
  it('counts held STATEs in the memory budget: at their share their files are cut and the states echoed while reading (issue 10.3)', {
    timeout: 300_000,
  }, async () => {
    // A CDC source: 1,000 streams, a GLOBAL state every 20 records that carries a position for
    // every stream (~70 KB each), changes in 20 hot tables. With the default file size and flush
    // interval nothing is due before the end of input: every state used to be held until then.
    const streams = 1_000;
    const names = Array.from({ length: streams }, (_, i) => `t${i}`);
    const globalState = (n: number): string =>
      JSON.stringify({
        type: 'STATE',
        state: {
          type: 'GLOBAL',
          global: {
            shared_state: { lsn: n },
            stream_states: names.map((name) => ({ stream_descriptor: { name }, stream_state: { lsn: n, snapshot_done: true } })),
          },
        },
      });
    const lines: string[] = [];
    const records = 10_000;
    for (let i = 0; i < records; i++) {
      lines.push(recordLine(`t${i % 20}`, { id: i, name: `row ${i}`, updated_at: '2024-01-01T00:00:00Z' }, 1_700_000_000_000 + i));
      if (i % 20 === 19) lines.push(globalState(i));
    }
    const bucket = await freshBucket('write-held-states');
    const config = tempJson('config.json', accessKeyConfig(server, bucket, { memory_budget_mb: 128 }));
    const cat = tempJson('catalog.json', catalog(names.map((name) => ({ name }))));
    const live = startCli(['write', '--config', config, '--catalog', cat], { timeoutMs: 280_000 });
    const started = Date.now();
    void live.write(lines.join('\n') + '\n');
    // stdin stays open: a state can only come back because held states reached their share
    const firstEcho = await live
      .waitFor((m) => m.type === 'STATE', 60_000)
      .then(
        () => (Date.now() - started) / 1000,
        () => undefined,
      );
    // wait until everything was read and all but the last few states echoed, then the peak
    await live.waitFor((m) => m.type === 'STATE' && m.state.global?.shared_state?.lsn >= records - 20 * 60, 120_000).catch(() => undefined);
    const peak = peakRssMiB(live.child.pid!);
    live.child.stdin.end(names.map((name) => streamStatusLine(name)).join('\n') + '\n');
    const res = await live.done;
    const states = res.messages.filter((m) => m.type === 'STATE');
    console.info(
      `[reliability] ${records / 20} GLOBAL states of ${(globalState(0).length / 1024).toFixed(0)} KB over ${streams} streams, 128 MB budget: first echo while reading after ${firstEcho ?? 'never'} s, peak RSS ${peak.toFixed(0)} MiB before the end of input, exit ${res.code}`,
    );
    expect(firstEcho, 'no state was echoed before the end of input').toBeDefined();
    expect(
      res.code,
      res.lines
        .filter((l) => l.includes('TRACE'))
        .join('\n')
        .slice(0, 2000),
    ).toBe(0);
    expect(states).toHaveLength(records / 20);
    // every state's records are in listed files (the manifests' counts sum to every record)
    const manifests = await readManifests(bucket, await manifestKeys(bucket));
    expect(manifests.reduce((n, m) => n + m.record_count, 0)).toBe(records);
  });
});
