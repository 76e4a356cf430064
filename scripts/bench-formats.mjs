// Measures the format converters against DuckDB's bare typed JSON → Parquet COPY of the same
// records, one thread each, on generated analytics-like data. Needs `npm run build` first.
//
//   node scripts/bench-formats.mjs [records=200000] [rounds=5]
//
// Prints, per case, the best and median wall time and CPU time of `rounds` interleaved runs,
// records/s, and the ratio to the bare COPY (best against best).

import { mkdtempSync, rmSync, createWriteStream, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { DuckDBInstance } from '@duckdb/node-api';
import { createDuckDbEngine } from '../dist/formats/duckdb.js';
import { createStreamConverter } from '../dist/formats/converter.js';
import { recordLineToSpool } from '../dist/protocol/record-scan.js';

const records = Number(process.argv[2] ?? 200_000);
const rounds = Number(process.argv[3] ?? 5);
const dir = mkdtempSync(join(tmpdir(), 'bench-formats-'));

const schema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    user_id: { type: ['null', 'integer'] },
    event: { type: 'string' },
    ts: { type: 'string', format: 'date-time' },
    amount: { type: ['null', 'number'] },
    tags: { type: 'array', items: { type: 'string' } },
    props: { type: 'object', properties: { browser: { type: 'string' }, version: { type: 'integer' }, mobile: { type: 'boolean' } } },
    session: { type: 'string' },
    page: { type: 'string' },
    duration_ms: { type: 'integer' },
    active: { type: 'boolean' },
    day: { type: 'string', format: 'date' },
  },
};
const bareColumns =
  "{id:'BIGINT',user_id:'BIGINT',event:'VARCHAR',ts:'TIMESTAMPTZ',amount:'DOUBLE',tags:'VARCHAR[]'," +
  "props:'STRUCT(browser VARCHAR, version BIGINT, mobile BOOLEAN)',session:'VARCHAR',page:'VARCHAR',duration_ms:'BIGINT',active:'BOOLEAN',day:'DATE'}";

async function generate() {
  let seed = 42;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const events = ['page_view', 'click', 'signup', 'purchase', 'logout'];
  const spool = createWriteStream(join(dir, 'spool.jsonl'));
  const bare = createWriteStream(join(dir, 'bare.jsonl'));
  for (let i = 0; i < records; i++) {
    const data = JSON.stringify({
      id: i,
      user_id: Math.floor(random() * 1e6),
      event: events[i % 5],
      ts: new Date(1_700_000_000_000 + i * 1000).toISOString().replace('Z', '123Z'),
      amount: i % 3 ? Math.round(random() * 10000) / 100 : null,
      tags: ['a' + (i % 7), 'b' + (i % 11)],
      props: { browser: 'firefox', version: i % 40, mobile: i % 2 === 0 },
      session: 'sess-' + Math.floor(random() * 1e9).toString(36),
      page: '/products/' + (i % 500),
      duration_ms: Math.floor(random() * 60000),
      active: i % 4 === 0,
      day: `2024-0${1 + (i % 9)}-1${i % 9}`,
    });
    if (!bare.write(data + '\n')) await once(bare, 'drain');
    // The spool line the session writes for it (src/formats/spool-line.ts).
    const line = recordLineToSpool(
      Buffer.from(`{"type":"RECORD","record":{"stream":"events","namespace":"public","data":${data},"emitted_at":${1_700_000_000_000 + i}}}`),
    );
    if (!spool.write(Buffer.concat([line, Buffer.from('\n')]))) await once(spool, 'drain');
  }
  await Promise.all([new Promise((r) => spool.end(r)), new Promise((r) => bare.end(r))]);
}

let peakRss = 0;
setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20).unref();

async function measure(fn) {
  const cpu = process.cpuUsage();
  const start = performance.now();
  await fn();
  const used = process.cpuUsage(cpu);
  return { wall: performance.now() - start, cpu: (used.user + used.system) / 1000 };
}

await generate();
const threads = Number(process.env.THREADS ?? 1);
const bareDb = await DuckDBInstance.create(':memory:', { threads: String(threads) });
const bare = await bareDb.connect();
const engine = await createDuckDbEngine({ threads });
const converters = {};
for (const format of [
  { type: 'parquet', compression: 'snappy' },
  { type: 'csv', compression: 'none' },
  { type: 'jsonl', compression: 'none' },
]) {
  const ctx = { stream: { stream: { name: 'events', json_schema: schema, supported_sync_modes: [] } }, format, syncId: 1, generationId: 1 };
  converters[`convert ${format.type}`] = await createStreamConverter(ctx, engine);
}
const cases = {
  'bare typed COPY → parquet': () =>
    bare.run(
      `COPY (SELECT * FROM read_json('${join(dir, 'bare.jsonl')}', format = 'newline_delimited', columns = ${bareColumns})) TO '${join(dir, 'bare.parquet')}' (FORMAT parquet)`,
    ),
  ...Object.fromEntries(
    Object.entries(converters).map(([name, c]) => [
      name,
      () => c.convert(join(dir, 'spool.jsonl'), { targetFileBytes: 256 * 1024 * 1024, outDir: join(dir, 'out') }),
    ]),
  ),
};
const results = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
for (let round = 0; round < rounds; round++) {
  for (const [name, fn] of Object.entries(cases)) {
    rmSync(join(dir, 'out'), { recursive: true, force: true });
    results[name].push(await measure(fn));
  }
}
const best = (xs, key) => Math.min(...xs.map((x) => x[key]));
const median = (xs, key) => xs.map((x) => x[key]).sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const baseline = best(results['bare typed COPY → parquet'], 'wall');
console.log(`${records} records, ${rounds} interleaved rounds, ${threads} DuckDB thread(s)`);
console.log('case'.padEnd(28), 'best ms', 'median ms', 'cpu ms', 'records/s', 'x bare');
for (const [name, xs] of Object.entries(results)) {
  const b = best(xs, 'wall');
  console.log(
    name.padEnd(28),
    b.toFixed(0).padStart(7),
    median(xs, 'wall').toFixed(0).padStart(9),
    best(xs, 'cpu').toFixed(0).padStart(6),
    Math.round(records / (b / 1000))
      .toString()
      .padStart(9),
    (b / baseline).toFixed(2).padStart(6),
  );
}
console.log(`peak RSS ${(peakRss / 1024 / 1024).toFixed(0)} MiB (spool ${(statSync(join(dir, 'spool.jsonl')).size / 1024 / 1024).toFixed(0)} MiB)`);
bare.closeSync();
engine.close();
rmSync(dir, { recursive: true, force: true });
