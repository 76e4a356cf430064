// The second half of scripts/node22-smoke.sh, run with the Node under test (process.execPath is
// also what runs the connector): check and write of the sample sync against radosgw, either the
// one named by S3_TEST_ENDPOINT (with S3_TEST_ACCESS_KEY / S3_TEST_SECRET_KEY) or one started
// here on free ports and stopped afterwards. Prints one "node22-smoke: … ok" line per step; exits
// non-zero with the reason on the first failure.

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const { startLocalS3 } = await import('./local-s3.mjs');
const sample = await import('./sample.mjs');

const node = `Node ${process.versions.node}`;
const work = mkdtempSync(join(tmpdir(), 'node22-smoke-sample-'));
const undo = [];
let stopping;
const cleanup = () =>
  (stopping ??= (async () => {
    for (const step of undo.reverse()) await step().catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  })());
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => void cleanup().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143)));

function fail(message) {
  throw new Error(message);
}

function traceOf(result) {
  const trace = result.lines.map((l) => JSON.parse(l)).find((m) => m.type === 'TRACE' && m.trace.type === 'ERROR');
  return trace ? `${trace.trace.error.failure_type}: ${trace.trace.error.message}` : result.stderr.slice(-2000);
}

let code = 0;
try {
  const t0 = Date.now();
  const server = await startLocalS3(process.env.S3_TEST_ENDPOINT ? 'external' : 'radosgw', { onStop: (stop) => undo.push(stop) });
  console.log(`node22-smoke: S3 is ${server.description} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  const client = sample.s3Client(server);
  undo.push(async () => client.destroy());
  const bucket = `node22-smoke-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  await sample.createBucket(client, bucket);
  if (!server.started) undo.push(() => sample.removeBucket(client, bucket));
  const configPath = join(work, 'config.json');
  writeFileSync(configPath, JSON.stringify(sample.sampleConfig(server, bucket)), { mode: 0o600 });

  const check = await sample.runConnector(['check', '--config', configPath]);
  const status = check.lines.map((l) => JSON.parse(l)).find((m) => m.type === 'CONNECTION_STATUS')?.connectionStatus;
  if (check.code !== 0 || status?.status !== 'SUCCEEDED')
    fail(`check on ${node}: exit ${check.code}, ${status?.status ?? 'no CONNECTION_STATUS'}: ${status?.message ?? traceOf(check)}`);
  console.log(`node22-smoke: check on ${node} ok`);

  const t1 = Date.now();
  const counts = sample.sampleCounts();
  const write = await sample.runConnector(['write', '--config', configPath, '--catalog', sample.SAMPLE_CATALOG], {
    stdinFile: sample.SAMPLE_MESSAGES,
  });
  if (write.code !== 0) fail(`write on ${node} exited ${write.code}: ${traceOf(write)}`);
  const bad = write.lines.find((l) => !l.startsWith('{"type":"'));
  if (bad) fail(`write on ${node} printed a line that is not an Airbyte message: ${bad.slice(0, 200)}`);
  const states = write.lines.filter((l) => JSON.parse(l).type === 'STATE').length;
  if (states !== counts.states) fail(`write on ${node} echoed ${states} of the sample's ${counts.states} states`);
  const objects = await sample.listObjects(client, bucket);
  const sizes = new Map(objects.map((o) => [o.key, o.size]));
  const manifests = await Promise.all(
    objects
      .filter((o) => o.key.startsWith('_manifests/'))
      .map(async (o) => JSON.parse((await sample.getObject(client, bucket, o.key)).toString('utf8'))),
  );
  for (const [stream, records] of Object.entries(counts.records)) {
    const m = manifests.find((x) => x.model === stream);
    if (!m) fail(`write on ${node} left no manifest for ${stream}`);
    if (m.status !== 'complete' || m.record_count !== records)
      fail(`manifest of ${stream}: status ${m.status}, ${m.record_count} records; expected complete, ${records}`);
    for (const f of m.files) if (sizes.get(f.key) !== f.bytes) fail(`${f.key}: ${sizes.get(f.key)} bytes in S3, ${f.bytes} in the manifest`);
  }
  const files = manifests.reduce((n, m) => n + m.files.length, 0);
  console.log(
    `node22-smoke: write of the sample on ${node} ok (${counts.total} records, ${states} states, ${files} files, ${((Date.now() - t1) / 1000).toFixed(1)} s)`,
  );
} catch (err) {
  console.error(`node22-smoke: FAILED: ${err instanceof Error ? err.message : err}`);
  code = 1;
} finally {
  await cleanup();
}
process.exit(code);
