import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { dataKey, manifestKey, MAX_FOLDER_BYTES, MAX_KEY_BYTES } from '../../src/layout/keys.js';
import { assertDistinctLocations, findLocationClashes, layoutPrefixes, longestKeyBytes, type LayoutSettings } from '../../src/layout/locations.js';
import { modelForStream } from '../../src/layout/model-name.js';
import type { ConfiguredAirbyteStream } from '../../src/protocol/messages.js';
import { configuredStream } from './support/catalog.js';

const ID = '018f3140-7400-7000-8000-000000000000';
const settings: LayoutSettings = { folder: 'exports/shop', manifestLocation: 'bucket_root', namespaceLayout: 'by_namespace' };

function messageOf(fn: () => void): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('no ConfigError');
}

describe('layoutPrefixes', () => {
  it('gives the prefixes of a config', () => {
    expect(layoutPrefixes(settings)).toEqual({ data: 'exports/shop/', manifests: '_manifests/' });
    expect(layoutPrefixes({ ...settings, manifestLocation: 'folder' })).toEqual({ data: 'exports/shop/', manifests: 'exports/shop/_manifests/' });
    expect(layoutPrefixes({ ...settings, folder: '' })).toEqual({ data: '', manifests: '_manifests/' });
    expect(layoutPrefixes({ ...settings, folder: '', manifestLocation: 'folder' })).toEqual({ data: '', manifests: '_manifests/' });
    expect(layoutPrefixes({ ...settings, folder: 'x/' })).toEqual({ data: 'x/', manifests: '_manifests/' });
  });

  it('gives the prefixes of one stream, namespaced or flat', () => {
    expect(layoutPrefixes(settings, { name: 'users', namespace: 'billing' })).toEqual({
      data: 'exports/shop/billing/users/',
      manifests: '_manifests/billing/users/',
    });
    expect(layoutPrefixes(settings, { name: 'users' })).toEqual({ data: 'exports/shop/users/', manifests: '_manifests/users/' });
    expect(layoutPrefixes({ ...settings, namespaceLayout: 'flat' }, { name: 'users', namespace: 'billing' })).toEqual({
      data: 'exports/shop/users/',
      manifests: '_manifests/users/',
    });
    expect(layoutPrefixes(settings, { name: 'users', namespace: 'billing', destinationObjectName: 'crm users' })).toEqual({
      data: 'exports/shop/billing/crm_x20users/',
      manifests: '_manifests/billing/crm_x20users/',
    });
  });

  it('is where write puts every key of the stream', () => {
    for (const manifestLocation of ['bucket_root', 'folder'] as const) {
      for (const namespaceLayout of ['by_namespace', 'flat'] as const) {
        for (const folder of ['', 'exports/shop']) {
          const s = { folder, manifestLocation, namespaceLayout };
          const stream = configuredStream('users', { namespace: 'billing' });
          const model = modelForStream(stream, namespaceLayout);
          const p = layoutPrefixes(s, { name: 'users', namespace: 'billing' });
          const data = dataKey({
            folder,
            model,
            transferDate: '2024-05-01',
            part: 3,
            transferTimestamp: '20240501T235959999Z',
            extension: 'parquet',
          });
          const manifest = manifestKey({ location: manifestLocation, folder, model, transferDate: '2024-05-01', transferId: ID });
          expect(data.startsWith(p.data)).toBe(true);
          expect(data.slice(p.data.length)).toMatch(/^dt=/);
          expect(manifest.startsWith(p.manifests)).toBe(true);
          expect(manifest.slice(p.manifests.length)).toMatch(/^dt=/);
          expect(data.startsWith(layoutPrefixes(s).data)).toBe(true);
          expect(manifest.startsWith(layoutPrefixes(s).manifests)).toBe(true);
        }
      }
    }
  });
});

describe('findLocationClashes', () => {
  it('keeps public.users and billing.users apart by default', () => {
    expect(
      findLocationClashes([configuredStream('users', { namespace: 'public' }), configuredStream('users', { namespace: 'billing' })], 'by_namespace'),
    ).toEqual([]);
  });

  it('finds them with the flat layout', () => {
    const clashes = findLocationClashes(
      [
        configuredStream('users', { namespace: 'public' }),
        configuredStream('orders', { namespace: 'public' }),
        configuredStream('users', { namespace: 'billing' }),
      ],
      'flat',
    );
    expect(clashes).toEqual([
      {
        kind: 'same',
        model: 'users',
        first: { name: 'users', namespace: 'public' },
        second: { name: 'users', namespace: 'billing' },
        secondModel: 'users',
      },
    ]);
  });

  it('finds a stream without namespace that is the folder of a namespace, in either order', () => {
    const flat = configuredStream('public');
    const nested = configuredStream('users', { namespace: 'public' });
    expect(findLocationClashes([flat, nested], 'by_namespace')).toMatchObject([{ kind: 'nested', model: 'public', secondModel: 'public/users' }]);
    expect(findLocationClashes([nested, flat], 'by_namespace')).toMatchObject([{ kind: 'nested', model: 'public/users', secondModel: 'public' }]);
    // a destination_object_name can make the same clash
    expect(findLocationClashes([configuredStream('accounts', { destination_object_name: 'public' }), nested], 'by_namespace')).toHaveLength(1);
    // and the flat layout has no namespace folders
    expect(findLocationClashes([flat, nested], 'flat')).toEqual([]);
  });

  it('does not mistake a stream named like a namespace folder with a suffix for a clash', () => {
    expect(
      findLocationClashes(
        [configuredStream('public_users'), configuredStream('users', { namespace: 'public' }), configuredStream('public.users')],
        'by_namespace',
      ),
    ).toEqual([]);
    expect(findLocationClashes([configuredStream('publi'), configuredStream('users', { namespace: 'public' })], 'by_namespace')).toEqual([]);
  });

  it("resists alias attempts: names and namespaces that spell another stream's path", () => {
    const streams: ConfiguredAirbyteStream[] = [
      configuredStream('users', { namespace: 'public' }),
      configuredStream('public/users'), // no namespace, a '/' in the name
      configuredStream('users', { namespace: 'public/users' }),
      configuredStream('public_x2Fusers'),
      configuredStream('x', { namespace: 'public_x2Fusers' }),
      configuredStream('users', { namespace: 'public ' }),
      configuredStream('users', { destination_object_name: 'public/users' }),
    ];
    const models = streams.map((s) => modelForStream(s));
    expect(models).toEqual([
      'public/users',
      'public_x2Fusers',
      'public_x2Fusers/users',
      'public_x5Fx2Fusers',
      'public_x5Fx2Fusers/x',
      'public_x20/users',
      'public_x2Fusers',
    ]);
    // Every model differs (the rule is injective), and the namespaced one is never the flat one.
    expect(new Set(models).size).toBe(models.length - 1);
    // What stays is found: a flat stream that is the folder of a namespace, and a
    // destination_object_name equal to another stream's name.
    expect(findLocationClashes(streams, 'by_namespace').map((c) => [c.kind, c.model, c.secondModel])).toEqual([
      ['nested', 'public_x2Fusers', 'public_x2Fusers/users'],
      ['nested', 'public_x5Fx2Fusers', 'public_x5Fx2Fusers/x'],
      ['same', 'public_x2Fusers', 'public_x2Fusers'],
    ]);
  });

  it('treats an empty namespace as none', () => {
    expect(findLocationClashes([configuredStream('users'), configuredStream('users', { namespace: '' })], 'by_namespace')).toMatchObject([
      { kind: 'same', model: 'users' },
    ]);
  });

  it('pairs every later stream with the first owner of the place', () => {
    const clashes = findLocationClashes(
      [configuredStream('x', { namespace: 'a' }), configuredStream('x', { namespace: 'b' }), configuredStream('x', { namespace: 'c' })],
      'flat',
    );
    expect(clashes.map((c) => [c.first.namespace, c.second.namespace])).toEqual([
      ['a', 'b'],
      ['a', 'c'],
    ]);
  });

  it('does not depend on the rest of the catalog: adding streams never moves one', () => {
    const base = [configuredStream('users', { namespace: 'public' }), configuredStream('orders')];
    const more = [...base, configuredStream('users', { namespace: 'billing' }), configuredStream('events', { namespace: 'public' })];
    expect(base.map((s) => modelForStream(s))).toEqual(more.slice(0, 2).map((s) => modelForStream(s)));
  });
});

describe('assertDistinctLocations', () => {
  it('accepts two namespaces with one stream name, and streams without namespace beside them', () => {
    expect(() =>
      assertDistinctLocations(
        [configuredStream('users', { namespace: 'public' }), configuredStream('users', { namespace: 'billing' }), configuredStream('users')],
        settings,
      ),
    ).not.toThrow();
  });

  it('names both streams and the namespace_layout option when the flat layout makes them clash', () => {
    const message = messageOf(() =>
      assertDistinctLocations([configuredStream('users', { namespace: 'public' }), configuredStream('users', { namespace: 'billing' })], {
        ...settings,
        namespaceLayout: 'flat',
      }),
    );
    expect(message).toContain('"users" (namespace "public") and "users" (namespace "billing") both map to the model "users"');
    expect(message).toContain('destination_object_name');
    expect(message).toContain('set namespace_layout to by_namespace');
  });

  it('does not offer the namespace layout when it would not help', () => {
    const message = messageOf(() =>
      assertDistinctLocations([configuredStream('accounts'), configuredStream('users', { destination_object_name: 'accounts' })], settings),
    );
    expect(message).toContain('"accounts" (no namespace) and "users" (no namespace) both map to the model "accounts"');
    expect(message).not.toContain('namespace_layout');
  });

  it('names the stream and the namespace it shadows, and both fixes, for a nested clash', () => {
    const message = messageOf(() =>
      assertDistinctLocations([configuredStream('users', { namespace: 'public' }), configuredStream('public')], settings),
    );
    expect(message).toContain(
      'the stream "public" (no namespace) lands in "public/", which is also the namespace folder of "users" (namespace "public") (model "public/users")',
    );
    expect(message).toContain('destination_object_name');
    expect(message).toContain('set namespace_layout to flat');
  });

  it('refuses a stream whose keys would pass 1024 bytes, before any input', () => {
    const folder = 'f'.repeat(MAX_FOLDER_BYTES);
    const long = configuredStream('n'.repeat(300), { namespace: 'm'.repeat(300) });
    const s = { ...settings, folder, manifestLocation: 'folder' as const };
    expect(longestKeyBytes(s, modelForStream(long))).toBeGreaterThan(MAX_KEY_BYTES);
    const message = messageOf(() => assertDistinctLocations([configuredStream('ok'), long], s));
    expect(message).toMatch(/would be \d+ bytes long/);
    expect(message).toContain('namespace_layout to flat');
    // the flat layout fits: the longest one-segment model under the longest folder
    expect(() => assertDistinctLocations([long], { ...s, namespaceLayout: 'flat' })).not.toThrow();
  });

  it('counts the longest key exactly as the key builders make it', () => {
    for (const [folder, manifestLocation] of [
      ['exports/é', 'folder'],
      ['', 'bucket_root'],
      ['x', 'bucket_root'],
    ] as const) {
      const model = modelForStream(configuredStream('users', { namespace: 'billing' }));
      const s = { folder, manifestLocation, namespaceLayout: 'by_namespace' as const };
      const keys = [
        dataKey({ folder, model, transferDate: '2024-05-01', part: 999999, transferTimestamp: '20240501T235959999Z', extension: 'jsonl.gz' }),
        manifestKey({ location: manifestLocation, folder, model, transferDate: '2024-05-01', transferId: ID }),
      ];
      expect(longestKeyBytes(s, model)).toBe(Math.max(...keys.map((k) => Buffer.byteLength(k))));
    }
  });
});
