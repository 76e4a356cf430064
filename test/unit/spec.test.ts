import { describe, expect, it } from 'vitest';
import { PassThrough } from 'node:stream';
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
  it('prints exactly one SPEC message with every DESIGN §2 field', async () => {
    const lines = await specLines();
    expect(lines).toHaveLength(1);
    const msg = JSON.parse(lines[0]!);
    expect(msg.type).toBe('SPEC');
    const props = msg.spec.connectionSpecification.properties;
    for (const field of ['s3_bucket_name', 's3_bucket_region', 'folder', 'credentials', 'encryption', 'format', 'file_size_mb', 'flush_interval_seconds', 'manifest_location', 's3_endpoint']) {
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
