import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ConfiguredAirbyteStream } from '../../src/protocol/messages.js';
import { finalSummary, progressReport } from '../../src/write/progress.js';
import { StreamSink } from '../../src/write/sink.js';
import { StateTracker } from '../../src/write/states.js';
import { CopyConverter } from '../support/fakes.js';

const dir = mkdtempSync(join(tmpdir(), 'progress-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function sink(name: string, index = 0): StreamSink {
  const configured = {
    stream: { name, json_schema: {}, supported_sync_modes: ['full_refresh'] },
    sync_mode: 'full_refresh',
    destination_sync_mode: 'append',
  } as ConfiguredAirbyteStream;
  return new StreamSink(name, configured, name, new CopyConverter(), dir, index);
}

describe('progress', () => {
  it('reports records and bytes received beside records, files and bytes committed, per active stream', () => {
    const tracker = new StateTracker();
    const a = sink('users', 2);
    const idle = sink('idle', 3);
    const line = Buffer.alloc(256 * 1024 - 1, 0x61); // a spool line is its bytes and a newline
    for (let i = 0; i < 5; i++) {
      tracker.onRecord('users');
      a.openSpool(0).append(line);
    }
    a.committedRecords = 3;
    a.files.push({ key: 'k', records: 3, bytes: 3 * 1024 * 1024, sha256: 'x', minExtractedAt: '', maxExtractedAt: '' });
    expect(progressReport([a, idle], tracker, 2)).toBe('Progress: users: 5 records (1.3 MB) received, 3 committed in 1 file (3.0 MB); 2 states held');
    a.files.push({ key: 'k2', records: 1, bytes: 1024 * 1024, sha256: 'x', minExtractedAt: '', maxExtractedAt: '' });
    expect(progressReport([a], tracker, 1)).toBe('Progress: users: 5 records (1.3 MB) received, 3 committed in 2 files (4.0 MB); 1 state held');
  });

  it('counts the bytes of cut spools, and of dropped tails, as received', async () => {
    const a = sink('cut', 1);
    const line = Buffer.alloc(1024 * 1024 - 1, 0x61);
    for (let i = 0; i < 3; i++) a.openSpool(0).append(line);
    const mark = a.spool!.mark;
    a.openSpool(0).append(line);
    const first = a.cut('size', mark, true)!; // 3 MiB cut, 1 MiB tail kept open
    expect(a.receivedBytes).toBe(4 * 1024 * 1024);
    a.openSpool(0).append(line);
    const second = a.cut('failure', { bytes: 1024 * 1024, records: 1 }, false)!; // a 1 MiB tail dropped
    expect(a.receivedBytes).toBe(5 * 1024 * 1024);
    expect(a.spool).toBeUndefined();
    for (const job of [first, second]) {
      await job.ready;
      await job.spool.remove();
    }
  });

  it('says nothing before the first record', () => {
    expect(progressReport([sink('a')], new StateTracker(), 0)).toBeUndefined();
  });

  it('summarises every catalog stream with its manifest status, idle ones too', () => {
    const lines = finalSummary([sink('a'), sink('b')], new StateTracker(), (s) => (s.model === 'a' ? 'complete' : 'incomplete'));
    expect(lines).toEqual([
      'Stream a: 0 records (0.0 MB) received, 0 committed in 0 files (0.0 MB); manifest complete',
      'Stream b: 0 records (0.0 MB) received, 0 committed in 0 files (0.0 MB); manifest incomplete',
    ]);
  });
});
