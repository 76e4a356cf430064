import { describe, expect, it } from 'vitest';
import type { ConfiguredAirbyteStream } from '../../src/protocol/messages.js';
import { finalSummary, progressReport } from '../../src/write/progress.js';
import { StreamSink } from '../../src/write/sink.js';
import { StateTracker } from '../../src/write/states.js';
import { CopyConverter } from '../support/fakes.js';

function sink(name: string): StreamSink {
  const configured = { stream: { name, json_schema: {}, supported_sync_modes: ['full_refresh'] }, sync_mode: 'full_refresh', destination_sync_mode: 'append' } as ConfiguredAirbyteStream;
  return new StreamSink(name, configured, name, new CopyConverter(), '/tmp', 0);
}

describe('progress', () => {
  it('reports records received and committed, files and MB per active stream', () => {
    const tracker = new StateTracker();
    const a = sink('users');
    const idle = sink('idle');
    for (let i = 0; i < 5; i++) tracker.onRecord('users');
    a.committedRecords = 3;
    a.files.push({ key: 'k', records: 3, bytes: 3 * 1024 * 1024, sha256: 'x', minExtractedAt: '', maxExtractedAt: '' });
    expect(progressReport([a, idle], tracker, 2)).toBe('Progress: users: 5 records received, 3 committed in 1 files (3.0 MB); 2 states held');
  });

  it('says nothing before the first record', () => {
    expect(progressReport([sink('a')], new StateTracker(), 0)).toBeUndefined();
  });

  it('summarises every catalog stream with its manifest status, idle ones too', () => {
    const lines = finalSummary([sink('a'), sink('b')], new StateTracker(), (s) => (s.model === 'a' ? 'complete' : 'incomplete'));
    expect(lines).toEqual([
      'Stream a: 0 records received, 0 committed in 0 files (0.0 MB); manifest status complete',
      'Stream b: 0 records received, 0 committed in 0 files (0.0 MB); manifest status incomplete',
    ]);
  });
});
