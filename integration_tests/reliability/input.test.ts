// Bad input (docs/write-path.md, "Failure, SIGTERM, end of input"; docs/reliability.md, "Bad and
// unusual input"): each kind with the outcome the contract gives it — a TRACE config_error naming
// the line (and the stream, when the line names one) and exit 1, after the states before the bad
// line were echoed with their rows listed; or skipped; or valid data.

import { createHash } from 'node:crypto';
import { parquetReadObjects } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { describe, expect, it } from 'vitest';
import { MAX_LINE_BYTES } from '../../src/protocol/lines.js';
import { runCli, startCli, tempJson, type CliResult } from '../support/cli.js';
import { cleanedBuckets, type Manifest, manifestKeys, readListedFiles, readManifests } from '../support/invariants.js';
import { accessKeyConfig, catalog, recordLine, streamStateLine, streamStatusLine } from '../support/messages.js';
import { getObject, listKeys } from '../support/read-back.js';
import { s3Server } from '../support/server.js';

const server = s3Server();
/** Buckets of this file, emptied after its tests (big test data). */
const freshBucket = cleanedBuckets();
const STREAMS = ['users', 'orders'];
const DEBUG_ENV = { DESTINATION_S3_EXPORT_DEBUG: '1' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const user = (id: number, name = `user ${id}`) => recordLine('users', { id, name, updated_at: '2024-05-01T10:00:00Z' });
const order = (id: number) => recordLine('orders', { id, name: `order ${id}`, updated_at: '2024-05-01T10:00:00Z' });

/** Good lines before the bad one: two checkpoints, then a record no state covers. */
const PREFIX = [user(0), user(1), user(2), streamStateLine('users', 'u-2'), order(0), order(1), streamStateLine('orders', 'o-1'), user(3)];
/** Good lines after the bad one: never taken when the bad line fails the sync. The source ends both streams. */
const AFTER = [user(4), streamStateLine('users', 'u-4'), streamStatusLine('users'), streamStatusLine('orders')];
const BAD_LINE = PREFIX.length + 1;
const lines = (...ls: string[]) => ls.join('\n') + '\n';

interface Target {
  bucket: string;
  config: string;
  catalog: string;
}

async function target(extra: Record<string, unknown> = {}, streams: string[] = STREAMS): Promise<Target> {
  const bucket = await freshBucket('rel-input');
  return {
    bucket,
    config: tempJson('config.json', accessKeyConfig(server, bucket, { file_size_mb: 1, ...extra })),
    catalog: tempJson('catalog.json', catalog(streams.map((name) => ({ name })))),
  };
}

function write(t: Target, stdin: string | Buffer): Promise<CliResult> {
  return runCli(['write', '--config', t.config, '--catalog', t.catalog], { stdin, env: DEBUG_ENV });
}

const cursors = (res: CliResult): unknown[] => res.messages.filter((m) => m.type === 'STATE').map((m) => m.state.stream.stream_state.cursor);
const traces = (res: CliResult) => res.messages.filter((m) => m.type === 'TRACE');

async function listedIds(bucket: string): Promise<{ manifests: Manifest[]; ids: Map<string, number[]> }> {
  const manifests = await readManifests(bucket, await manifestKeys(bucket));
  const ids = await readListedFiles(bucket, manifests);
  for (const list of ids.values()) list.sort((a, b) => a - b);
  return { manifests, ids };
}

/** The outcome of a bad line after PREFIX: TRACE naming it, exit 1, nothing checkpointed lost. */
async function expectFailedAtBadLine(t: Target, res: CliResult, want: { message: RegExp; stream?: string }): Promise<void> {
  expect(res.code, res.stderr.slice(-1000)).toBe(1);
  const [trace, ...more] = traces(res);
  expect(more).toEqual([]);
  const error = trace!.trace.error;
  expect(error.failure_type).toBe('config_error');
  expect(error.message).toMatch(new RegExp(`line ${BAD_LINE}\\b`));
  expect(error.message).toMatch(want.message);
  if (want.stream) {
    expect(error.stream_descriptor?.name).toBe(want.stream);
    expect(error.message).toContain(want.stream);
  }
  // the states before the bad line are echoed, nothing after it; their rows are listed
  expect(cursors(res)).toEqual(['u-2', 'o-1']);
  const { manifests, ids } = await listedIds(t.bucket);
  expect(manifests.map((m) => m.status)).toEqual(['incomplete', 'incomplete']);
  expect(ids.get('users')).toEqual([0, 1, 2]);
  expect(ids.get('orders')).toEqual([0, 1]);
}

/** A valid transfer of PREFIX + middle + AFTER: every state echoed, every row listed. */
async function expectCompleted(t: Target, res: CliResult): Promise<void> {
  expect(res.code, JSON.stringify(traces(res)) + res.stderr.slice(-1000)).toBe(0);
  expect(traces(res)).toEqual([]);
  expect(cursors(res)).toEqual(['u-2', 'o-1', 'u-4']);
  const { manifests, ids } = await listedIds(t.bucket);
  expect(manifests.map((m) => m.status)).toEqual(['complete', 'complete']);
  expect(ids.get('orders')).toEqual([0, 1]);
  expect(ids.get('users')!.filter((id) => id <= 4)).toEqual([0, 1, 2, 3, 4]);
}

const RECORD_HEAD = '{"type":"RECORD","record":{"stream":"users","emitted_at":1700000000000,"data":{"id":9,"name":"';

describe.concurrent('bad input lines fail the sync with their line number, after the earlier checkpoints', () => {
  const cases: [string, string | Buffer, { message: RegExp; stream?: string }][] = [
    ['a line that is not JSON', 'this is not json {', { message: /not valid JSON/ }],
    ['JSON that is an array, not an object', '[{"type":"RECORD"}]', { message: /not a JSON object/ }],
    ['JSON that is a scalar (null)', 'null', { message: /not a JSON object/ }],
    ['a message without "type"', JSON.stringify({ record: { stream: 'users', data: { id: 9 }, emitted_at: 1 } }), { message: /no string "type"/ }],
    ['a message whose "type" is not a string', JSON.stringify({ type: 7, record: {} }), { message: /no string "type"/ }],
    [
      'a RECORD without "stream"',
      JSON.stringify({ type: 'RECORD', record: { data: { id: 9 }, emitted_at: 1 } }),
      { message: /without a string "stream"/ },
    ],
    [
      'a RECORD without "data"',
      JSON.stringify({ type: 'RECORD', record: { stream: 'users', emitted_at: 1 } }),
      { message: /without a "data" object/, stream: 'users' },
    ],
    [
      'a RECORD without "emitted_at"',
      JSON.stringify({ type: 'RECORD', record: { stream: 'orders', data: { id: 9 } } }),
      { message: /emitted_at/, stream: 'orders' },
    ],
    ['a RECORD of a stream not in the catalog', recordLine('ghosts', { id: 1 }), { message: /not in the configured catalog/, stream: 'ghosts' }],
    ['a STATE without "state"', JSON.stringify({ type: 'STATE' }), { message: /STATE message without/ }],
    [
      'invalid UTF-8',
      Buffer.concat([Buffer.from(RECORD_HEAD), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('"}}}')]),
      { message: /not valid UTF-8/ },
    ],
  ];
  it.each(cases)('%s', async (_name, bad, want) => {
    const t = await target();
    const stdin = Buffer.concat([Buffer.from(lines(...PREFIX)), Buffer.from(bad), Buffer.from('\n' + lines(...AFTER))]);
    await expectFailedAtBadLine(t, await write(t, stdin), want);
  });

  it('a truncated last line (no newline, cut in the middle of the JSON)', async () => {
    const t = await target();
    const res = await write(t, lines(...PREFIX) + user(9).slice(0, 40));
    await expectFailedAtBadLine(t, res, { message: /not valid JSON/ });
  });

  it('stdin closed in the middle of a line (inside a multi-byte character)', async () => {
    const t = await target();
    const live = startCli(['write', '--config', t.config, '--catalog', t.catalog], { env: DEBUG_ENV });
    await live.write(lines(...PREFIX));
    await sleep(500);
    const line = Buffer.from(user(9, 'café au lait'));
    await live.write(line.subarray(0, line.indexOf(0xa9))); // between the two bytes of 'é'
    await sleep(300);
    live.child.stdin.end();
    await expectFailedAtBadLine(t, await live.done, { message: /not valid UTF-8|not valid JSON/ });
  });

  it(`a record longer than the documented limit (${MAX_LINE_BYTES / 1024 / 1024} MiB), sent in pieces`, async () => {
    const t = await target();
    const live = startCli(['write', '--config', t.config, '--catalog', t.catalog], { env: DEBUG_ENV });
    await live.write(lines(...PREFIX));
    await live.write(RECORD_HEAD);
    const MiB = Buffer.alloc(1024 * 1024, 'x');
    for (let sent = 0; sent <= MAX_LINE_BYTES; sent += MiB.length) if (!(await live.write(MiB))) break;
    await live.write('"}}}\n' + lines(...AFTER));
    live.child.stdin.end();
    await expectFailedAtBadLine(t, await live.done, { message: /longer than the limit/ });
  });
});

describe.concurrent('messages the connector does not use are skipped', () => {
  it('an unknown (future) message type: skipped with one WARN naming it', async () => {
    const t = await target();
    const future = JSON.stringify({ type: 'FUTURE_TYPE', future: { anything: [1, 2] } });
    const res = await write(t, lines(...PREFIX, future, future, ...AFTER));
    await expectCompleted(t, res);
    const warns = res.messages.filter((m) => m.type === 'LOG' && m.log.level === 'WARN');
    expect(warns).toHaveLength(1);
    expect(warns[0]!.log.message).toMatch(/FUTURE_TYPE.*line 9/);
  });

  it('LOG, CONTROL, SPEC and TRACE messages of the source: skipped silently', async () => {
    const t = await target();
    const others = [
      { type: 'LOG', log: { level: 'INFO', message: 'hello' } },
      { type: 'CONTROL', control: { type: 'CONNECTOR_CONFIG', emitted_at: 1, connectorConfig: { config: {} } } },
      { type: 'SPEC', spec: { connectionSpecification: {} } },
      { type: 'TRACE', trace: { type: 'ERROR', emitted_at: 1, error: { message: 'source trouble' } } },
      { type: 'TRACE', trace: { type: 'STREAM_STATUS', emitted_at: 1, stream_status: { stream_descriptor: { name: 'users' }, status: 'RUNNING' } } },
    ].map((m) => JSON.stringify(m));
    const res = await write(t, lines(...PREFIX, ...others, ...AFTER));
    await expectCompleted(t, res);
    expect(res.messages.filter((m) => m.type === 'LOG' && m.log.level === 'WARN')).toEqual([]);
  });
});

describe.concurrent('valid input of unusual shape', () => {
  it('blank lines and CRLF line endings', async () => {
    const t = await target();
    const res = await write(t, ['', ...PREFIX, '   ', ...AFTER, ''].join('\r\n') + '\r\n');
    await expectCompleted(t, res);
  });

  it("only the streams' COMPLETE statuses (a source with nothing new) is a valid transfer: complete manifests without files", async () => {
    const t = await target();
    const res = await write(t, lines(streamStatusLine('users'), streamStatusLine('orders')));
    expect(res.code).toBe(0);
    expect(res.messages.filter((m) => m.type === 'STATE' || m.type === 'TRACE')).toEqual([]);
    const { manifests } = await listedIds(t.bucket);
    expect(manifests.map((m) => [m.model, m.status, m.files.length]).sort()).toEqual([
      ['orders', 'complete', 0],
      ['users', 'complete', 0],
    ]);
    expect((await listKeys(t.bucket)).every((k) => k.startsWith('_manifests/'))).toBe(true);
  });

  it('deeply nested data (20,000 levels) is data: it lands as JSON text, whole', async () => {
    const t = await target();
    const depth = 20_000;
    const deep = '{"a":'.repeat(depth) + '"bottom"' + '}'.repeat(depth);
    const record = user(5).replace('"name":"user 5"', `"name":"user 5","deep":${deep}`);
    const res = await write(t, lines(...PREFIX, record, ...AFTER));
    await expectCompleted(t, res);
    const { manifests } = await listedIds(t.bucket);
    const rows: Record<string, unknown>[] = [];
    for (const f of manifests.find((m) => m.model === 'users')!.files) {
      const data = await getObject(t.bucket, f.key);
      const file = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
      rows.push(...(await parquetReadObjects({ file, compressors, columns: ['id', '_airbyte_additional_properties'] })));
    }
    const row = rows.find((r) => Number(r.id) === 5)!;
    let node: any = JSON.parse(row._airbyte_additional_properties as string).deep;
    let levels = 0;
    while (typeof node === 'object') {
      node = node.a;
      levels++;
    }
    expect([levels, node]).toEqual([depth, 'bottom']);
  });

  it('stream names that try path traversal land under their safe model names', async () => {
    const names = ['../x', 'a/b', '..', '/etc/passwd', 'ok'];
    const t = await target({ folder: 'exports' }, names);
    const input: string[] = [];
    for (const [i, name] of names.entries()) {
      input.push(recordLine(name, { id: i, name }), streamStateLine(name, `s-${i}`), streamStatusLine(name));
    }
    const res = await write(t, lines(...input));
    expect(res.code, JSON.stringify(traces(res))).toBe(0);
    expect(cursors(res)).toEqual(names.map((_, i) => `s-${i}`));
    const keys = await listKeys(t.bucket);
    for (const key of keys) {
      const segments = key.split('/');
      expect(
        segments.filter((s) => s === '..' || s === '.' || s === ''),
        key,
      ).toEqual([]);
      expect(key.startsWith('exports/') || key.startsWith('_manifests/'), key).toBe(true);
    }
    const { manifests, ids } = await listedIds(t.bucket);
    expect(manifests).toHaveLength(names.length);
    // each stream has its own model (no two names merged) holding its one row
    expect(new Set(manifests.map((m) => m.model)).size).toBe(names.length);
    for (const m of manifests) expect(ids.get(m.model)!.length).toBe(1);
    expect(manifests.map((m) => (m.stream as { name: string }).name).sort()).toEqual([...names].sort());
  });
});

describe.concurrent('a bad config or catalog fails before anything is read', () => {
  async function expectRefused(t: Target, res: CliResult, message: RegExp): Promise<void> {
    expect(res.code).toBe(1);
    const [trace, ...more] = traces(res);
    expect(more).toEqual([]);
    expect(trace!.trace.error.failure_type).toBe('config_error');
    expect(trace!.trace.error.message).toMatch(message);
    expect(res.messages.filter((m) => m.type === 'STATE')).toEqual([]);
    expect(await listKeys(t.bucket)).toEqual([]);
  }

  it('a missing catalog file', async () => {
    const t = await target();
    const res = await runCli(['write', '--config', t.config, '--catalog', '/nonexistent/catalog.json'], { stdin: lines(...PREFIX), env: DEBUG_ENV });
    await expectRefused(t, res, /catalog file \/nonexistent\/catalog\.json/);
  });

  it('an invalid catalog', async () => {
    const t = await target();
    t.catalog = tempJson('catalog.json', {
      streams: [{ stream: { name: 'users', json_schema: {} }, destination_sync_mode: 'update' }, { nope: true }],
    });
    const res = await write(t, lines(...PREFIX));
    await expectRefused(t, res, /catalog is invalid.*update.*streams\[1\]\.stream is required/);
  });

  it('a catalog file that is not JSON', async () => {
    const t = await target();
    t.catalog = tempJson('catalog.json', '{"streams": [');
    await expectRefused(t, await write(t, lines(...PREFIX)), /catalog file .* is not valid JSON/);
  });

  it('an invalid config, every problem listed, no secret quoted', async () => {
    const t = await target();
    const config = accessKeyConfig(server, t.bucket, { file_size_mb: 0, folder: '../up' });
    delete config.s3_bucket_region;
    t.config = tempJson('config.json', config);
    const res = await write(t, lines(...PREFIX));
    await expectRefused(t, res, /^The configuration is invalid \(3 problems\)/);
    // one expectation per problem: each named by its JSON path
    const message = traces(res)[0]!.trace.error.message as string;
    expect(message).toMatch(/s3_bucket_region: is required/);
    expect(message).toMatch(/file_size_mb: must be greater than or equal to 1/);
    expect(message).toMatch(/folder: must be a relative prefix without '\.\.' segments/);
  });

  it('an SSE-C config is refused, pointing to sse_s3 or sse_kms', async () => {
    const t = await target();
    const customerKey = Buffer.alloc(32, 'k').toString('base64');
    t.config = tempJson('config.json', accessKeyConfig(server, t.bucket, { encryption: { mode: 'sse_c', customer_key: customerKey } }));
    const res = await runCli(['write', '--config', t.config, '--catalog', t.catalog], {
      stdin: lines(...PREFIX),
      env: DEBUG_ENV,
      secrets: [customerKey],
    });
    await expectRefused(t, res, /SSE-C .*not supported.*sse_s3.*sse_kms/);
  });
});

describe('a 64 MiB record goes through', () => {
  const size = 64 * 1024 * 1024;
  // a text that is not all one character (a shifted copy would show), yet compresses well
  const unit = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-_';

  it.each(['parquet', 'jsonl', 'csv'])('as %s, whole (same SHA-256 read back), with the default memory budget', async (format) => {
    const t = await target({ format: { format_type: format } });
    const big = unit.repeat(size / unit.length);
    const digest = createHash('sha256').update(big).digest('hex');
    const res = await write(t, lines(...PREFIX, user(100, big), ...AFTER));
    expect(res.code, JSON.stringify(traces(res)).slice(0, 2000)).toBe(0);
    expect(cursors(res)).toEqual(['u-2', 'o-1', 'u-4']);
    const manifests = await readManifests(t.bucket, await manifestKeys(t.bucket));
    const users = manifests.find((m) => m.model === 'users')!;
    expect(users.record_count).toBe(6);
    let found = 0;
    for (const f of users.files) {
      const data = await getObject(t.bucket, f.key);
      expect(createHash('sha256').update(data).digest('hex')).toBe(f.sha256);
      if (format === 'parquet') {
        const file = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
        for (const row of await parquetReadObjects({ file, compressors, columns: ['id', 'name'] })) {
          if (Number(row.id) !== 100) continue;
          expect((row.name as string).length).toBe(size);
          expect(
            createHash('sha256')
              .update(row.name as string)
              .digest('hex'),
          ).toBe(digest);
          found++;
        }
      } else {
        // the value is plain text: it appears in the file whole, between its delimiters
        const at = data.indexOf(big);
        if (at < 0) continue;
        expect([data.subarray(at - 1, at).toString(), data.subarray(at + size, at + size + 1).toString()]).toEqual(
          format === 'csv' ? [',', ','] : ['"', '"'],
        );
        found++;
      }
    }
    expect(found).toBe(1);
  });

  it('and so do small records with the smallest memory budget the spec allows (64 MB)', async () => {
    const t = await target({ memory_budget_mb: 64 });
    await expectCompleted(t, await write(t, lines(...PREFIX, ...AFTER)));
  });
});
