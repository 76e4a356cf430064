// Builders for catalogs, configs and Airbyte message lines used by the write tests.

import type { S3TestServer } from './server.js';

export interface StreamSpec {
  name: string;
  namespace?: string;
  properties?: Record<string, unknown>;
  mode?: string;
  destinationObjectName?: string;
  primaryKey?: string[][];
  cursorField?: string[];
  generationId?: number;
  minimumGenerationId?: number;
}

export const DEFAULT_PROPERTIES = {
  id: { type: 'integer' },
  name: { type: ['null', 'string'] },
  updated_at: { type: 'string', format: 'date-time', airbyte_type: 'timestamp_with_timezone' },
};

export function catalog(streams: StreamSpec[], syncId = 42): Record<string, unknown> {
  return {
    streams: streams.map((s) => ({
      stream: {
        name: s.name,
        ...(s.namespace ? { namespace: s.namespace } : {}),
        json_schema: { type: 'object', properties: s.properties ?? DEFAULT_PROPERTIES },
        supported_sync_modes: ['full_refresh', 'incremental'],
      },
      sync_mode: 'incremental',
      destination_sync_mode: s.mode ?? 'append',
      ...(s.destinationObjectName ? { destination_object_name: s.destinationObjectName } : {}),
      ...(s.primaryKey ? { primary_key: s.primaryKey } : {}),
      ...(s.cursorField ? { cursor_field: s.cursorField } : {}),
      generation_id: s.generationId ?? 1,
      minimum_generation_id: s.minimumGenerationId ?? 0,
      sync_id: syncId,
    })),
  };
}

export function accessKeyConfig(server: S3TestServer, bucket: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    s3_bucket_name: bucket,
    s3_bucket_region: 'us-east-1',
    s3_endpoint: server.endpoint,
    credentials: { auth_type: 'access_key', access_key_id: server.accessKey, secret_access_key: server.secretKey },
    ...extra,
  };
}

export function recordLine(stream: string, data: Record<string, unknown>, emittedAt = 1_700_000_000_000, namespace?: string): string {
  return JSON.stringify({ type: 'RECORD', record: { stream, ...(namespace ? { namespace } : {}), data, emitted_at: emittedAt } });
}

export function streamStateLine(stream: string, cursor: unknown, namespace?: string): string {
  return JSON.stringify({
    type: 'STATE',
    state: { type: 'STREAM', stream: { stream_descriptor: { name: stream, ...(namespace ? { namespace } : {}) }, stream_state: { cursor } } },
  });
}

export function globalStateLine(cursor: unknown): string {
  return JSON.stringify({ type: 'STATE', state: { type: 'GLOBAL', global: { shared_state: { cursor }, stream_states: [] } } });
}

/** A stream's STREAM_STATUS trace (COMPLETE or INCOMPLETE end a stream; the end of input needs one for each). */
export function streamStatusLine(stream: string, status: 'STARTED' | 'RUNNING' | 'COMPLETE' | 'INCOMPLETE' = 'COMPLETE', namespace?: string): string {
  return JSON.stringify({
    type: 'TRACE',
    trace: {
      type: 'STREAM_STATUS',
      emitted_at: 1_700_000_000_000,
      stream_status: { stream_descriptor: { name: stream, ...(namespace ? { namespace } : {}) }, status },
    },
  });
}

/** COMPLETE for each stream of a catalog built by catalog() (what a source sends once it is done). */
export function completeLines(cat: { streams: { stream: { name: string; namespace?: string } }[] }): string[] {
  return cat.streams.map((s) => streamStatusLine(s.stream.name, 'COMPLETE', s.stream.namespace));
}
