import { describe, expect, it } from 'vitest';
import { spliceCommittedCounts, spliceRecordCount } from '../../src/write/state-json.js';

describe('spliceRecordCount', () => {
  const cases: [string, string, number, string][] = [
    [
      'adds destinationStats to a STREAM state',
      '{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"a"},"stream_state":{"c":1}}}}',
      5,
      '{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"a"},"stream_state":{"c":1}},"destinationStats":{"recordCount":5.0}}}',
    ],
    [
      'keeps a big-integer cursor byte for byte',
      '{"type":"STATE","state":{"type":"LEGACY","data":{"cursor":123456789012345678901234567890}}}',
      0,
      '{"type":"STATE","state":{"type":"LEGACY","data":{"cursor":123456789012345678901234567890},"destinationStats":{"recordCount":0.0}}}',
    ],
    [
      'replaces an existing recordCount and keeps its siblings',
      '{"type":"STATE","state":{"destinationStats":{"rejectedRecordCount":1.0,"recordCount":99.0},"type":"GLOBAL"}}',
      7,
      '{"type":"STATE","state":{"destinationStats":{"rejectedRecordCount":1.0,"recordCount":7.0},"type":"GLOBAL"}}',
    ],
    [
      'adds recordCount to an empty destinationStats',
      '{"state":{"destinationStats":{}},"type":"STATE"}',
      3,
      '{"state":{"destinationStats":{"recordCount":3.0}},"type":"STATE"}',
    ],
    ['handles an empty state object', '{"type":"STATE","state":{}}', 2, '{"type":"STATE","state":{"destinationStats":{"recordCount":2.0}}}'],
    [
      'is not fooled by braces and quotes inside strings, or by whitespace',
      '{ "type" : "STATE" , "state" : { "data" : { "k" : "}\\"{ destinationStats" } } }',
      1,
      '{ "type" : "STATE" , "state" : { "data" : { "k" : "}\\"{ destinationStats" } ,"destinationStats":{"recordCount":1.0}} }',
    ],
    [
      'ignores a nested destinationStats that is not the state member',
      '{"type":"STATE","state":{"data":{"destinationStats":{"recordCount":9}}}}',
      4,
      '{"type":"STATE","state":{"data":{"destinationStats":{"recordCount":9}},"destinationStats":{"recordCount":4.0}}}',
    ],
  ];
  it.each(cases)('%s', (_name, input, count, expected) => {
    const out = spliceRecordCount(input, count);
    expect(out).toBe(expected);
    expect(() => JSON.parse(out)).not.toThrow();
  });

  it('rejects a STATE message without a state object', () => {
    expect(() => spliceRecordCount('{"type":"STATE","state":[1]}', 1)).toThrow(/state object/);
  });
});

describe('spliceCommittedCounts', () => {
  it('sets destinationStats.recordCount and, beside it, the integers committedRecordsCount and committedBytesCount', () => {
    const raw =
      '{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"a"},"stream_state":{"c":123456789012345678901234567890}}}}';
    expect(spliceCommittedCounts(raw, { records: 3, bytes: 420 })).toBe(
      '{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"a"},"stream_state":{"c":123456789012345678901234567890}},"destinationStats":{"recordCount":3.0},"committedRecordsCount":3,"committedBytesCount":420}}',
    );
  });

  it('replaces counts the source already put there', () => {
    const raw = '{"type":"STATE","state":{"committedBytesCount":1,"type":"GLOBAL","committedRecordsCount":9}}';
    expect(spliceCommittedCounts(raw, { records: 0, bytes: 0 })).toBe(
      '{"type":"STATE","state":{"committedBytesCount":0,"type":"GLOBAL","committedRecordsCount":0,"destinationStats":{"recordCount":0.0}}}',
    );
  });
});
