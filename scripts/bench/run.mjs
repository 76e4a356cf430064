// `npm run bench`: the connector's write against the JSON.parse floor and DuckDB's standalone
// COPY, side by side on the same generated input (docs/benchmarks.md explains the cases).
//
//   node scripts/bench/run.mjs [--size-mb 512] [--records 500000] [--streams 20] [--reps 3]
//       [--cases single,multi,spec,small,tables] [--tables 1000]
//       [--variants floor,duckdb,parquet-s3,parquet-sink,csv-s3,jsonl-s3]
//       [--label default] [--write-docs] [--profile DIR] [--tmp DIR] [--config JSON] [--main PATH]
//   --cases conversion: the conversion alone on issue 12's shapes (scripts/bench/conversion.mjs,
//       which takes the rest of the arguments: --records, --shapes, --formats, ...)
//   --config: extra connector config fields; --main: another build of the connector (to compare)
//   The small-sync cases (issue 13's targets): spec (its time beside a bare `node -e ''`), small
//   (10 streams x 1,000 records), tables (--tables tables x 100 records, one table after another);
//   they run the floor and the connector variants only (DuckDB's COPY is for the large cases).
//
// S3: S3_TEST_ENDPOINT (+ S3_TEST_ACCESS_KEY / S3_TEST_SECRET_KEY) when set, else a radosgw of
// our own started with scripts/s3-test-server on free ports and stopped at the end. Each run
// of the connector writes into a fresh bucket, which is emptied and deleted right after.
// Peak RSS is the child's maximum resident set (getrusage through /usr/bin/time).

import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { CreateBucketCommand, DeleteBucketCommand, DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { generate } from './generate.mjs';
import { startSink } from './s3-sink.mjs';

const ROOT = resolve(import.meta.dirname, '../..');
let MAIN = join(ROOT, 'dist/main.js');
const MiB = 1024 * 1024;
const execFileP = promisify(execFile);

// ---------------------------------------------------------------------------------------------
// Arguments

function parseArgs(argv) {
  const opts = {
    sizeMb: 512,
    records: 500_000,
    streams: 20,
    reps: 3,
    cases: ['single', 'multi'],
    tables: 1000,
    variants: ['floor', 'duckdb', 'parquet-s3', 'parquet-sink', 'csv-s3', 'jsonl-s3'],
    label: 'default',
    writeDocs: false,
    profile: undefined,
    tmp: tmpdir(),
    config: {},
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => argv[++i];
    switch (a) {
      case '--size-mb':
        opts.sizeMb = Number(next());
        break;
      case '--records':
        opts.records = Number(next());
        break;
      case '--streams':
        opts.streams = Number(next());
        break;
      case '--reps':
        opts.reps = Number(next());
        break;
      case '--cases':
        opts.cases = next().split(',');
        break;
      case '--tables':
        opts.tables = Number(next());
        break;
      case '--variants':
        opts.variants = next().split(',');
        break;
      case '--label':
        opts.label = next();
        break;
      case '--write-docs':
        opts.writeDocs = true;
        break;
      case '--profile':
        opts.profile = resolve(next());
        break;
      case '--tmp':
        opts.tmp = resolve(next());
        break;
      case '--config':
        Object.assign(opts.config, JSON.parse(next()));
        break;
      case '--main':
        MAIN = resolve(next());
        break;
      case '--help':
        console.log(
          readFileSync(new URL(import.meta.url), 'utf8')
            .split('\n')
            .slice(0, 12)
            .join('\n'),
        );
        process.exit(0);
        break;
      case '--shapes':
      case '--formats':
      case '--wide-records':
      case '--deep-limit-s':
        next(); // the conversion bench's (scripts/bench/conversion.mjs)
        break;
      default:
        throw new Error(`unknown argument ${a}`);
    }
  }
  return opts;
}

// ---------------------------------------------------------------------------------------------
// S3: the configured server or our own radosgw

async function freePort() {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => res(port));
    });
  });
}

async function openS3(tmp) {
  const env = process.env;
  const keys = {
    accessKey: env.S3_TEST_ACCESS_KEY ?? 'TESTERAK0000000000',
    secretKey: env.S3_TEST_SECRET_KEY ?? 'TESTERSK00000000000000000000000000000000',
  };
  if (env.S3_TEST_ENDPOINT) return { endpoint: env.S3_TEST_ENDPOINT, ...keys, own: false, stop: async () => undefined };
  const dir = mkdtempSync(join(tmp, 'dse-bench-rgw-'));
  const ports = [await freePort(), await freePort(), await freePort(), await freePort()];
  const scripts = join(ROOT, 'scripts/s3-test-server');
  const scriptEnv = { ...env, RGW_PORT: String(ports[0]), RGW_STS_PORT: String(ports[1]), MON_PORT: String(ports[2]), MON_PORT_V1: String(ports[3]) };
  const stop = async () => {
    await execFileP('bash', [join(scripts, 'stop.sh'), join(dir, 'run')]).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  };
  log(`starting radosgw on 127.0.0.1:${ports[0]} (set S3_TEST_ENDPOINT to use a running one)`);
  try {
    await execFileP('bash', [join(scripts, 'start.sh'), join(dir, 'run')], { env: scriptEnv, timeout: 170_000 });
  } catch (err) {
    await stop();
    throw new Error(`could not start radosgw (${err.message}); set S3_TEST_ENDPOINT to a running server`);
  }
  return { endpoint: `http://127.0.0.1:${ports[0]}`, ...keys, own: true, stop };
}

function s3Client(s3) {
  return new S3Client({
    endpoint: s3.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKey, secretAccessKey: s3.secretKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

async function listAll(client, Bucket) {
  const keys = [];
  let ContinuationToken;
  do {
    const out = await client.send(new ListObjectsV2Command({ Bucket, ContinuationToken }));
    for (const o of out.Contents ?? []) keys.push({ key: o.Key, size: o.Size ?? 0 });
    ContinuationToken = out.IsTruncated ? out.NextContinuationToken : undefined;
  } while (ContinuationToken);
  return keys;
}

/** Totals of what a run wrote (from its manifests), then everything it wrote is deleted. */
async function auditAndDelete(client, Bucket) {
  const objects = await listAll(client, Bucket);
  let records = 0;
  let files = 0;
  let bytes = 0;
  const statuses = new Set();
  for (const o of objects.filter((x) => x.key.startsWith('_manifests/'))) {
    const body = await client.send(new GetObjectCommand({ Bucket, Key: o.key }));
    const m = JSON.parse(await body.Body.transformToString());
    records += m.record_count;
    files += m.files.length;
    bytes += m.files.reduce((n, f) => n + f.bytes, 0);
    statuses.add(m.status);
  }
  for (let i = 0; i < objects.length; i += 1000) {
    const batch = objects.slice(i, i + 1000).map((o) => ({ Key: o.key }));
    await client.send(new DeleteObjectsCommand({ Bucket, Delete: { Objects: batch, Quiet: true } }));
  }
  await client.send(new DeleteBucketCommand({ Bucket }));
  return { records, files, bytes, statuses: [...statuses] };
}

// ---------------------------------------------------------------------------------------------
// Children, timed, with their peak RSS

/**
 * Runs `node args…` with `stdinPath` piped into it (through cat, as an orchestrator's pipe),
 * under /usr/bin/time for the peak RSS. Resolves with wall seconds, peak RSS and stdout lines.
 */
function runTimed(args, { stdinPath, env = {}, workDir }) {
  const rssFile = join(workDir, `rss-${process.hrtime.bigint()}`);
  return new Promise((resolvePromise, reject) => {
    const started = process.hrtime.bigint();
    const cat = stdinPath ? spawn('cat', [stdinPath], { stdio: ['ignore', 'pipe', 'inherit'] }) : undefined;
    const child = spawn('/usr/bin/time', ['-f', '%M', '-o', rssFile, process.execPath, ...args], {
      stdio: [cat ? cat.stdout : 'ignore', 'pipe', 'pipe'],
      env: { ...process.env, AWS_EC2_METADATA_DISABLED: 'true', ...env },
      cwd: workDir,
    });
    const out = [];
    const err = [];
    child.stdout.on('data', (d) => out.push(d));
    child.stderr.on('data', (d) => err.push(d));
    child.on('error', reject);
    child.on('close', (code) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      let rssKb = NaN;
      try {
        rssKb = Number(readFileSync(rssFile, 'utf8').trim().split('\n').at(-1));
        rmSync(rssFile, { force: true });
      } catch {
        /* no figure */
      }
      resolvePromise({
        code,
        seconds,
        rssMiB: rssKb / 1024,
        lines: Buffer.concat(out).toString('utf8').split('\n').filter(Boolean),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Variants

const FORMATS = {
  parquet: { format_type: 'parquet' },
  csv: { format_type: 'csv', compression: 'none' },
  jsonl: { format_type: 'jsonl', compression: 'none' },
};

function connectorConfig(endpoint, bucket, s3, format, extra) {
  return {
    s3_bucket_name: bucket,
    s3_bucket_region: 'us-east-1',
    s3_endpoint: endpoint,
    credentials: { auth_type: 'access_key', access_key_id: s3.accessKey, secret_access_key: s3.secretKey },
    format: FORMATS[format],
    ...extra,
  };
}

async function runVariant(variant, data, ctx) {
  const { workDir, opts } = ctx;
  if (variant === 'floor') {
    const r = await runTimed([join(ROOT, 'scripts/bench/floor.mjs')], { stdinPath: data.messagesPath, workDir });
    const counted = JSON.parse(r.lines.at(-1) ?? '{}');
    if (r.code !== 0 || counted.records !== data.records) throw new Error(`floor failed: ${r.stderr}`);
    return { ...r, inputBytes: data.messageBytes };
  }
  if (variant === 'duckdb') {
    const out = join(workDir, 'duckdb-out.parquet');
    const r = await runTimed([join(ROOT, 'scripts/bench/duckdb-copy.mjs'), data.dataPath, out, '1'], { workDir });
    const counted = JSON.parse(r.lines.at(-1) ?? '{}');
    const outBytes = existsSync(out) ? readFileSync(out).length : 0;
    rmSync(out, { force: true });
    if (r.code !== 0 || counted.records !== data.records) throw new Error(`duckdb failed: ${r.stderr}`);
    return { ...r, inputBytes: data.dataBytes, outputBytes: outBytes };
  }
  const [format, target] = variant.split('-');
  const sink = target === 'sink';
  const bucket = `bench-${format}-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6)}`;
  if (!sink) await ctx.client.send(new CreateBucketCommand({ Bucket: bucket }));
  else ctx.sink.reset();
  const configPath = join(workDir, 'config.json');
  writeFileSync(configPath, JSON.stringify(connectorConfig(sink ? ctx.sink.endpoint : ctx.s3.endpoint, bucket, ctx.s3, format, opts.config)));
  const nodeArgs = [];
  if (opts.profile) {
    const dir = join(opts.profile, variant);
    mkdirSync(dir, { recursive: true });
    nodeArgs.push('--cpu-prof', '--cpu-prof-dir', dir);
  }
  let r;
  try {
    r = await runTimed([...nodeArgs, MAIN, 'write', '--config', configPath, '--catalog', data.catalogPath], {
      stdinPath: data.messagesPath,
      workDir,
    });
  } finally {
    rmSync(configPath, { force: true });
  }
  const states = r.lines.filter((l) => l.startsWith('{"type":"STATE"')).length;
  const failure = r.code !== 0 || states !== data.states;
  let audit;
  if (!sink) audit = await auditAndDelete(ctx.client, bucket).catch((err) => ({ error: err.message }));
  if (failure)
    throw new Error(`${variant}: exit ${r.code}, ${states}/${data.states} states\n${r.lines.slice(-3).join('\n')}\n${r.stderr.slice(-2000)}`);
  if (audit && audit.records !== data.records) throw new Error(`${variant}: manifests list ${audit.records} records, expected ${data.records}`);
  const outputBytes = sink ? ctx.sink.stats.bytes : audit.bytes;
  return { ...r, inputBytes: data.messageBytes, outputBytes, files: audit?.files ?? ctx.sink.stats.objects };
}

// ---------------------------------------------------------------------------------------------
// Figures

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function summarise(variant, runs, records) {
  const seconds = median(runs.map((r) => r.seconds));
  const inputBytes = runs[0].inputBytes;
  return {
    variant,
    seconds,
    recordsPerSecond: records / seconds,
    mbPerSecond: inputBytes / MiB / seconds,
    rssMiB: Math.max(...runs.map((r) => r.rssMiB)),
    rssMedianMiB: median(runs.map((r) => r.rssMiB)),
    inputMiB: inputBytes / MiB,
    outputMiB: runs[0].outputBytes === undefined ? undefined : runs[0].outputBytes / MiB,
    all: runs.map((r) => r.seconds),
  };
}

const LABELS = {
  floor: 'JSON.parse floor (readline + JSON.parse)',
  duckdb: 'DuckDB standalone typed COPY, 1 thread',
  'parquet-s3': 'connector write → Parquet on radosgw',
  'parquet-sink': 'connector write → Parquet, discarding S3 stand-in',
  'csv-s3': 'connector write → CSV on radosgw',
  'jsonl-s3': 'connector write → JSONL on radosgw',
};

function table(caseName, data, rows) {
  const by = Object.fromEntries(rows.map((r) => [r.variant, r]));
  const ratio = (r, base) => (by[base] ? (r.recordsPerSecond / by[base].recordsPerSecond).toFixed(2) + 'x' : '–');
  const lines = [
    `#### ${caseName}: ${data.records.toLocaleString('en-US')} records, ${data.streams} stream${data.streams > 1 ? 's' : ''}, ${(data.messageBytes / MiB).toFixed(0)} MiB of messages (${data.states} states)`,
    '',
    '| what | median s | records/s | MiB/s (input) | peak RSS MiB | output MiB | vs floor | vs DuckDB |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${LABELS[r.variant] ?? r.variant} | ${r.seconds.toFixed(2)} | ${Math.round(r.recordsPerSecond).toLocaleString('en-US')} | ${r.mbPerSecond.toFixed(1)} | ${r.rssMiB.toFixed(0)} | ${r.outputMiB === undefined ? '–' : r.outputMiB.toFixed(1)} | ${ratio(r, 'floor')} | ${ratio(r, 'duckdb')} |`,
    );
  }
  lines.push('', `Runs (s): ${rows.map((r) => `${r.variant} ${r.all.map((s) => s.toFixed(2)).join('/')}`).join('; ')}.`);
  return lines.join('\n');
}

function machine() {
  const c = cpus();
  return `${c.length} × ${c[0]?.model ?? 'cpu'}, ${(totalmem() / 1024 ** 3).toFixed(0)} GiB RAM, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`;
}

/** Replaces (or appends) the section of `label` between its markers in docs/benchmarks.md. */
function writeDocs(label, text) {
  const path = join(ROOT, 'docs/benchmarks.md');
  const begin = `<!-- bench:${label}:begin -->`;
  const end = `<!-- bench:${label}:end -->`;
  const block = `${begin}\n${text}\n${end}`;
  let doc = existsSync(path) ? readFileSync(path, 'utf8') : '# Benchmarks\n';
  const i = doc.indexOf(begin);
  const j = doc.indexOf(end);
  doc = i >= 0 && j > i ? doc.slice(0, i) + block + doc.slice(j + end.length) : `${doc.trimEnd()}\n\n${block}\n`;
  writeFileSync(path, doc);
  log(`wrote the figures into docs/benchmarks.md (section ${label})`);
}

function log(message) {
  process.stderr.write(`[bench] ${message}\n`);
}

/** `spec`'s wall time beside a bare node start, interleaved, median of `reps` (at least 5). */
async function specCase(opts, workDir) {
  const reps = Math.max(5, opts.reps);
  const spec = [];
  const bare = [];
  for (let rep = 0; rep < reps; rep++) {
    const s = await runTimed([MAIN, 'spec'], { workDir });
    if (s.code !== 0 || !s.lines[0]?.startsWith('{"type":"SPEC"')) throw new Error(`spec failed: ${s.stderr}`);
    spec.push(s);
    bare.push(await runTimed(['-e', ''], { workDir }));
  }
  const m = (runs) => median(runs.map((r) => r.seconds));
  return [
    '#### spec',
    '',
    '| what | median s | peak RSS MiB |',
    '|---|---:|---:|',
    `| \`node dist/main.js spec\` | ${m(spec).toFixed(3)} | ${Math.max(...spec.map((r) => r.rssMiB)).toFixed(0)} |`,
    `| \`node -e ''\` (the runtime's own start) | ${m(bare).toFixed(3)} | ${Math.max(...bare.map((r) => r.rssMiB)).toFixed(0)} |`,
    '',
    `spec takes ${(m(spec) / m(bare)).toFixed(2)}x a bare node start. Runs (s): spec ${spec.map((r) => r.seconds.toFixed(2)).join('/')}; node ${bare.map((r) => r.seconds.toFixed(2)).join('/')}.`,
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------

/** `--cases conversion`: the conversion bench, in its own process, with the same arguments. */
function runConversionBench() {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'scripts/bench/conversion.mjs'), ...process.argv.slice(2)], { stdio: 'inherit' });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolvePromise() : reject(new Error(`conversion bench exited ${code}`))));
  });
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.cases.includes('conversion')) {
    await runConversionBench();
    opts.cases = opts.cases.filter((c) => c !== 'conversion');
    if (opts.cases.length === 0) return;
  }
  if (!existsSync(MAIN)) throw new Error('dist/main.js is missing: run `npm run build` first (npm run bench does)');
  const workDir = mkdtempSync(join(opts.tmp, 'dse-bench-'));
  const needsS3 = opts.variants.some((v) => v.endsWith('-s3'));
  const s3 = needsS3 ? await openS3(opts.tmp) : { accessKey: 'AK', secretKey: 'SK', stop: async () => undefined };
  const sink = await startSink();
  const client = needsS3 ? s3Client(s3) : undefined;
  const cleanup = async () => {
    rmSync(workDir, { recursive: true, force: true });
    client?.destroy();
    await sink.close();
    await s3.stop();
  };
  process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));
  const sections = [];
  try {
    for (const caseName of opts.cases) {
      if (caseName === 'spec') {
        const text = await specCase(opts, workDir);
        console.log('\n' + text + '\n');
        sections.push(text);
        continue;
      }
      const dataDir = join(workDir, caseName);
      mkdirSync(dataDir);
      const spec =
        caseName === 'single'
          ? { streams: 1, records: opts.records }
          : caseName === 'small'
            ? { streams: 10, records: 10 * 1000 }
            : caseName === 'tables'
              ? { streams: opts.tables, records: opts.tables * 100, sequential: true }
              : { streams: opts.streams, bytes: opts.sizeMb * MiB, namespace: 'analytics' };
      const small = caseName === 'small' || caseName === 'tables';
      const variants = small ? opts.variants.filter((v) => v !== 'duckdb') : opts.variants;
      const t0 = Date.now();
      const data = { ...generate({ dir: dataDir, ...spec }), streams: spec.streams };
      log(
        `${caseName}: generated ${data.records} records, ${(data.messageBytes / MiB).toFixed(0)} MiB in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
      );
      const runs = Object.fromEntries(variants.map((v) => [v, []]));
      // Repetitions interleave the variants, so that a slow minute on the shared machine
      // spreads over all of them instead of landing on one.
      for (let rep = 0; rep < opts.reps; rep++) {
        for (const variant of variants) {
          const r = await runVariant(variant, data, { workDir, opts, s3, sink, client });
          runs[variant].push(r);
          log(
            `${caseName} #${rep + 1} ${variant}: ${r.seconds.toFixed(2)} s, ${Math.round(data.records / r.seconds)} rec/s, peak RSS ${r.rssMiB.toFixed(0)} MiB`,
          );
        }
      }
      const rows = variants.map((v) => summarise(v, runs[v], data.records));
      const title =
        caseName === 'single'
          ? 'One stream'
          : caseName === 'tables'
            ? `${spec.streams} tables one after another`
            : `${spec.streams} interleaved streams`;
      const text = table(title, data, rows);
      console.log('\n' + text + '\n');
      sections.push(text);
      rmSync(dataDir, { recursive: true, force: true });
    }
    const command = `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim();
    const report = [
      `Machine: ${machine()}. Command: \`${command}\`. ${opts.reps > 1 ? `Median of ${opts.reps} runs; peak RSS is the highest of them.` : 'One run of each.'}`,
      '',
      ...sections,
    ].join('\n\n');
    if (opts.writeDocs) writeDocs(opts.label, report);
  } finally {
    await cleanup();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
