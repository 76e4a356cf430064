#!/usr/bin/env node
// npm run demo: the connector end to end on this machine, in about a minute.
//   1. builds dist/ when it is missing or older than src/
//   2. starts a local S3 on loopback (scripts/lib/local-s3.mjs: radosgw where it is installed,
//      else an in-process emulator; or the server named by S3_TEST_ENDPOINT)
//   3-5. runs spec, check and write as an orchestrator does, on integration_tests/sample/
//   6. writes integration_tests/sample/namespaces/: one stream name (users) in two namespaces
//   7. shows the object tree and one manifest
//   8. downloads the bucket and runs the DuckDB recipes of docs/reading.md on it: the latest row
//      per primary key, the values the connector nulled, and a namespaced model
//   9. runs verify: every file the manifests list is there with its size and SHA-256
// and stops whatever it started, also on failure or Ctrl-C.
//
//   npm run demo                     # auto: S3_TEST_ENDPOINT, else radosgw, else the emulator
//   npm run demo -- --s3=s3rver      # force a local S3: radosgw, s3rver or external
//   npm run demo -- --keep           # keep the local copy of the bucket (its path is printed)

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

// The AWS SDK warns on Node 20 that its releases from 2027 need Node 22 (docs/operations.md says
// so); in a demo it is noise. Set before the SDK loads; the connector runs inherit it.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const ROOT = resolve(import.meta.dirname, '..');
const { bold, createUi, dim, formatBytes, objectTree, red, textTable } = await import('./lib/terminal.mjs');
const { S3_MODES, resolveMode, startLocalS3 } = await import('./lib/local-s3.mjs');
const sample = await import('./lib/sample.mjs');
const { localRecipe, recipeSql } = await import('./lib/recipes.mjs');

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  process.stdout.write(`Usage: npm run demo [-- --s3=${S3_MODES.join('|')}] [--keep]\n`);
  process.exit(0);
}
const mode = args.find((a) => a.startsWith('--s3='))?.slice(5) ?? process.env.DEMO_S3 ?? 'auto';
const keep = args.includes('--keep');

const ui = createUi(9);
const started = Date.now();
const work = mkdtempSync(join(tmpdir(), 'dse-demo-'));
/** What must be undone, last first. */
const undo = [];
let child; // the process running now (tsc or the connector), stopped on Ctrl-C
let cleaning;
let interrupted = 0; // the exit code of a Ctrl-C (130) or SIGTERM (143)

function cleanup() {
  cleaning ??= (async () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    for (const step of undo.reverse()) await step().catch((err) => process.stderr.write(`cleanup: ${err.message}\n`));
    if (keep && existsSync(join(work, 'bucket'))) {
      rmSync(join(work, 'config.json'), { force: true });
      process.stdout.write(`\nKept the local copy of the bucket in ${join(work, 'bucket')}\n`);
    } else rmSync(work, { recursive: true, force: true });
  })();
  return cleaning;
}

/** Stops early: Ctrl-C, SIGTERM, or stdout closed (e.g. piped into head). */
function interrupt(code, why) {
  if (cleaning) return void (why && process.stderr.write('\nStill stopping what the demo started…\n'));
  interrupted = code;
  if (why) process.stderr.write(`\n${why}: stopping what the demo started…\n`);
  void cleanup().finally(() => process.exit(interrupted));
}
process.on('SIGINT', () => interrupt(130, 'Interrupted'));
process.on('SIGTERM', () => interrupt(143, 'Terminated'));
// Without a listener, a write to a closed pipe would end the process before it cleans up.
process.stdout.on('error', () => interrupt(141));
process.stderr.on('error', () => undefined);

function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(join(entry.parentPath ?? entry.path, entry.name)).mtimeMs);
  }
  return newest;
}

async function build() {
  ui.step('Build');
  const reason = !existsSync(sample.MAIN)
    ? 'dist/ is missing'
    : newestSource(join(ROOT, 'src')) > statSync(sample.MAIN).mtimeMs
      ? 'src/ changed since the last build'
      : '';
  if (!reason) return ui.done('dist/ is up to date');
  ui.status(`${reason}: compiling with tsc …`);
  const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
  if (!existsSync(tsc)) throw new Error('TypeScript is not installed: run `npm ci` first.');
  const output = await new Promise((resolveBuild, reject) => {
    child = spawn(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.json')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (d) => (text += d));
    child.stderr.on('data', (d) => (text += d));
    child.on('close', (code) => (code === 0 ? resolveBuild(text) : reject(new Error(`The build failed:\n${text}`))));
  });
  ui.done(`compiled dist/ (${reason})${output.trim() ? `: ${output.trim()}` : ''}`);
}

async function startS3() {
  const resolved = resolveMode(mode);
  ui.step('Start a local S3');
  const waiting =
    resolved === 'radosgw' ? 'starting radosgw (a Ceph monitor, an in-memory OSD and two gateways) on free ports' : `starting ${resolved}`;
  const t0 = Date.now();
  const timer = setInterval(() => ui.status(`${waiting} … ${((Date.now() - t0) / 1000).toFixed(0)} s`), 250);
  let server;
  try {
    server = await startLocalS3(resolved, { onStop: (stop) => undo.push(stop) });
  } catch (err) {
    if (mode !== 'auto' || resolved !== 'radosgw' || interrupted) throw err;
    // auto: radosgw is installed but would not start here; the emulator still shows the path.
    ui.say(red(`radosgw did not start: ${err.message.split('\n')[0]}`));
    ui.status('starting the in-process S3 emulator instead …');
    server = await startLocalS3('s3rver', { onStop: (stop) => undo.push(stop) });
  } finally {
    clearInterval(timer);
  }
  if (server.kind === 's3rver') {
    ui.say(dim('an S3 emulator with limits (access keys only, no SSE-KMS, no policies): docs/operations.md, "Trying it locally"'));
    if (mode === 'auto' && resolved === 's3rver') ui.say(dim('radosgw, the S3 the tests use, is not installed: `bash scripts/setup.sh` installs it'));
  }
  const client = sample.s3Client(server);
  undo.push(async () => client.destroy());
  // A server of our own gets a plain name; a shared one a fresh bucket, removed at the end.
  const bucket = server.started ? 'demo-exports' : `demo-exports-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  await sample.createBucket(client, bucket);
  if (!server.started && !keep) undo.push(() => sample.removeBucket(client, bucket));
  if (!server.started && keep) undo.push(async () => process.stdout.write(`Kept the bucket ${bucket} on ${server.endpoint}\n`));
  ui.done(`${server.description}; bucket ${bucket}`);
  return { server, client, bucket };
}

/** Runs one connector command; a failure shows the connector's own words. */
async function connector(command, extra = [], options = {}) {
  const result = await sample.runConnector([command, ...extra], { ...options, onChild: (c) => (child = c) });
  const bad = result.lines.filter((l) => !l.startsWith('{'));
  if (bad.length) throw new Error(`${command} printed something that is not an Airbyte message: ${bad[0]}`);
  return result;
}

function errorOf(result) {
  const trace = result.lines.map((l) => JSON.parse(l)).find((m) => m.type === 'TRACE' && m.trace.type === 'ERROR');
  return trace ? `${trace.trace.error.failure_type}: ${trace.trace.error.message}` : result.stderr.trim().slice(-2000);
}

async function spec() {
  ui.step('spec: what the connector asks for');
  const result = await connector('spec');
  const message = result.lines.map((l) => JSON.parse(l)).find((m) => m.type === 'SPEC');
  if (result.code !== 0 || !message) throw new Error(`spec failed (exit ${result.code}): ${errorOf(result)}`);
  const schema = message.spec.connectionSpecification;
  ui.say(`required: ${schema.required.join(', ')}`);
  ui.say(`settings: ${Object.keys(schema.properties).join(', ')}`);
  ui.done(`one SPEC message (${Object.keys(schema.properties).length} settings), exit 0`);
}

async function check(s3) {
  ui.step('check: can the connector write to the bucket?');
  const configPath = join(work, 'config.json');
  writeFileSync(configPath, JSON.stringify(sample.sampleConfig(s3.server, s3.bucket), null, 2), { mode: 0o600 });
  ui.say(dim(`config: integration_tests/sample/sample_config.json with this server's endpoint, keys and bucket`));
  const result = await connector('check', ['--config', configPath]);
  const status = result.lines.map((l) => JSON.parse(l)).find((m) => m.type === 'CONNECTION_STATUS')?.connectionStatus;
  if (result.code !== 0 || status?.status !== 'SUCCEEDED') throw new Error(`check did not succeed: ${status?.message ?? errorOf(result)}`);
  ui.say(status.message);
  ui.done('CONNECTION_STATUS SUCCEEDED, exit 0');
  return configPath;
}

async function write(configPath) {
  ui.step('write: the sample sync (3 streams, with checkpoints)');
  const counts = sample.sampleCounts();
  const inputBytes = statSync(sample.SAMPLE_MESSAGES).size;
  ui.say(
    dim(
      `input: integration_tests/sample/messages.jsonl, ${counts.total} records (${Object.entries(counts.records)
        .map(([s, n]) => `${s} ${n}`)
        .join(', ')}), ${counts.states} STATE messages, ${formatBytes(inputBytes)}`,
    ),
  );
  let sent = 0;
  let states = 0;
  const t0 = Date.now();
  const show = () =>
    ui.status(
      `input sent ${Math.round((100 * sent) / inputBytes)}% · ${states}/${counts.states} states echoed (each once its records are in S3) · ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
  const timer = setInterval(show, 200);
  let result;
  try {
    result = await connector('write', ['--config', configPath, '--catalog', sample.SAMPLE_CATALOG], {
      stdinFile: sample.SAMPLE_MESSAGES,
      onInput: (n) => (sent += n),
      onMessage: (m) => {
        if (m.type === 'STATE') states++;
        else if (m.type === 'LOG') ui.say(`${dim('LOG')} ${m.log.message}`);
      },
    });
  } finally {
    clearInterval(timer);
  }
  if (result.code !== 0) throw new Error(`write failed (exit ${result.code}): ${errorOf(result)}`);
  if (states !== counts.states) throw new Error(`write echoed ${states} of the ${counts.states} states`);
  ui.done(`exit 0; ${states}/${counts.states} states echoed`);
}

async function writeNamespaces(configPath) {
  ui.step('write: one stream name in two namespaces (public.users, billing.users)');
  let states = 0;
  const result = await connector('write', ['--config', configPath, '--catalog', sample.NAMESPACES_CATALOG], {
    stdinFile: sample.NAMESPACES_MESSAGES,
    onMessage: (m) => {
      if (m.type === 'STATE') states++;
    },
  });
  if (result.code !== 0) throw new Error(`write of the namespaces sample failed (exit ${result.code}): ${errorOf(result)}`);
  ui.say(dim('input: integration_tests/sample/namespaces/messages.jsonl, ids 1-40 in each namespace'));
  ui.say(
    `each lands under its namespace: ${bold('<folder>/public/users/')} and ${bold('<folder>/billing/users/')}, manifests under _manifests/public/users/ and _manifests/billing/users/`,
  );
  ui.done(`exit 0; ${states} states echoed`);
}

/** JSON with short arrays and objects on one line, so that a manifest fits on a screen. */
function compactJson(value, indent = '') {
  const flat = JSON.stringify(value);
  if (flat.length <= 100 || value === null || typeof value !== 'object') return flat;
  const inner = `${indent}  `;
  if (Array.isArray(value)) return `[\n${value.map((v) => inner + compactJson(v, inner)).join(',\n')}\n${indent}]`;
  return `{\n${Object.entries(value)
    .map(([k, v]) => `${inner}${JSON.stringify(k)}: ${compactJson(v, inner)}`)
    .join(',\n')}\n${indent}}`;
}

async function show(s3) {
  ui.step('What landed in the bucket');
  const objects = await sample.listObjects(s3.client, s3.bucket);
  for (const line of objectTree(objects, `s3://${s3.bucket}/`)) ui.say(line);
  const key = objects.map((o) => o.key).find((k) => k.startsWith('_manifests/users/'));
  if (!key) throw new Error('No manifest of users was written');
  ui.say();
  ui.say(bold(`${key}`) + dim(' (short arrays and objects on one line)'));
  const manifest = JSON.parse((await sample.getObject(s3.client, s3.bucket, key)).toString('utf8'));
  for (const line of compactJson(manifest).split('\n')) ui.say(line);
  ui.done(
    `${objects.length} objects: ${objects.filter((o) => !o.key.startsWith('_manifests/')).length} data files, ${objects.filter((o) => o.key.startsWith('_manifests/')).length} manifests`,
  );
}

async function query(s3) {
  ui.step('DuckDB: the latest row per primary key (docs/reading.md)');
  const dir = join(work, 'bucket');
  ui.status('downloading the bucket …');
  await sample.downloadBucket(s3.client, s3.bucket, dir);
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const db = await DuckDBInstance.create(':memory:', { threads: '2' });
  const conn = await db.connect();
  undo.push(async () => {
    conn.closeSync();
    db.closeSync();
  });
  const rows = async (sql) => (await conn.runAndReadAll(sql)).getRowObjectsJson();
  await conn.run(`SET TimeZone = 'UTC'`);
  await conn.run(localRecipe('duckdb-committed-rows', dir));
  ui.say(dim(`the macro committed_rows(model) of docs/reading.md: rows of the files that manifests list, at or above the generation floor; then:`));
  for (const line of recipeSql('duckdb-latest-users').split('\n')) ui.say(`  ${line}`);
  const [total] = await rows(`SELECT count(*) AS rows, count(DISTINCT id) AS ids FROM committed_rows('users')`);
  const latestSql = localRecipe('duckdb-latest-users', dir);
  const [{ latest }] = await rows(`SELECT count(*) AS latest FROM (${latestSql})`);
  if (Number(latest) !== Number(total.ids)) throw new Error(`The latest-row query returned ${latest} rows for ${total.ids} ids`);
  ui.say();
  ui.say(`users: ${total.rows} rows in the files, ${total.ids} distinct ids → ${bold(`${latest} latest rows`)}, one per id.`);
  // The user with the most versions, each row marked when the recipe keeps it.
  const [busiest] = await rows(`SELECT id, count(*) AS n FROM committed_rows('users') GROUP BY id ORDER BY n DESC, id LIMIT 1`);
  const versions = await rows(
    `WITH latest AS (${latestSql})
     SELECT strftime(r.updated_at, '%Y-%m-%d %H:%M:%S') AS updated_at, strftime(r._airbyte_extracted_at, '%H:%M:%S.%g') AS extracted_at,
            r.plan, r.is_active, r.lifetime_value,
            CASE WHEN r._airbyte_raw_id IN (SELECT _airbyte_raw_id FROM latest) THEN '← latest' ELSE '' END AS kept
     FROM committed_rows('users') r WHERE r.id = ${Number(busiest.id)} ORDER BY r.updated_at, r._airbyte_extracted_at`,
  );
  ui.say(`The ${busiest.n} rows of user ${busiest.id}:`);
  for (const line of textTable(Object.keys(versions[0]), versions)) ui.say(`  ${line}`);
  const [ties] = await rows(
    `SELECT count(*) AS n FROM (SELECT id FROM committed_rows('users') GROUP BY id, updated_at HAVING count(DISTINCT _airbyte_extracted_at) > 1)`,
  );
  ui.say(
    dim(`${ties.n} times two rows of one user share an updated_at (a re-sent page, or two updates within a second): the one extracted later wins.`),
  );
  const nulled = await rows(
    `SELECT order_id, c.field, c.change, c.reason FROM committed_rows('orders'), unnest(_airbyte_meta.changes) AS u(c) ORDER BY order_id`,
  );
  ui.say();
  ui.say(`orders: values the connector nulled because they did not fit their column (listed in _airbyte_meta.changes):`);
  for (const line of textTable(['order_id', 'field', 'change', 'reason'], nulled)) ui.say(`  ${line}`);
  const [ns] = await rows(
    `SELECT (SELECT count(*) FROM committed_rows('public/users')) AS public_users, (SELECT count(*) FROM (${localRecipe('duckdb-latest-billing-users', dir)})) AS billing_users`,
  );
  ui.say();
  ui.say(
    `namespaces: committed_rows('public/users') has ${ns.public_users} rows, the latest rows of committed_rows('billing/users') ${ns.billing_users}: two tables, ids 1-40 in each.`,
  );
  ui.done(
    `${latest} latest users out of ${total.rows} rows; ${nulled.length} nulled values; ${ns.public_users} + ${ns.billing_users} namespaced users`,
  );
}

async function verify(s3, configPath) {
  ui.step('verify: is every file the manifests list there, unaltered?');
  if (s3.server.kind === 's3rver') {
    // verify lists the bucket; s3rver checks the signature of bucket-level requests against
    // another path than the SDK signs (scripts/lib/sample.mjs), so it refuses every listing.
    ui.done('skipped: the in-process emulator refuses bucket listings signed by the AWS SDK (radosgw or a real S3 runs it)');
    return;
  }
  const result = await sample.runConnector(['verify', '--config', configPath], { onChild: (c) => (child = c) });
  for (const line of result.lines) if (line.trim()) ui.say(line.startsWith('  ') ? dim(line) : line);
  if (result.code !== 0) throw new Error(`verify found problems (exit ${result.code}): ${result.stderr.trim() || 'see above'}`);
  ui.done('every listed file intact (size and SHA-256), exit 0; `policy --config config.json` prints the IAM policy');
}

let exitCode = 0;
try {
  await build();
  const s3 = await startS3();
  await spec();
  const configPath = await check(s3);
  await write(configPath);
  await writeNamespaces(configPath);
  await show(s3);
  await query(s3);
  await verify(s3, configPath);
  process.stdout.write(
    `\n${bold('Done')} in ${((Date.now() - started) / 1000).toFixed(1)} s. Next: docs/setup.md (your bucket), docs/reading.md (your readers).\n`,
  );
} catch (err) {
  exitCode = 1;
  if (!interrupted) ui.fail(red(err instanceof Error ? err.message : String(err)));
} finally {
  const t0 = Date.now();
  await cleanup();
  if (!interrupted) process.stdout.write(dim(`Stopped what the demo started (${((Date.now() - t0) / 1000).toFixed(1)} s).\n`));
}
process.exit(interrupted || exitCode);
