import { describe, expect, it } from 'vitest';
import { ConfigError, SystemError } from '../../src/errors.js';
import { dataKey, filePart, manifestKey, manifestsPrefix, MAX_FOLDER_BYTES, MAX_KEY_BYTES } from '../../src/layout/keys.js';
import { modelName } from '../../src/layout/model-name.js';
import { newTransfer } from '../../src/layout/transfer.js';

const ID = '018f3140-7400-7000-8000-000000000000';
const base = {
  folder: 'exports/product',
  model: 'users',
  transferDate: '2024-05-01',
  part: 0,
  transferTimestamp: '20240501T235959999Z',
  extension: 'parquet',
};

describe('dataKey', () => {
  it.each([
    [{}, 'exports/product/users/dt=2024-05-01/part-00000_20240501T235959999Z.parquet'],
    [{ folder: '' }, 'users/dt=2024-05-01/part-00000_20240501T235959999Z.parquet'],
    [{ folder: 'exports/' }, 'exports/users/dt=2024-05-01/part-00000_20240501T235959999Z.parquet'],
    [{ part: 1, extension: 'csv' }, 'exports/product/users/dt=2024-05-01/part-00001_20240501T235959999Z.csv'],
    [{ part: 12345, extension: 'csv.gz' }, 'exports/product/users/dt=2024-05-01/part-12345_20240501T235959999Z.csv.gz'],
    [{ part: 100000, extension: 'jsonl' }, 'exports/product/users/dt=2024-05-01/part-100000_20240501T235959999Z.jsonl'],
    [{ model: 'order_x20items', extension: 'jsonl.gz' }, 'exports/product/order_x20items/dt=2024-05-01/part-00000_20240501T235959999Z.jsonl.gz'],
    [{ model: 'billing/users' }, 'exports/product/billing/users/dt=2024-05-01/part-00000_20240501T235959999Z.parquet'],
  ])('with %j is %s', (change, expected) => {
    expect(dataKey({ ...base, ...change })).toBe(expected);
  });

  it.each([
    ['a model that the rule never makes', { model: '../users' }],
    ['a model of three segments', { model: 'a/b/c' }],
    ['a model with an empty segment', { model: 'a//b' }],
    ['a model ending in a slash', { model: 'a/' }],
    ['a model whose namespace segment is ..', { model: '../b' }],
    ['an empty model', { model: '' }],
    ['a malformed date', { transferDate: '2024-13-01' }],
    ['a date-time instead of a date', { transferDate: '2024-05-01T00:00:00Z' }],
    ['a malformed timestamp', { transferTimestamp: '2024-05-01T23:59:59.999Z' }],
    ['an unknown extension', { extension: 'exe' }],
    ['an extension with its dot', { extension: '.parquet' }],
    ['a negative part', { part: -1 }],
    ['a fractional part', { part: 1.5 }],
    ['a folder with a leading slash', { folder: '/exports' }],
    ['a folder with a .. segment', { folder: 'exports/../other' }],
  ])('refuses %s', (_what, change) => {
    expect(() => dataKey({ ...base, ...change })).toThrow(SystemError);
  });
});

describe('manifestKey', () => {
  const m = { location: 'bucket_root' as const, folder: 'exports/product', model: 'users', transferDate: '2024-05-01', transferId: ID };

  it('is at the bucket root by default, whatever the folder', () => {
    expect(manifestKey(m)).toBe(`_manifests/users/dt=2024-05-01/manifest_${ID}.json`);
    expect(manifestKey({ ...m, model: 'billing/users' })).toBe(`_manifests/billing/users/dt=2024-05-01/manifest_${ID}.json`);
    expect(manifestKey({ ...m, folder: '' })).toBe(`_manifests/users/dt=2024-05-01/manifest_${ID}.json`);
  });

  it('is under the folder when manifest_location is folder', () => {
    expect(manifestKey({ ...m, location: 'folder' })).toBe(`exports/product/_manifests/users/dt=2024-05-01/manifest_${ID}.json`);
    expect(manifestKey({ ...m, location: 'folder', folder: '' })).toBe(`_manifests/users/dt=2024-05-01/manifest_${ID}.json`);
  });

  it('refuses an id that is not a UUIDv7 and an unknown location', () => {
    expect(() => manifestKey({ ...m, transferId: 'not-an-id' })).toThrow(SystemError);
    expect(() => manifestKey({ ...m, transferId: '6ba7b810-9dad-11d1-80b4-00c04fd430c8' })).toThrow(SystemError);
    expect(() => manifestKey({ ...m, location: 'elsewhere' as 'folder' })).toThrow(SystemError);
  });

  it('matches the prefix that manifestsPrefix gives', () => {
    for (const location of ['bucket_root', 'folder'] as const) {
      for (const folder of ['', 'exports/product', 'exports/']) {
        expect(manifestKey({ ...m, location, folder }).startsWith(manifestsPrefix(location, folder))).toBe(true);
      }
    }
    expect(manifestsPrefix('bucket_root', 'x')).toBe('_manifests/');
    expect(manifestsPrefix('folder', 'x/')).toBe('x/_manifests/');
  });
});

describe('key length', () => {
  it("stays within S3's 1024 bytes for the longest model under the longest folder", () => {
    const folder = 'é'.repeat(MAX_FOLDER_BYTES / 2); // two bytes each
    expect(Buffer.byteLength(folder)).toBe(MAX_FOLDER_BYTES);
    const model = modelName('x'.repeat(1000));
    const data = dataKey({ ...base, folder, model, part: 999999, extension: 'jsonl.gz' });
    const manifest = manifestKey({ location: 'folder', folder, model, transferDate: '2024-05-01', transferId: ID });
    expect(Buffer.byteLength(data)).toBeLessThanOrEqual(MAX_KEY_BYTES);
    expect(Buffer.byteLength(manifest)).toBeLessThanOrEqual(MAX_KEY_BYTES);
  });

  it('raises a ConfigError about the folder when a key would be longer', () => {
    const folder = 'f'.repeat(900);
    expect(() => manifestKey({ location: 'folder', folder, model: modelName('x'.repeat(1000)), transferDate: '2024-05-01', transferId: ID })).toThrow(
      ConfigError,
    );
    expect(() => manifestKey({ location: 'folder', folder, model: modelName('x'.repeat(1000)), transferDate: '2024-05-01', transferId: ID })).toThrow(
      /folder of at most 700 bytes/,
    );
  });
});

describe('keys of one transfer', () => {
  it("put a transfer started a millisecond before midnight UTC in that day's partition", () => {
    const t = newTransfer(() => Date.parse('2024-05-01T23:59:59.999Z'));
    const model = modelName('order items');
    expect(
      dataKey({ folder: 'exp', model, transferDate: t.transferDate, part: 2, transferTimestamp: t.transferTimestamp, extension: 'parquet' }),
    ).toBe('exp/order_x20items/dt=2024-05-01/part-00002_20240501T235959999Z.parquet');
    expect(manifestKey({ location: 'bucket_root', folder: 'exp', model, transferDate: t.transferDate, transferId: t.transferId })).toBe(
      `_manifests/order_x20items/dt=2024-05-01/manifest_${t.transferId}.json`,
    );
  });

  it('numbers file parts with five digits at least', () => {
    expect([0, 7, 99999, 100000].map(filePart)).toEqual(['part-00000', 'part-00007', 'part-99999', 'part-100000']);
  });
});
