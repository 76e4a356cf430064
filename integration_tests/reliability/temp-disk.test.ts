// The temp-disk default under a small TMPDIR (issue 10 item 5): without temp_disk_budget_mb the
// budget is 80% of the free space of TMPDIR's file system (docs/operations.md), so a small file
// system means smaller files cut sooner, never ENOSPC. TMPDIR is a tmpfs of 160 MiB mounted for the
// test (root only; skipped otherwise), below the 256 MB the default used to be floored at.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, tempJson } from '../support/cli.js';
import {
  cleanedBuckets,
  echoedTokens,
  expectNoDuplicateIds,
  manifestKeys,
  multipartUploads,
  readListedFiles,
  readManifests,
} from '../support/invariants.js';
import { accessKeyConfig } from '../support/messages.js';
import { s3Server } from '../support/server.js';
import { makeWorkload, workloadCatalog } from '../support/workload.js';

const server = s3Server();
const freshBucket = cleanedBuckets();
const MiB = 1024 * 1024;
// The case. On 64 MiB the pipeline can still overshoot its 51 MiB budget by more than the
// 13 MiB left (a converted file beside its spool and the records of the next state: see
// docs/reliability.md, "Known limits"), so that size fails now and then.
const TMPFS_MIB = 160;

/** A tmpfs of `mib` MiB on a fresh directory, or undefined when this process may not mount. */
function smallFileSystem(mib: number): string | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'dse-small-tmp-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${mib}m`, 'tmpfs', dir], { stdio: 'ignore' });
    return dir;
  } catch {
    rmSync(dir, { recursive: true, force: true });
    return undefined;
  }
}

const mounted = process.getuid?.() === 0 ? smallFileSystem(TMPFS_MIB) : undefined;
afterAll(() => {
  if (!mounted) return;
  execFileSync('umount', [mounted], { stdio: 'ignore' });
  rmSync(mounted, { recursive: true, force: true });
});

describe.skipIf(!mounted)(`write with TMPDIR on a ${TMPFS_MIB} MiB file system and no temp_disk_budget_mb`, () => {
  it('stays within the free space: every row lands, every state is echoed, no ENOSPC', async () => {
    const dir = mounted!;
    const streams = ['big'];
    // ~200 MB of hard-to-compress records: more than the file system holds
    const records = 200_000;
    const work = makeWorkload({ streams, recordsPerStream: records, payloadChars: 1000, stateEvery: 8000, seed: 21 });
    const bucket = await freshBucket('rel-small-tmp');
    const config = tempJson('config.json', accessKeyConfig(server, bucket));
    // the least free space seen while the sync runs
    const free = (): number => Number(statfsSync(dir).bavail) * Number(statfsSync(dir).bsize);
    let leastFree = free();
    const sampler = setInterval(() => {
      leastFree = Math.min(leastFree, free());
    }, 50);
    const started = Date.now();
    const res = await runCli(['write', '--config', config, '--catalog', tempJson('catalog.json', workloadCatalog(streams))], {
      stdin: work.text(),
      env: { TMPDIR: dir, DESTINATION_S3_EXPORT_DEBUG: '1' },
    }).finally(() => clearInterval(sampler));
    const seconds = (Date.now() - started) / 1000;
    expect(res.code, res.lines.filter((l) => l.includes('TRACE')).join('\n') + res.stderr.slice(-2000)).toBe(0);
    expect(res.stderr).not.toContain('ENOSPC');
    expect(echoedTokens(res.messages)).toEqual(work.states.map((s) => s.token));
    const manifests = await readManifests(bucket, await manifestKeys(bucket));
    const ids = await readListedFiles(bucket, manifests);
    expectNoDuplicateIds(ids);
    expect(ids.get('big')!.length).toBe(records);
    expect(await multipartUploads(bucket)).toEqual([]);
    const files = manifests.reduce((n, m) => n + m.files.length, 0);
    console.info(
      `[reliability] TMPDIR on ${TMPFS_MIB} MiB tmpfs: ${(work.text().length / MiB).toFixed(1)} MiB of input in ${files} files, ` +
        `least free ${(leastFree / MiB).toFixed(1)} MiB, ${echoedTokens(res.messages).length} states echoed, ${seconds.toFixed(1)} s`,
    );
  });
});
