// `npm run bench -- --cases conversion` (or node scripts/bench/conversion.mjs): the conversion
// alone (src/formats: convertSegment + assemble, no S3), against DuckDB's plain typed read of the
// same data (read_json with the columns' types, COPY to Parquet), on the shapes of issue 12:
//
//   flat      about ten scalar columns, one list, one small object
//   wide500   500 columns (a third each integers, strings, date-times)
//   wide2000  2,000 columns
//   deep      a declared object inside an object, depth 4, 6, ... until a step passes --deep-limit-s
//   planning  time to plan (PREPARE) the conversion query for 10 .. 10,000 schema nodes
//
//   node scripts/bench/conversion.mjs [--records 100000] [--wide-records 1000]
//       [--shapes flat,wide500,wide2000,deep,planning] [--formats parquet,csv,jsonl] [--deep-limit-s 20]
//
// Figures are wall-clock on one DuckDB thread, measured side by side in one run; peak RSS is the
// process's (DuckDB included), sampled every 20 ms. Run reduced sizes while others share the CPU.

import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');
const dist = (p) => import(join(ROOT, 'dist', p));
const { createDuckDbEngine } = await dist('formats/duckdb.js');
const { createStreamConverter } = await dist('formats/converter.js');
const { buildConversionQuery } = await dist('formats/query.js');
const { planColumns, duckdbType, quoteLiteral } = await dist('formats/schema.js');
const { createRecordScanner } = await dist('protocol/record-scan.js');

function parseArgs(argv) {
  const o = {
    records: 100_000,
    wideRecords: 1_000,
    shapes: ['flat', 'wide500', 'wide2000', 'deep', 'planning'],
    formats: ['parquet', 'csv', 'jsonl'],
    deepLimitS: 20,
  };
  for (let i = 0; i < argv.length; i++) {
    const next = () => argv[++i];
    switch (argv[i]) {
      case '--records':
        o.records = Number(next());
        break;
      case '--wide-records':
        o.wideRecords = Number(next());
        break;
      case '--shapes':
        o.shapes = next().split(',');
        break;
      case '--formats':
        o.formats = next().split(',');
        break;
      case '--deep-limit-s':
        o.deepLimitS = Number(next());
        break;
      default:
        break; // run.mjs's own options pass through
    }
  }
  return o;
}

const opts = parseArgs(process.argv.slice(2));
const dir = mkdtempSync(join(tmpdir(), 'bench-conversion-'));
let peakRss = 0;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);
const MiB = 1024 * 1024;

// ---- shapes: a schema and a record generator ----

function flatShape() {
  const properties = {
    id: { type: 'integer' },
    name: { type: 'string' },
    email: { type: 'string' },
    score: { type: 'number' },
    active: { type: 'boolean' },
    created_at: { type: 'string', format: 'date-time' },
    day: { type: 'string', format: 'date' },
    count: { type: 'integer' },
    ratio: { type: 'number' },
    status: { type: 'string' },
    tags: { type: 'array', items: { type: 'string' } },
    address: { type: 'object', properties: { city: { type: 'string' }, zip: { type: 'string' } } },
  };
  const record = (i) => ({
    id: i,
    name: `user-${i}`,
    email: `u${i}@example.com`,
    score: (i % 1000) / 7,
    active: i % 3 === 0,
    created_at: new Date(1_700_000_000_000 + i * 1000).toISOString(),
    day: `2024-0${1 + (i % 9)}-1${i % 9}`,
    count: i * 3,
    ratio: i / 1e6,
    status: ['new', 'open', 'closed'][i % 3],
    tags: ['a', `t${i % 13}`],
    address: { city: `c${i % 100}`, zip: String(10000 + (i % 9000)) },
  });
  return { properties, record };
}

function wideShape(columns) {
  const properties = {};
  for (let c = 0; c < columns; c++)
    properties[`c${c}`] = c % 3 === 0 ? { type: 'integer' } : c % 3 === 1 ? { type: 'string' } : { type: 'string', format: 'date-time' };
  const record = (i) => {
    const r = {};
    for (let c = 0; c < columns; c++)
      r[`c${c}`] = c % 3 === 0 ? i * c : c % 3 === 1 ? `v${i}-${c}` : new Date(1_700_000_000_000 + i * 1000 + c).toISOString();
    return r;
  };
  return { properties, record };
}

function deepShape(depth) {
  let schema = { type: 'object', properties: { v: { type: 'integer' } } };
  for (let k = 0; k < depth; k++) schema = { type: 'object', properties: { v: { type: 'integer' }, n: schema } };
  const record = (i) => {
    let v = { v: i };
    for (let k = 0; k < depth; k++) v = { v: k, n: v };
    return { id: i, root: v };
  };
  return { properties: { id: { type: 'integer' }, root: schema }, record };
}

/** The spool (segment) and the plain data lines (for DuckDB's typed read) of `n` records. */
function generate(name, shape, n) {
  const scanner = createRecordScanner([{ name: 's', jsonSchema: { type: 'object', properties: shape.properties } }]);
  const spool = [];
  const bare = [];
  let longest = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    const data = JSON.stringify(shape.record(i));
    bare.push(data);
    const scanned = scanner.scan(Buffer.from(`{"type":"RECORD","record":{"stream":"s","data":${data},"emitted_at":${1_700_000_000_000 + i}}}`));
    spool.push(Buffer.from(scanned.spoolLine));
    longest = Math.max(longest, scanned.spoolLine.length);
    min = Math.min(min, scanned.extractedAtMs);
    max = Math.max(max, scanned.extractedAtMs);
  }
  const path = join(dir, `${name}.spool`);
  writeFileSync(path, Buffer.concat(spool.flatMap((l) => [l, Buffer.from('\n')])));
  const barePath = join(dir, `${name}.jsonl`);
  writeFileSync(barePath, bare.join('\n') + '\n');
  return { segment: { path, records: n, bytes: statSync(path).size, longestLine: longest, minExtractedAtMs: min, maxExtractedAtMs: max }, barePath };
}

const engine = await createDuckDbEngine({ threads: 1, memoryLimitBytes: 400 * MiB });

async function timed(fn) {
  peakRss = process.memoryUsage().rss;
  const t = performance.now();
  await fn();
  return { s: (performance.now() - t) / 1000, rssMiB: Math.round(peakRss / MiB) };
}

/** DuckDB's plain typed read of the data lines, written as Parquet: the floor of issue 12. */
async function typedRead(shape, barePath) {
  const plan = planColumns({ type: 'object', properties: shape.properties });
  const columns = `{${plan.columns.map((c) => `${quoteLiteral(c.name)}: ${quoteLiteral(duckdbType(c.type))}`).join(', ')}}`;
  const connection = await engine.connect();
  try {
    return await timed(() =>
      connection.run(
        `COPY (SELECT * FROM read_json(${quoteLiteral(barePath)}, format = 'newline_delimited', columns = ${columns}, maximum_object_size = 67108864)) TO ${quoteLiteral(join(dir, 'typed.parquet'))} (FORMAT parquet)`,
      ),
    );
  } finally {
    connection.closeSync();
  }
}

async function convert(shape, segment, formatType) {
  const format = formatType === 'parquet' ? { type: 'parquet', compression: 'snappy' } : { type: formatType, compression: 'none' };
  const converter = await createStreamConverter(
    {
      stream: { stream: { name: 's', json_schema: { type: 'object', properties: shape.properties }, supported_sync_modes: [] } },
      format,
      syncId: 1,
      generationId: 1,
    },
    engine,
  );
  return timed(async () => {
    const part = await converter.convertSegment(segment, { outDir: join(dir, 'parts') });
    const file = await converter.assemble([part], { outPath: join(dir, `out.${converter.extension}`) });
    rmSync(file.path, { force: true });
  });
}

/** The results, each also printed as it comes (a long case may be stopped before the table). */
const rows = [];
const record = (row) => {
  rows.push(row);
  console.error(Object.values(row).join(' | '));
};
async function shapeCase(name, shape, n) {
  const { segment, barePath } = generate(name, shape, n);
  const mb = segment.bytes / 1e6;
  const floor = await typedRead(shape, barePath);
  record({
    case: name,
    variant: 'typed read (floor)',
    records: n,
    inputMB: mb.toFixed(1),
    s: floor.s.toFixed(2),
    'MB/s': (mb / floor.s).toFixed(1),
    ratio: '1.00',
    rssMiB: floor.rssMiB,
  });
  for (const f of opts.formats) {
    try {
      const r = await convert(shape, segment, f);
      record({
        case: name,
        variant: `convert ${f}`,
        records: n,
        inputMB: mb.toFixed(1),
        s: r.s.toFixed(2),
        'MB/s': (mb / r.s).toFixed(1),
        ratio: (r.s / floor.s).toFixed(2),
        rssMiB: r.rssMiB,
      });
    } catch (err) {
      record({
        case: name,
        variant: `convert ${f}`,
        records: n,
        inputMB: mb.toFixed(1),
        s: 'failed',
        'MB/s': '',
        ratio: '',
        rssMiB: String(err.message).slice(0, 60),
      });
    }
  }
}

for (const s of opts.shapes) {
  if (s === 'flat') await shapeCase('flat', flatShape(), opts.records);
  if (s === 'wide500') await shapeCase('wide500', wideShape(500), opts.wideRecords);
  if (s === 'wide2000') await shapeCase('wide2000', wideShape(2000), opts.wideRecords);
  if (s === 'deep') {
    for (let depth = 4; depth <= 30; depth += 2) {
      const before = rows.length;
      await shapeCase(`deep${depth}`, deepShape(depth), 100);
      const slowest = Math.max(...rows.slice(before).map((r) => Number(r.s) || 0));
      if (slowest > opts.deepLimitS) break; // the next step would take about four times as long
    }
  }
  if (s === 'planning') {
    // Flat schemas of n integer columns, and trees of objects with ten members each (n nodes).
    const connection = await engine.connect();
    const planSpool = join(dir, 'plan.spool');
    writeFileSync(planSpool, '');
    for (const n of [10, 100, 1000, 10000]) {
      const flat = Object.fromEntries(Array.from({ length: n }, (_, c) => [`c${c}`, { type: 'integer' }]));
      const tree = (nodes) => {
        if (nodes <= 10)
          return { type: 'object', properties: Object.fromEntries(Array.from({ length: nodes }, (_, c) => [`m${c}`, { type: 'integer' }])) };
        const per = Math.ceil((nodes - 1) / 10);
        return { type: 'object', properties: Object.fromEntries(Array.from({ length: 10 }, (_, c) => [`m${c}`, tree(per)])) };
      };
      for (const [kind, properties] of [
        ['flat', flat],
        ['tree', { root: tree(n) }],
      ]) {
        const sql = buildConversionQuery({
          plan: planColumns({ type: 'object', properties }),
          format: 'parquet',
          syncId: 1,
          generationId: 1,
          spoolPath: planSpool,
          maxObjectBytes: MiB,
        });
        const t = performance.now();
        let outcome = 'ok';
        try {
          await connection.run(`PREPARE plan_case AS ${sql}`);
          await connection.run('DEALLOCATE plan_case');
        } catch (err) {
          outcome = String(err.message).slice(0, 60);
        }
        record({
          case: `planning ${kind} ${n} nodes`,
          variant: 'PREPARE',
          records: '',
          inputMB: `${(sql.length / 1e6).toFixed(2)} MB SQL`,
          s: ((performance.now() - t) / 1000).toFixed(2),
          'MB/s': '',
          ratio: '',
          rssMiB: outcome,
        });
      }
    }
    connection.closeSync();
  }
}

clearInterval(sampler);
engine.close();
rmSync(dir, { recursive: true, force: true });
console.table(rows);
