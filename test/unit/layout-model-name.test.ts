import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import {
  decodeModel,
  decodeSegment as decodeModelName,
  MAX_SEGMENT_LENGTH as MAX_MODEL_LENGTH,
  MODEL_PATTERN,
  modelForStream,
  modelName,
  SEGMENT_PATTERN,
  segmentName,
} from '../../src/layout/model-name.js';
import { configuredStream } from './support/catalog.js';

/** Every name's model (without namespace) must be one safe key segment. */
function expectSafe(model: string): void {
  expect(model).toMatch(/^[A-Za-z0-9._-]+$/);
  expect(model).toMatch(MODEL_PATTERN);
  expect(model).toMatch(SEGMENT_PATTERN);
  expect(model).not.toContain('..');
  expect(model).not.toContain('/');
  expect(model.startsWith('.')).toBe(false);
  expect(model.length).toBeGreaterThan(0);
  expect(model.length).toBeLessThanOrEqual(MAX_MODEL_LENGTH);
}

describe('modelName', () => {
  it.each([
    ['users', 'users'],
    ['order_items', 'order_items'],
    ['Order-Items.v2', 'Order-Items.v2'],
    ['order items', 'order_x20items'],
    ['public/users', 'public_x2Fusers'],
    ['a=b', 'a_x3Db'],
    ['50%', '50_x25'],
    ['café', 'caf_xC3_xA9'],
    ['заказы', '_xD0_xB7_xD0_xB0_xD0_xBA_xD0_xB0_xD0_xB7_xD1_x8B'],
    ['日本', '_xE6_x97_xA5_xE6_x9C_xAC'],
    ['box📦', 'box_xF0_x9F_x93_xA6'],
    ['line\nbreak', 'line_x0Abreak'],
    ['tab\there', 'tab_x09here'],
    ['nul\u0000', 'nul_x00'],
    ['del\u007f', 'del_x7F'],
    ['.', '_x2E'],
    ['..', '_x2E.'],
    ['../etc/passwd', '_x2E._x2Fetc_x2Fpasswd'],
    ['a..b', 'a._x2Eb'],
    ['a...b', 'a._x2E.b'],
    ['.hidden', '_x2Ehidden'],
    ['_airbyte_raw', '_x5Fairbyte_raw'],
    ['_manifests', '_x5Fmanifests'],
    ['tax_xref', 'tax_x5Fxref'],
    ['Tax_Xref', 'Tax_Xref'],
    ['_x41', '_x5Fx41'],
    ['', '_empty'],
    ['_empty', '_x5Fempty'],
  ])('maps %j to %j', (name, expected) => {
    const model = modelName(name);
    expect(model).toBe(expected);
    expectSafe(model);
  });

  it('uses destination_object_name when given, whatever the stream name', () => {
    expect(modelName('users', undefined, 'crm_users')).toBe('crm_users');
    expect(modelName('users', 'public', 'crm users', 'flat')).toBe('crm_x20users');
    expect(modelForStream(configuredStream('users', { destination_object_name: 'crm/users' }))).toBe('crm_x2Fusers');
  });

  it('falls back to the stream name when destination_object_name is empty or absent', () => {
    expect(modelName('users', undefined, '')).toBe('users');
    expect(modelName('users', undefined, null)).toBe('users');
    expect(modelForStream(configuredStream('users'))).toBe('users');
  });

  it('puts a namespaced stream under its namespace by default, and under its name alone with the flat layout', () => {
    expect(modelName('users', 'public')).toBe('public/users');
    expect(modelName('users', 'billing')).toBe('billing/users');
    expect(modelName('users', 'public', 'crm users')).toBe('public/crm_x20users');
    expect(modelForStream(configuredStream('users', { namespace: 'public' }))).toBe('public/users');
    expect(modelForStream(configuredStream('users', { namespace: 'public' }), 'by_namespace')).toBe('public/users');
    expect(modelForStream(configuredStream('users', { namespace: 'public' }), 'flat')).toBe('users');
    expect(modelName('users', 'public', undefined, 'flat')).toBe(modelName('users', 'sales', undefined, 'flat'));
  });

  it('keeps streams without a namespace, or with an empty one, flat in either layout', () => {
    for (const layout of ['by_namespace', 'flat'] as const) {
      expect(modelName('users', undefined, undefined, layout)).toBe('users');
      expect(modelName('users', null, undefined, layout)).toBe('users');
      expect(modelName('users', '', undefined, layout)).toBe('users');
    }
  });

  it('makes the namespace one safe segment by the same rule as names', () => {
    expect.soft(modelName('users', 'ns one')).toBe('ns_x20one/users');
    expect.soft(modelName('users', 'a/b')).toBe('a_x2Fb/users');
    expect.soft(modelName('users', '..')).toBe('_x2E./users');
    expect.soft(modelName('users', '_manifests')).toBe('_x5Fmanifests/users');
    expect.soft(modelName('users', 'dt=2024-05-01')).toBe('dt_x3D2024-05-01/users');
    expect.soft(modelName('x', 'é'.repeat(300)).split('/')[0]!.length).toBeLessThanOrEqual(MAX_MODEL_LENGTH);
    for (const ns of ['public', 'ns one', 'a/b', '..', '_manifests', 'é'.repeat(300), '日本']) {
      const model = modelName('users', ns);
      expect(model).toMatch(MODEL_PATTERN);
      expect(model.split('/')).toHaveLength(2);
      expect(model.split('/')[0]).toBe(segmentName(ns));
    }
  });

  it('cannot be made to alias: distinct (namespace, name) pairs give distinct models', () => {
    // Pairs built to look alike once joined or escaped: a '/' in a name or namespace, the escape
    // of '/', an empty or missing namespace, names that spell another pair's model.
    const pairs: [string | undefined, string][] = [
      ['a', 'b/c'],
      ['a/b', 'c'],
      [undefined, 'a/b/c'],
      [undefined, 'a_x2Fb'],
      ['a', 'b_x2Fc'],
      ['a_x2Fb', 'c'],
      [undefined, 'a'],
      ['', 'a'.repeat(1)],
      ['a', 'a'],
      ['public', 'users'],
      [undefined, 'public/users'],
      [undefined, 'public_x2Fusers'],
      ['public_x2Fusers', 'x'],
      ['public.', 'users'],
      ['public', '.users'],
      [undefined, '_empty'],
      ['_empty', 'x'],
      ['x', '_empty'],
      ['x', ''],
    ];
    const seen = new Map<string, string>();
    for (const [ns, name] of pairs) {
      const model = modelName(name, ns);
      expect(model).toMatch(MODEL_PATTERN);
      const who = JSON.stringify([ns ?? '', name]);
      // The empty namespace is no namespace: ['', 'a'] and [undefined, 'a'] are one place (locations.ts refuses such a catalog).
      if (seen.has(model)) expect(seen.get(model), model).toBe(who);
      seen.set(model, who);
      expect(decodeModel(model)).toEqual(ns ? { namespace: ns, name } : { name });
    }
  });

  it('keeps a lone UTF-16 surrogate apart from U+FFFD', () => {
    const lone = modelName('a\uD800');
    expect(lone).toBe('a_xED_xA0_x80');
    expect(lone).not.toBe(modelName('a\uFFFD'));
  });

  it('keeps names of exactly the maximum length as they are', () => {
    const name = 'n'.repeat(MAX_MODEL_LENGTH);
    expect(modelName(name)).toBe(name);
  });

  it('truncates a long name to the maximum length with a hash of the whole name', () => {
    const long = 'a'.repeat(300);
    const model = modelName(long);
    expectSafe(model);
    expect(model).toHaveLength(MAX_MODEL_LENGTH);
    expect(model).toMatch(/^a{181}_x-[0-9a-f]{16}$/);
    // Names that differ only past the cut still get different models.
    expect(modelName('a'.repeat(299) + 'b')).not.toBe(model);
    expect(modelName('a'.repeat(MAX_MODEL_LENGTH + 1))).not.toBe(model);
    expect(modelName(long)).toBe(model); // deterministic
  });

  it('never cuts an escape in half when truncating', () => {
    const model = modelName('é'.repeat(100)); // 800 escaped characters
    expectSafe(model);
    const [prefix, hash] = model.split('_x-');
    expect(prefix).toMatch(/^(_x[0-9A-F]{2})+$/);
    expect(hash).toMatch(/^[0-9a-f]{16}$/);
  });

  it('gives distinct realistic names distinct models', () => {
    const names = [
      'order items',
      'order_items',
      'order-items',
      'order.items',
      'Order Items',
      'order__items',
      'order_x20items',
      'order%20items',
      'orderitems',
    ];
    const models = names.map((n) => modelName(n));
    expect(new Set(models).size).toBe(names.length);
  });

  it('is reversible for every name short enough not to be truncated', () => {
    // A seeded generator over the characters that the rule treats specially.
    const alphabet = ['a', 'Z', '0', '_', 'x', 'X', '.', '-', '/', ' ', 'é', '\n', '\u0000', '5', 'F', '日', '📦', '=', '%'];
    let seed = 42;
    const next = (): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed;
    };
    const seen = new Map<string, string>();
    for (let i = 0; i < 3000; i++) {
      const length = next() % 9;
      let name = '';
      for (let j = 0; j < length; j++) name += alphabet[next() % alphabet.length];
      const model = modelName(name);
      expectSafe(model);
      expect(decodeModelName(model), JSON.stringify(name)).toBe(name);
      const earlier = seen.get(model);
      if (earlier !== undefined) expect(earlier).toBe(name);
      seen.set(model, name);
    }
    expect(seen.size).toBeGreaterThan(1000);
  });

  it('matches the model pattern of spec/manifest.schema.json', () => {
    const schema = JSON.parse(readFileSync(new URL('../../spec/manifest.schema.json', import.meta.url), 'utf8')) as {
      properties: { model: { pattern: string } };
    };
    expect(new RegExp(schema.properties.model.pattern).source).toBe(MODEL_PATTERN.source);
    for (const bad of ['a/b/c', '/a', 'a/', 'a/.b', '.a/b', 'a/b..c', 'a//b', '']) expect(MODEL_PATTERN.test(bad), bad).toBe(false);
  });

  it('decodes nothing that the rule does not produce', () => {
    expect(decodeModel('a/b/c')).toBeUndefined();
    expect(decodeModel('_empty/users')).toBeUndefined();
    expect(decodeModel('a_xZZ/users')).toBeUndefined();
    expect(decodeModelName(modelName('a'.repeat(300)))).toBeUndefined();
    expect(decodeModelName('_manifests')).toBeUndefined();
    expect(decodeModelName('a_xZZ')).toBeUndefined();
    expect(decodeModelName('..')).toBeUndefined();
    expect(decodeModelName('_empty')).toBe('');
  });
});
