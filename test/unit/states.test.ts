import { describe, expect, it } from 'vitest';
import { StateTracker } from '../../src/write/states.js';

const streamState = (name: string, n: number) =>
  `{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"${name}"},"stream_state":{"n":${n}}}}}`;
const globalState = (n: number) => `{"type":"STATE","state":{"type":"GLOBAL","global":{"shared_state":{"n":${n}},"stream_states":[]}}}`;
const countOf = (line: string) => JSON.parse(line).state.destinationStats.recordCount as number;

describe('StateTracker', () => {
  it('holds a STREAM state until its own stream is committed, not other streams', () => {
    const t = new StateTracker();
    t.onRecord('a');
    t.onRecord('b');
    t.onRecord('a');
    t.onState(streamState('a', 1), 4, 'STREAM', 'a', 0);
    expect(t.takeReady()).toEqual([]);
    t.onCommitted('a', 1);
    expect(t.takeReady()).toEqual([]);
    t.onCommitted('a', 2);
    const ready = t.takeReady();
    expect(ready).toHaveLength(1);
    expect(countOf(ready[0]!)).toBe(2);
  });

  it('echoes in input order: a ready state waits behind an earlier held one', () => {
    const t = new StateTracker();
    t.onRecord('a');
    t.onState(streamState('a', 1), 2, 'STREAM', 'a', 0);
    t.onRecord('b');
    t.onState(streamState('b', 1), 4, 'STREAM', 'b', 0);
    t.onCommitted('b', 1);
    expect(t.takeReady()).toEqual([]);
    t.onCommitted('a', 1);
    const ready = t.takeReady();
    expect(ready.map((l) => JSON.parse(l).state.stream.stream_descriptor.name)).toEqual(['a', 'b']);
    expect(t.takeReady()).toEqual([]);
  });

  it('a GLOBAL state waits for every stream and counts records of all streams since the previous one', () => {
    const t = new StateTracker();
    t.onRecord('a');
    t.onRecord('b');
    t.onRecord('b');
    t.onState(globalState(1), 4, 'GLOBAL', undefined, 0);
    t.onRecord('a');
    t.onState(globalState(2), 6, 'GLOBAL', undefined, 0);
    t.onCommitted('a', 2);
    expect(t.takeReady()).toEqual([]);
    t.onCommitted('b', 2);
    const ready = t.takeReady();
    expect(ready.map(countOf)).toEqual([3, 1]);
  });

  it('a LEGACY state waits for every stream, like a GLOBAL one', () => {
    const t = new StateTracker();
    t.onRecord('a');
    t.onRecord('b');
    t.onState('{"type":"STATE","state":{"data":{"n":1}}}', 3, 'LEGACY', undefined, 0);
    t.onCommitted('a', 1);
    expect(t.takeReady()).toEqual([]);
    t.onCommitted('b', 1);
    expect(t.takeReady().map(countOf)).toEqual([2]);
  });

  it('counts STREAM records since the previous echoed state of the same stream', () => {
    const t = new StateTracker();
    for (let i = 0; i < 3; i++) t.onRecord('a');
    t.onState(streamState('a', 1), 4, 'STREAM', 'a', 0);
    t.onRecord('b');
    t.onState(streamState('b', 1), 6, 'STREAM', 'b', 0);
    t.onRecord('a');
    t.onState(streamState('a', 2), 8, 'STREAM', 'a', 0);
    t.onCommitted('a', 4);
    t.onCommitted('b', 1);
    expect(t.takeReady().map(countOf)).toEqual([3, 1, 1]);
  });

  it('a state with no records before it is ready at once', () => {
    const t = new StateTracker();
    t.onState(streamState('a', 0), 1, 'STREAM', 'a', 0);
    expect(t.takeReady().map(countOf)).toEqual([0]);
  });

  it('neededByHeld names the records each held state still waits on', () => {
    const t = new StateTracker();
    t.onRecord('a');
    t.onRecord('a');
    t.onState(streamState('a', 1), 3, 'STREAM', 'a', 0);
    t.onRecord('b');
    t.onState(globalState(1), 5, 'GLOBAL', undefined, 0);
    t.onCommitted('a', 1);
    expect([...t.neededByHeld()]).toEqual([
      ['a', 2],
      ['b', 1],
    ]);
  });

  it('neededByHeld(receivedBy) names only what the states received by then wait on', () => {
    const t = new StateTracker();
    t.onRecord('a');
    t.onState(streamState('a', 1), 2, 'STREAM', 'a', 1_000);
    t.onRecord('a');
    t.onRecord('b');
    t.onState(globalState(1), 5, 'GLOBAL', undefined, 2_000);
    expect([...t.neededByHeld(1_500)]).toEqual([['a', 1]]);
    expect([...t.neededByHeld(2_000)]).toEqual([
      ['a', 2],
      ['b', 1],
    ]);
    expect([...t.neededByHeld(999)]).toEqual([]);
  });

  it('refuses a committed count that goes backwards', () => {
    const t = new StateTracker();
    t.onCommitted('a', 2);
    expect(() => t.onCommitted('a', 1)).toThrow(/backwards/);
  });
});

describe('StateTracker committed counts', () => {
  const parsed = (line: string) => JSON.parse(line).state as Record<string, any>;
  it('echoes committedRecordsCount and committedBytesCount with the counting rules of recordCount', () => {
    const t = new StateTracker();
    t.onRecord('a', 10);
    t.onRecord('b', 20);
    t.onState(streamState('a', 1), 3, 'STREAM', 'a', 0);
    t.onRecord('a', 11);
    t.onState(globalState(1), 5, 'GLOBAL', undefined, 0);
    t.onRecord('a', 12);
    t.onState(streamState('a', 2), 7, 'STREAM', 'a', 0);
    t.onCommitted('a', 3);
    t.onCommitted('b', 1);
    const ready = t.takeReady().map(parsed);
    expect(ready.map((s) => [s.destinationStats.recordCount, s.committedRecordsCount, s.committedBytesCount])).toEqual([
      [1, 1, 10], // a's records before it
      [3, 3, 41], // every record since the start
      [1, 1, 12], // a's records since the GLOBAL state
    ]);
  });

  it('knows what its held states weigh, and frees it when they are echoed', () => {
    const t = new StateTracker();
    for (let s = 0; s < 100; s++) t.onRecord(`s${s}`, 10);
    t.onState(globalState(1), 101, 'GLOBAL', undefined, 0);
    // the raw text and a watermark (and a byte mark) per stream
    expect(t.heldBytes).toBeGreaterThan(2 * globalState(1).length + 100 * 2 * 50);
    for (let s = 0; s < 100; s++) t.onCommitted(`s${s}`, 1);
    expect(t.takeReady()).toHaveLength(1);
    expect(t.heldBytes).toBe(0);
  });
});
