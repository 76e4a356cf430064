// An input that ends without a stream's terminal STREAM_STATUS (issue 11.2), through the real
// connector on radosgw, in every format. As Airbyte's bulk CDK does at the end of input
// ("Input was fully read, but some streams did not receive a terminal stream status message"):
// the sync fails (TRACE transient_error, exit 1); the checkpoints made durable are echoed; the
// manifests say `incomplete`, so that no reader rule of docs/reading.md retires the previous
// generation on a refresh that did not complete — checked here with the documented reader SQL.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';
import { localRecipe } from '../scripts/lib/recipes.mjs';
import { runCli, startCli, tempJson } from './support/cli.js';
import { accessKeyConfig, catalog, recordLine, streamStateLine, streamStatusLine } from './support/messages.js';
import { getObject, listKeys, manifests } from './support/read-back.js';
import { freshBucket, s3Server } from './support/server.js';

const FORMATS = [
  { format_type: 'parquet', compression_codec: 'snappy' },
  { format_type: 'csv', compression: 'gzip' },
  { format_type: 'jsonl', compression: 'none' },
];
const PROPERTIES = { id: { type: 'integer' }, name: { type: 'string' } };
const event = (id: number, gen: number) => recordLine('events', { id, name: `gen ${gen} row ${id}` }, 1_700_000_000_000 + gen * 1000 + id);

/** Runs a refresh of `events` at `generation` (overwrite: minimum_generation_id = generation). */
function refreshCatalog(generation: number): string {
  return tempJson(
    'catalog.json',
    catalog([{ name: 'events', mode: 'overwrite', properties: PROPERTIES, generationId: generation, minimumGenerationId: generation }]),
  );
}

describe.each(FORMATS)('write whose input ends before a terminal STREAM_STATUS: %o', (format) => {
  it('fails with transient_error, echoes the durable states, writes the manifest incomplete and keeps the old generation visible', {
    timeout: 180_000,
  }, async () => {
    const bucket = await freshBucket(`ended-early-${format.format_type}`);
    const config = tempJson('config.json', accessKeyConfig(s3Server(), bucket, { folder: 'exports/shop', format }));

    // generation 2: complete (40 rows)
    const old = [...Array.from({ length: 40 }, (_, i) => event(i, 2)), streamStateLine('events', 'g2'), streamStatusLine('events')];
    const first = await runCli(['write', '--config', config, '--catalog', refreshCatalog(2)], { stdin: old.join('\n') + '\n' });
    expect(first.code, first.stderr).toBe(0);

    // generation 3: 5 rows checkpointed, 2 more, then the source dies: stdin closes mid-refresh
    const live = startCli(['write', '--config', config, '--catalog', refreshCatalog(3)]);
    await live.write(
      [...Array.from({ length: 5 }, (_, i) => event(i, 3)), streamStateLine('events', 'g3-5'), event(5, 3), event(6, 3)].join('\n') + '\n',
    );
    live.child.stdin.end();
    const res = await live.done;

    expect(res.code).toBe(1);
    const traces = res.messages.filter((m) => m.type === 'TRACE');
    expect(traces).toHaveLength(1);
    expect(traces[0]!.trace.error.failure_type).toBe('transient_error');
    expect(traces[0]!.trace.error.message).toMatch(/"events" \(no namespace\) got a terminal STREAM_STATUS/);
    // the checkpoint whose rows are durable is echoed, with its counts
    const states = res.messages.filter((m) => m.type === 'STATE');
    expect(states.map((m) => m.state.stream.stream_state.cursor)).toEqual(['g3-5']);
    expect(states[0]!.state.destinationStats.recordCount).toBe(5);
    const all = await manifests(bucket);
    const refresh = all.find((m) => m.generation_id === 3)!;
    expect(refresh).toMatchObject({ status: 'incomplete', minimum_generation_id: 3, record_count: 5 });
    expect(all.find((m) => m.generation_id === 2)).toMatchObject({ status: 'complete', record_count: 40 });

    if (format.format_type !== 'parquet') return; // the DuckDB recipes of docs/reading.md read Parquet
    // the documented reader SQL, as written, on a copy of the bucket: generation 2 stays visible
    const dir = mkdtempSync(join(tmpdir(), 'dse-ended-early-'));
    const db = await DuckDBInstance.create(':memory:', { threads: '1' });
    try {
      for (const key of await listKeys(bucket)) {
        mkdirSync(dirname(join(dir, key)), { recursive: true });
        writeFileSync(join(dir, key), await getObject(bucket, key));
      }
      const conn = await db.connect();
      await conn.run(localRecipe('duckdb-committed-rows', dir));
      const rows = (
        await conn.runAndReadAll(`SELECT _airbyte_generation_id AS g, count(*) AS n FROM committed_rows('events') GROUP BY g ORDER BY g`)
      ).getRowObjectsJson();
      expect(rows.map((r) => [Number(r.g), Number(r.n)])).toEqual([
        [2, 40],
        [3, 5],
      ]);
    } finally {
      db.closeSync();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
