// The connector inside the built image, run as an orchestrator runs it (scripts/image/runner.ts):
// `spec` valid against the Airbyte protocol schema; `check` and `write` of the sample sync
// (integration_tests/sample/) against radosgw on loopback, read back with hyparquet, an
// independent Parquet reader; a `write` stopped with SIGTERM (sent to the container's PID 1,
// tini) exits 143 with every state echoed; a `write` on a read-only root file system with TMPDIR
// on a writable tmpfs. Run by scripts/image-test.sh, which starts radosgw (S3_TEST_ENDPOINT).

import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { protocolErrors, protocolSchemaAvailable, protocolSchemaSkipReason } from '../../integration_tests/support/protocol.js';
import { getObject, listKeys, parquetRows } from '../../integration_tests/support/read-back.js';
import { assertNoSecretLeak } from '../../integration_tests/support/secrets.js';
import { adminClient, s3Server } from '../../integration_tests/support/server.js';
import { RUNNER, removeContainers, runInImage, type ImageRun, type RunOptions } from './runner.js';

const ROOT = resolve(import.meta.dirname, '../..');
const SAMPLE = join(ROOT, 'integration_tests/sample');
const MESSAGES = join(SAMPLE, 'messages.jsonl');
/** A message type the connector does not know: its WARN LOG says that every line before it was read. */
const MARKER = JSON.stringify({ type: 'FUTURE_MESSAGE' }) + '\n';

const server = s3Server();
let client: S3Client;
let work: string;

/** Records per stream and STATE messages of the sample, counted from its file. */
const counts = (() => {
  const records: Record<string, number> = {};
  let states = 0;
  for (const line of readFileSync(MESSAGES, 'utf8').split('\n')) {
    if (line.startsWith('{"type":"RECORD"')) {
      const stream = (JSON.parse(line) as { record: { stream: string } }).record.stream;
      records[stream] = (records[stream] ?? 0) + 1;
    } else if (line.startsWith('{"type":"STATE"')) states++;
  }
  return { records, states };
})();

beforeAll(() => {
  client = adminClient(server);
  work = mkdtempSync(join(tmpdir(), 'image-test-secrets-'));
  chmodSync(work, 0o755); // the connector runs as uid 1000
});

afterAll(async () => {
  client?.destroy();
  await removeContainers();
  rmSync(work, { recursive: true, force: true });
});

/** A bucket of its own and a directory mounted at /secrets with config.json (for uid 1000 only) and catalog.json. */
async function prepare(label: string): Promise<{ bucket: string; dir: string }> {
  const bucket = `image-test-${label}-${randomBytes(4).toString('hex')}`;
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  const dir = mkdtempSync(join(work, `${label}-`));
  chmodSync(dir, 0o755);
  const config = JSON.parse(readFileSync(join(SAMPLE, 'sample_config.json'), 'utf8')) as Record<string, any>;
  config.s3_bucket_name = bucket;
  config.s3_endpoint = server.endpoint;
  config.credentials = { ...config.credentials, access_key_id: server.accessKey, secret_access_key: server.secretKey };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config), { mode: 0o600 });
  writeFileSync(join(dir, 'catalog.json'), readFileSync(join(SAMPLE, 'configured_catalog.json')), { mode: 0o644 });
  if (process.getuid?.() === 0) chownSync(join(dir, 'config.json'), 1000, 1000);
  return { bucket, dir };
}

async function run(args: string[], options: RunOptions): Promise<ImageRun> {
  const result = await (await runInImage(args, options)).done;
  assertNoSecretLeak({ stdout: result.lines.join('\n'), stderr: result.stderr }, [{ value: server.secretKey, source: 'the S3 secret key' }]);
  return result;
}

const WRITE_ARGS = ['write', '--config', '/secrets/config.json', '--catalog', '/secrets/catalog.json'];
const describeIn = (r: ImageRun): string => `exit ${r.code}; stderr: ${r.stderr.slice(-1500)}; last stdout: ${r.lines.slice(-3).join('\n')}`;

/** Every stream's manifest complete with the sample's records, every Parquet file read back by hyparquet. */
async function expectSampleInBucket(bucket: string): Promise<string> {
  const keys = await listKeys(bucket, '', client);
  const found = await Promise.all(
    keys
      .filter((k) => k.includes('_manifests/') && k.endsWith('.json'))
      .map(async (k) => JSON.parse((await getObject(bucket, k, client)).toString('utf8')) as Record<string, any>),
  );
  let files = 0;
  for (const [stream, records] of Object.entries(counts.records)) {
    const m = found.find((x) => x.model === stream);
    expect(m, `a manifest for ${stream}`).toBeDefined();
    expect(m!.status).toBe('complete');
    expect(m!.record_count).toBe(records);
    let rows = 0;
    for (const f of m!.files as { key: string; bytes: number }[]) {
      const data = await getObject(bucket, f.key, client);
      expect(data.length).toBe(f.bytes);
      rows += (await parquetRows(data)).length;
      files++;
    }
    expect(rows, `${stream}: rows hyparquet reads back`).toBe(records);
  }
  return `${Object.values(counts.records).reduce((a, b) => a + b, 0)} records in ${files} Parquet files read back by hyparquet`;
}

describe(`the connector in the image (${RUNNER})`, () => {
  it(`spec: one SPEC message, equal to spec/spec.json${protocolSchemaAvailable ? ', valid against the protocol schema' : ` (not validated: ${protocolSchemaSkipReason})`}`, async () => {
    const r = await run(['spec'], { secretsDir: work });
    expect(r.code, describeIn(r)).toBe(0);
    expect(r.lines).toHaveLength(1);
    if (protocolSchemaAvailable) expect(protocolErrors(r.lines[0]!)).toEqual([]);
    else console.log(`image-test: spec not validated against the protocol schema: ${protocolSchemaSkipReason}`);
    expect(r.messages[0]!.type).toBe('SPEC');
    expect(r.messages[0]!.spec).toEqual(JSON.parse(readFileSync(join(ROOT, 'spec/spec.json'), 'utf8')));
  });

  it('check: SUCCEEDED against radosgw on loopback', async () => {
    const { dir } = await prepare('check');
    const r = await run(['check', '--config', '/secrets/config.json'], { secretsDir: dir });
    expect(r.code, describeIn(r)).toBe(0);
    const status = r.messages.find((m) => m.type === 'CONNECTION_STATUS');
    expect(status?.connectionStatus, describeIn(r)).toMatchObject({ status: 'SUCCEEDED' });
    if (protocolSchemaAvailable) for (const line of r.lines) expect(protocolErrors(line)).toEqual([]);
  });

  it('write of the sample: every state echoed, every stream complete and read back', async () => {
    const { bucket, dir } = await prepare('write');
    const t0 = Date.now();
    const r = await run(WRITE_ARGS, { secretsDir: dir, stdinFile: MESSAGES });
    expect(r.code, describeIn(r)).toBe(0);
    expect(r.messages.filter((m) => m.type === 'STATE')).toHaveLength(counts.states);
    expect(r.messages.filter((m) => m.type === 'NOT_JSON')).toEqual([]);
    if (protocolSchemaAvailable) for (const line of r.lines) expect(protocolErrors(line)).toEqual([]);
    console.log(
      `image-test: write of the sample in the image: ${await expectSampleInBucket(bucket)} (${((Date.now() - t0) / 1000).toFixed(1)} s with the container's start)`,
    );
  });

  it.skipIf(RUNNER !== 'podman')('write stopped by SIGTERM to the container (tini as PID 1): exit 143, every state it read echoed', async () => {
    const { dir } = await prepare('sigterm');
    let signalled: Promise<void> | undefined;
    const live = await runInImage(WRITE_ARGS, {
      secretsDir: dir,
      stdinFile: MESSAGES,
      extraInput: MARKER,
      keepStdinOpen: true,
      onMessage: (m) => {
        if (!signalled && m.type === 'LOG' && m.log?.level === 'WARN' && /FUTURE_MESSAGE/.test(m.log.message)) signalled = live.signal('TERM');
      },
    });
    const r = await live.done;
    await signalled;
    live.closeStdin();
    expect(signalled, `the marker was read (${describeIn(r)})`).toBeDefined();
    expect(r.code, describeIn(r)).toBe(143);
    expect(r.messages.filter((m) => m.type === 'STATE')).toHaveLength(counts.states);
    const traces = r.messages.filter((m) => m.type === 'TRACE');
    expect(traces).toHaveLength(1);
    expect(traces[0]!.trace.error).toMatchObject({ failure_type: 'transient_error' });
    expect(traces[0]!.trace.error.message).toMatch(/SIGTERM/);
  });

  it.skipIf(RUNNER !== 'podman')('write on a read-only root file system, TMPDIR on a writable tmpfs', async () => {
    const { bucket, dir } = await prepare('readonly');
    const r = await run(WRITE_ARGS, { secretsDir: dir, stdinFile: MESSAGES, readOnlyRoot: true });
    expect(r.code, describeIn(r)).toBe(0);
    expect(r.messages.filter((m) => m.type === 'STATE')).toHaveLength(counts.states);
    console.log(`image-test: read-only root: ${await expectSampleInBucket(bucket)}`);
  });
});
