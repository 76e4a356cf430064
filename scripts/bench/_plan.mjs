import { readFileSync } from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';
import { planColumns } from '../../dist/formats/schema.js';
import { buildConversionQuery, buildCopyStatement } from '../../dist/formats/query.js';
const cat = JSON.parse(readFileSync('/tmp/dse-perf-data/single/catalog.json', 'utf8'));
const db = await DuckDBInstance.create(':memory:', { threads: '2', preserve_insertion_order: 'false' });
for (const fmt of ['parquet', 'csv', 'jsonl']) {
  const sel = buildConversionQuery({ plan: planColumns(cat.streams[0].stream.json_schema), format: fmt, syncId: 1, generationId: 1, spoolPath: '/tmp/dse-perf-data/single/spool40k.jsonl', maxObjectBytes: 16777216, fallbackEmittedAtMs: 0 });
  for (let i = 0; i < 3; i++) {
    const c = await db.connect();
    let t = performance.now();
    await c.run(`SET TimeZone='UTC'`);
    const tz = performance.now() - t; t = performance.now();
    await c.run(`EXPLAIN ${sel}`);
    const ex = performance.now() - t; t = performance.now();
    await c.run(`SELECT count(*) FROM (SELECT 1 FROM read_json_objects('/tmp/dse-perf-data/single/spool40k.jsonl', format='newline_delimited') LIMIT 1)`);
    console.log(fmt, `connect+tz ${tz.toFixed(0)} ms, plan ${ex.toFixed(0)} ms, sql ${sel.length} chars`);
    c.closeSync();
  }
}
