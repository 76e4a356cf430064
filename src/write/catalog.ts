// Reads and checks the ConfiguredAirbyteCatalog before any record is read: a missing or invalid
// catalog, an unsupported sync mode or a stream listed twice are config errors. Two streams that
// would land in one place are found by src/layout/locations.ts (assertDistinctLocations), which
// needs the config's layout.

import { ConfigError } from '../errors.js';
import type { ConfiguredAirbyteCatalog, ConfiguredAirbyteStream } from '../protocol/messages.js';
import { streamKey } from '../protocol/messages.js';
import { describeStream } from '../layout/index.js';

const SUPPORTED_MODES = new Set(['append', 'append_dedup', 'overwrite']);

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Validates the shape the connector relies on; every problem is listed at once. */
export function parseCatalog(raw: unknown): ConfiguredAirbyteCatalog {
  if (!isObject(raw) || !Array.isArray(raw.streams)) {
    throw new ConfigError('The configured catalog is invalid: it must be an object with a "streams" array.');
  }
  const problems: string[] = [];
  raw.streams.forEach((entry: unknown, i: number) => {
    const at = `streams[${i}]`;
    if (!isObject(entry) || !isObject(entry.stream)) {
      problems.push(`${at}.stream is required`);
      return;
    }
    const stream = entry.stream;
    if (typeof stream.name !== 'string') problems.push(`${at}.stream.name must be a string`);
    if (stream.namespace !== undefined && stream.namespace !== null && typeof stream.namespace !== 'string') {
      problems.push(`${at}.stream.namespace must be a string`);
    }
    if (stream.json_schema !== undefined && !isObject(stream.json_schema)) problems.push(`${at}.stream.json_schema must be an object`);
    const mode = entry.destination_sync_mode ?? 'append';
    if (typeof mode !== 'string' || !SUPPORTED_MODES.has(mode)) {
      problems.push(
        `${at} (${String(stream.name)}): destination_sync_mode ${JSON.stringify(mode)} is not supported; use append, append_dedup or overwrite (S3 exports are append-only files; readers deduplicate)`,
      );
    }
    for (const field of ['generation_id', 'minimum_generation_id', 'sync_id']) {
      const v = entry[field];
      if (v !== undefined && v !== null && !Number.isSafeInteger(v)) problems.push(`${at}.${field} must be an integer`);
    }
  });
  if (problems.length) throw new ConfigError(`The configured catalog is invalid: ${problems.join('; ')}`);
  const streams = (raw.streams as Record<string, unknown>[]).map((entry) => {
    const s = entry as unknown as ConfiguredAirbyteStream;
    const stream = { ...s.stream, json_schema: s.stream.json_schema ?? {} };
    if (stream.namespace === null) delete stream.namespace;
    return { ...s, stream, destination_sync_mode: s.destination_sync_mode ?? 'append' };
  });
  const seen = new Map<string, ConfiguredAirbyteStream>();
  for (const s of streams) {
    const key = streamKey(s.stream.name, s.stream.namespace);
    if (seen.has(key)) throw new ConfigError(`The configured catalog lists the stream ${describeStream(s.stream)} twice.`);
    seen.set(key, s);
  }
  return { ...raw, streams } as ConfiguredAirbyteCatalog;
}
