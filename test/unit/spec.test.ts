import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { Validator, type Schema } from 'jsonschema';
import { describe, expect, it } from 'vitest';
import { runSpec } from '../../src/commands/spec.js';
import { MessageWriter } from '../../src/protocol/output.js';
import { protocolErrors, protocolSchemaAvailable, protocolSchemaSkipReason } from '../../integration_tests/support/protocol.js';

async function specLines(): Promise<string[]> {
  const sink = new PassThrough();
  const chunks: Buffer[] = [];
  sink.on('data', (c: Buffer) => chunks.push(c));
  await runSpec(new MessageWriter(sink));
  return Buffer.concat(chunks).toString('utf8').split('\n').filter(Boolean);
}

describe('spec', () => {
  it('prints exactly one SPEC message with the fields of docs/setup.md ("Configuration reference")', async () => {
    const lines = await specLines();
    expect(lines).toHaveLength(1);
    const msg = JSON.parse(lines[0]!);
    expect(msg.type).toBe('SPEC');
    const props = msg.spec.connectionSpecification.properties;
    for (const field of [
      's3_bucket_name',
      's3_bucket_region',
      'folder',
      'credentials',
      'encryption',
      'format',
      'file_size_mb',
      'flush_interval_seconds',
      'manifest_location',
      's3_endpoint',
    ]) {
      expect(props, field).toHaveProperty(field);
    }
    expect(msg.spec.supported_destination_sync_modes).toEqual(['append', 'append_dedup', 'overwrite']);
  });

  it.skipIf(!protocolSchemaAvailable)('SPEC conforms to the Airbyte protocol schema', async () => {
    const [line] = await specLines();
    expect(protocolErrors(line!)).toEqual([]);
    expect(protocolErrors('{"type":"SPEC","spec":{}}').length).toBeGreaterThan(0);
  });
  if (!protocolSchemaAvailable) it.skip(protocolSchemaSkipReason, () => undefined);
});

// The foundation issue asks every field for a title, a description, an order and, where a value
// can be shown, examples (the UI renders them as placeholders). Walked over every property of
// every oneOf branch, so that a field added without them fails here.

type Json = Record<string, any>;
const connectionSpec = JSON.parse(readFileSync(resolve(import.meta.dirname, '../../spec/spec.json'), 'utf8')).connectionSpecification as Json;

/** Every problem of the metadata of the properties under `node`, each prefixed with its path. */
function metadataProblems(node: Json, path = ''): string[] {
  const problems: string[] = [];
  const orders = new Map<number, string>();
  for (const [name, prop] of Object.entries<Json>(node.properties ?? {})) {
    const at = path ? `${path}.${name}` : name;
    for (const key of ['title', 'description'] as const) {
      if (typeof prop[key] !== 'string' || prop[key].trim() === '') problems.push(`${at}: no ${key}`);
    }
    if (!Number.isInteger(prop.order)) problems.push(`${at}: no order`);
    else if (orders.has(prop.order)) problems.push(`${at}: order ${prop.order} is also ${orders.get(prop.order)}'s`);
    else orders.set(prop.order, name);
    if (typeof prop.pattern === 'string' && typeof prop.pattern_descriptor !== 'string')
      problems.push(`${at}: a pattern without a pattern_descriptor`);
    // A const has one value and a secret must not be shown: neither needs examples.
    const exemplifiable = !('const' in prop) && prop.airbyte_secret !== true && !Array.isArray(prop.oneOf);
    if (exemplifiable && !(Array.isArray(prop.examples) && prop.examples.length > 0)) problems.push(`${at}: no examples`);
    const { oneOf: _oneOf, examples: _examples, default: _default, ...own } = prop;
    for (const example of prop.examples ?? []) {
      if (!new Validator().validate(example, own as Schema).valid) problems.push(`${at}: the example ${JSON.stringify(example)} is not valid`);
    }
    if ('default' in prop && !Array.isArray(prop.oneOf) && !new Validator().validate(prop.default, own as Schema).valid) {
      problems.push(`${at}: the default ${JSON.stringify(prop.default)} is not valid`);
    }
    if (Array.isArray(prop.oneOf)) {
      for (const branch of prop.oneOf as Json[]) {
        const label = `${at}[${branch.title ?? '?'}]`;
        for (const key of ['title', 'description'] as const)
          if (typeof branch[key] !== 'string' || branch[key].trim() === '') problems.push(`${label}: no ${key}`);
        problems.push(...metadataProblems(branch, label));
      }
    } else if (prop.properties) {
      problems.push(...metadataProblems(prop, at));
    }
  }
  return problems;
}

describe('spec/spec.json field metadata', () => {
  it('gives every field of every branch a title, a description, a unique order and valid examples (secrets and constants excepted)', () => {
    expect(metadataProblems(connectionSpec)).toEqual([]);
  });

  it('walks into every oneOf branch: a new bare field anywhere is reported', () => {
    const withBare = structuredClone(connectionSpec);
    withBare.properties.new_setting = { type: 'integer' };
    withBare.properties.format.oneOf[1].properties.delimiter = { type: 'string', title: 'Delimiter', order: 1 };
    withBare.properties.encryption.oneOf[2].description = '';
    withBare.properties.credentials.oneOf[0].properties.role_arn.examples = ['not an arn'];
    expect(metadataProblems(withBare)).toEqual([
      'credentials[IAM role (recommended)].role_arn: the example "not an arn" is not valid',
      'encryption[SSE-KMS]: no description',
      'format[CSV].delimiter: no description',
      "format[CSV].delimiter: order 1 is also compression's",
      'format[CSV].delimiter: no examples',
      'new_setting: no title',
      'new_setting: no description',
      'new_setting: no order',
      'new_setting: no examples',
    ]);
  });

  it('marks exactly the three credential fields as secrets (the redactor and the docs rely on it)', () => {
    const secrets: string[] = [];
    const visit = (node: Json, path: string): void => {
      for (const [name, prop] of Object.entries<Json>(node.properties ?? {})) {
        if (prop.airbyte_secret === true) secrets.push(`${path}${name}`);
        for (const branch of prop.oneOf ?? []) visit(branch, `${path}${name}.`);
      }
    };
    visit(connectionSpec, '');
    expect(secrets.sort()).toEqual(['credentials.access_key_id', 'credentials.secret_access_key', 'credentials.session_token']);
  });
});
