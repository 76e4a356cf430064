import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import {
  assertNoModelCollisions,
  decodeModelName,
  findModelCollisions,
  MAX_MODEL_LENGTH,
  MODEL_PATTERN,
  modelForStream,
  modelName,
} from '../../src/layout/model-name.js';
import { configuredStream } from './support/catalog.js';

/** Every model must be one safe key segment. */
function expectSafe(model: string): void {
  expect(model).toMatch(/^[A-Za-z0-9._-]+$/);
  expect(model).toMatch(MODEL_PATTERN);
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
    expect(modelName('users', 'public', 'crm_users')).toBe('crm_users');
    expect(modelName('users', 'public', 'crm users')).toBe('crm_x20users');
    expect(modelForStream(configuredStream('users', { destination_object_name: 'crm/users' }))).toBe('crm_x2Fusers');
  });

  it('falls back to the stream name when destination_object_name is empty or absent', () => {
    expect(modelName('users', undefined, '')).toBe('users');
    expect(modelName('users', undefined, null)).toBe('users');
    expect(modelForStream(configuredStream('users'))).toBe('users');
  });

  it('does not let the namespace change the model', () => {
    expect(modelName('users', 'public')).toBe(modelName('users', 'sales'));
    expect(modelForStream(configuredStream('users', { namespace: 'public' }))).toBe('users');
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
    const names = ['order items', 'order_items', 'order-items', 'order.items', 'Order Items', 'order__items', 'order_x20items', 'order%20items', 'orderitems'];
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

  it('decodes nothing that the rule does not produce', () => {
    expect(decodeModelName(modelName('a'.repeat(300)))).toBeUndefined();
    expect(decodeModelName('_manifests')).toBeUndefined();
    expect(decodeModelName('a_xZZ')).toBeUndefined();
    expect(decodeModelName('..')).toBeUndefined();
    expect(decodeModelName('_empty')).toBe('');
  });
});

describe('findModelCollisions', () => {
  it('finds two streams of one name in different namespaces', () => {
    const collisions = findModelCollisions([
      configuredStream('users', { namespace: 'public' }),
      configuredStream('orders', { namespace: 'public' }),
      configuredStream('users', { namespace: 'sales' }),
    ]);
    expect(collisions).toEqual([{ model: 'users', first: { name: 'users', namespace: 'public' }, second: { name: 'users', namespace: 'sales' } }]);
  });

  it('finds a destination_object_name that takes another stream\'s model', () => {
    const collisions = findModelCollisions([configuredStream('accounts'), configuredStream('users', { destination_object_name: 'accounts' })]);
    expect(collisions).toHaveLength(1);
    expect(collisions[0]).toMatchObject({ model: 'accounts', first: { name: 'accounts' }, second: { name: 'users' } });
  });

  it('pairs every later stream with the first owner of the model', () => {
    const collisions = findModelCollisions([
      configuredStream('x', { namespace: 'a' }),
      configuredStream('x', { namespace: 'b' }),
      configuredStream('x', { namespace: 'c' }),
    ]);
    expect(collisions.map((c) => [c.first.namespace, c.second.namespace])).toEqual([
      ['a', 'b'],
      ['a', 'c'],
    ]);
  });

  it('reports nothing for streams whose names differ only in characters the rule escapes', () => {
    expect(findModelCollisions([configuredStream('order items'), configuredStream('order_items'), configuredStream('order/items')])).toEqual([]);
  });

  it('separates same-named streams once one gets a destination_object_name', () => {
    expect(
      findModelCollisions([configuredStream('users', { namespace: 'public' }), configuredStream('users', { namespace: 'sales', destination_object_name: 'sales_users' })]),
    ).toEqual([]);
  });
});

describe('assertNoModelCollisions', () => {
  it('raises a ConfigError naming both streams of each pair and what to do', () => {
    let error: unknown;
    try {
      assertNoModelCollisions([configuredStream('users', { namespace: 'public' }), configuredStream('users', { namespace: 'sales' }), configuredStream('a b'), configuredStream('a b')]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expect(message).toContain('"users" (namespace "public") and "users" (namespace "sales") both map to the model "users"');
    expect(message).toContain('"a b" (no namespace) and "a b" (no namespace) both map to the model "a_x20b"');
    expect(message).toContain('destination_object_name');
  });

  it('accepts a catalog without collisions', () => {
    expect(() => assertNoModelCollisions([configuredStream('users'), configuredStream('orders')])).not.toThrow();
  });
});
