// `verify` on radosgw, through the built connector: an export written by `write` passes; then a
// deleted, a truncated and an overwritten object, a manifest that lists a key that does not
// exist and an object under the data prefix that no manifest lists are each reported (exit 1);
// and the data object a `write` SIGKILLed between a file's upload and its manifest's rewrite
// leaves behind is reported as unlisted. verify deletes nothing.

import { describe, expect, it } from 'vitest';
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { runCli, startCli, tempJson } from './support/cli.js';
import { FaultProxy } from './support/fault-proxy.js';
import { accessKeyConfig, catalog, recordLine, streamStateLine, streamStatusLine } from './support/messages.js';
import { runText } from './support/operator-cli.js';
import { getObject, listKeys } from './support/read-back.js';
import { adminClient, freshBucket, s3Server } from './support/server.js';

const server = s3Server();

function syncInput(streams: string[], rows = 40): string {
  const lines: string[] = [];
  for (const s of streams) {
    for (let i = 0; i < rows; i++) lines.push(recordLine(s, { id: i, name: `${s}-${i}` }, 1_700_000_000_000 + i));
    lines.push(streamStateLine(s, 'c1'), streamStatusLine(s));
  }
  for (const s of streams) lines.push(streamStatusLine(s));
  return lines.join('\n') + '\n';
}

async function write(configPath: string, streams: string[]): Promise<void> {
  const cat = tempJson('catalog.json', catalog(streams.map((name) => ({ name }))));
  const run = await runCli(['write', '--config', configPath, '--catalog', cat], { stdin: syncInput(streams) });
  expect(run.code, run.stderr).toBe(0);
}

async function verify(configPath: string, ...flags: string[]): Promise<{ code: number | null; report: any; stderr: string }> {
  const run = await runText(['verify', '--config', configPath, '--json', ...flags]);
  return { code: run.code, report: JSON.parse(run.stdout), stderr: run.stderr };
}

/** Every problem of a report: key → kind. */
function problems(report: any): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of report.models) for (const t of m.transfers) for (const p of t.problems) out[p.key] = p.problem;
  return out;
}

describe('verify on radosgw', () => {
  it('passes an intact export, then reports a deleted, truncated and overwritten object, a manifest listing a missing key and an unlisted object', async () => {
    const bucket = await freshBucket('verify');
    const configPath = tempJson('config.json', accessKeyConfig(server, bucket, { folder: 'exports' }));
    await write(configPath, ['users', 'orders', 'events']);
    await write(configPath, ['users']);

    const intact = await verify(configPath);
    expect(intact.code, intact.stderr).toBe(0);
    expect(intact.report.ok).toBe(true);
    expect(intact.report.models.map((m: any) => [m.model, m.transfers.map((t: any) => t.status)])).toEqual([
      ['events', ['complete']],
      ['orders', ['complete']],
      ['users', ['complete', 'complete']],
    ]);
    expect(intact.report.checked.files).toBe(4);
    expect(intact.report.unlisted).toEqual({ count: 0, bytes: 0, objects: [] });
    const text = await runText(['verify', '--config', configPath]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('OK: 4 listed files');

    // The damage, one kind per object.
    const admin = adminClient();
    const manifestKeys = await listKeys(bucket, '_manifests/');
    const manifests = await Promise.all(manifestKeys.map(async (key) => ({ key, m: JSON.parse((await getObject(bucket, key)).toString('utf8')) })));
    const fileOf = (model: string, nth = 0): any =>
      manifests.filter(({ m }) => m.model === model).sort((a, b) => a.m.transfer_id.localeCompare(b.m.transfer_id))[nth]!.m.files[0];
    const deleted = fileOf('users', 0).key;
    await admin.send(new DeleteObjectCommand({ Bucket: bucket, Key: deleted }));
    const truncated = fileOf('orders').key;
    const truncatedBody = (await getObject(bucket, truncated)).subarray(0, 100);
    await admin.send(new PutObjectCommand({ Bucket: bucket, Key: truncated, Body: truncatedBody }));
    const overwritten = fileOf('events').key;
    const altered = Buffer.from(await getObject(bucket, overwritten));
    const middle = altered.length >> 1;
    altered[middle] = altered[middle]! ^ 0xff;
    await admin.send(new PutObjectCommand({ Bucket: bucket, Key: overwritten, Body: altered }));
    const second = manifests.filter(({ m }) => m.model === 'users').sort((a, b) => b.m.transfer_id.localeCompare(a.m.transfer_id))[0]!;
    const phantom = second.m.files[0].key.replace('part-00000_', 'part-00007_');
    second.m.files.push({ ...second.m.files[0], key: phantom });
    await admin.send(new PutObjectCommand({ Bucket: bucket, Key: second.key, Body: JSON.stringify(second.m) + '\n' }));
    const extra = 'exports/orders/dt=2026-01-01/part-00000_20260101T000000000Z.parquet';
    await admin.send(new PutObjectCommand({ Bucket: bucket, Key: extra, Body: Buffer.alloc(123, 1) }));
    admin.destroy();
    const before = await listKeys(bucket);

    const damaged = await verify(configPath);
    expect(damaged.code).toBe(1);
    expect(damaged.report.ok).toBe(false);
    expect(problems(damaged.report)).toEqual({ [deleted]: 'missing', [truncated]: 'size', [overwritten]: 'sha256', [phantom]: 'missing' });
    expect(damaged.report.unlisted).toEqual({ count: 1, bytes: 123, objects: [{ key: extra, bytes: 123 }] });
    const damagedText = await runText(['verify', '--config', configPath]);
    expect(damagedText.code).toBe(1);
    for (const key of [deleted, truncated, overwritten, phantom, extra]) expect(damagedText.stdout).toContain(key);
    expect(damagedText.stdout).toContain('Data objects that no manifest lists: 1 (123 B)');
    expect(damagedText.stdout).toMatch(/PROBLEMS: 4 of the 5 listed files/);

    // One model; from a date (the extra object's dt=2026-01-01 is before the transfers').
    const orders = await verify(configPath, '--model', 'orders');
    expect(orders.code).toBe(1);
    expect(problems(orders.report)).toEqual({ [truncated]: 'size' });
    expect(orders.report.unlisted.count).toBe(1);
    const today = manifests[0]!.m.transfer_date;
    const recent = await verify(configPath, '--since', today);
    expect(Object.keys(problems(recent.report))).toHaveLength(4);
    expect(recent.report.unlisted.count).toBe(0);
    const none = await verify(configPath, '--since', '2999-01-01');
    expect(none.code).toBe(0);
    expect(none.report.checked.files).toBe(0);

    // verify deleted nothing.
    expect(await listKeys(bucket)).toEqual(before);
  });

  it('reports the data object that a write SIGKILLed before its manifest was rewritten left behind', async () => {
    const bucket = await freshBucket('verify-killed');
    // The manifest's PutObject is held (and would be refused): the kill lands after the data file's upload.
    const proxy = await new FaultProxy(server.endpoint).start();
    proxy.rules = [{ operation: 'PutObject', path: /\/_manifests\//, fault: 'denied403', rate: 1, delayMs: 60_000 }];
    let manifestHeld!: () => void;
    const held = new Promise<void>((resolve) => (manifestHeld = resolve));
    proxy.onRequest = (op, req) => {
      if (op === 'PutObject' && decodeURIComponent(req.url ?? '').includes('/_manifests/')) manifestHeld();
    };
    try {
      const viaProxy = tempJson('config.json', accessKeyConfig({ ...server, endpoint: proxy.endpoint }, bucket, { folder: 'exports' }));
      const cat = tempJson('catalog.json', catalog([{ name: 'users' }]));
      const live = startCli(['write', '--config', viaProxy, '--catalog', cat], { allowPartialLastLine: true });
      await live.write(syncInput(['users']));
      live.child.stdin.end();
      await held;
      live.child.kill('SIGKILL');
      const killed = await live.done;
      expect(killed.signal).toBe('SIGKILL');
    } finally {
      await proxy.stop();
    }
    const left = (await listKeys(bucket)).filter((k) => k.endsWith('.parquet'));
    expect(left).toHaveLength(1);

    const configPath = tempJson('config.json', accessKeyConfig(server, bucket, { folder: 'exports' }));
    const run = await verify(configPath);
    expect(run.code, run.stderr).toBe(0); // nothing listed is damaged: there is no manifest at all
    expect(run.report.models).toEqual([]);
    expect(run.report.unlisted.count).toBe(1);
    expect(run.report.unlisted.objects[0].key).toBe(left[0]);
    expect(run.report.unlisted.bytes).toBeGreaterThan(0);
    const text = await runText(['verify', '--config', configPath]);
    expect(text.stdout).toContain('Data objects that no manifest lists: 1');
    expect(text.stdout).toContain(left[0]!);
    expect(text.stdout).toContain('No lifecycle rule removes them');
  });
});
