import type { ConfiguredAirbyteStream } from '../../../src/protocol/messages.js';

/** A configured stream with the fields a test cares about; the rest are ordinary defaults. */
export function configuredStream(
  name: string,
  extra: Partial<Omit<ConfiguredAirbyteStream, 'stream'>> & { namespace?: string; json_schema?: Record<string, unknown> } = {},
): ConfiguredAirbyteStream {
  const { namespace, json_schema, ...rest } = extra;
  return {
    stream: {
      name,
      ...(namespace !== undefined ? { namespace } : {}),
      json_schema: json_schema ?? { type: 'object', properties: { id: { type: 'integer' } } },
      supported_sync_modes: ['full_refresh', 'incremental'],
    },
    sync_mode: 'incremental',
    destination_sync_mode: 'append',
    ...rest,
  };
}
