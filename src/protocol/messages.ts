// Airbyte protocol message shapes used by this connector (airbyte_protocol.yaml, release 0.18.0).
// Only the fields the connector reads or writes are typed; everything else passes through.

export type FailureType = 'system_error' | 'config_error' | 'transient_error';
export type LogLevel = 'FATAL' | 'ERROR' | 'WARN' | 'INFO' | 'DEBUG' | 'TRACE';
export type DestinationSyncMode = 'append' | 'overwrite' | 'append_dedup' | 'update' | 'soft_delete';

export interface StreamDescriptor {
  name: string;
  namespace?: string;
}

export interface AirbyteStream {
  name: string;
  namespace?: string;
  json_schema: Record<string, unknown>;
  supported_sync_modes: string[];
  source_defined_primary_key?: string[][];
  default_cursor_field?: string[];
}

export interface ConfiguredAirbyteStream {
  stream: AirbyteStream;
  sync_mode: 'full_refresh' | 'incremental';
  destination_sync_mode: DestinationSyncMode;
  destination_object_name?: string;
  cursor_field?: string[];
  primary_key?: string[][];
  generation_id?: number;
  minimum_generation_id?: number;
  sync_id?: number;
}

export interface ConfiguredAirbyteCatalog {
  streams: ConfiguredAirbyteStream[];
}

export interface AirbyteMetaChange {
  field: string;
  change: 'NULLED' | 'TRUNCATED';
  reason: string;
}

export interface AirbyteRecord {
  stream: string;
  namespace?: string;
  data: Record<string, unknown>;
  emitted_at: number;
  meta?: { changes?: AirbyteMetaChange[] };
}

export type StateType = 'STREAM' | 'GLOBAL' | 'LEGACY';

export interface AirbyteStateMessage {
  type?: StateType;
  stream?: { stream_descriptor: StreamDescriptor; stream_state?: unknown };
  global?: { shared_state?: unknown; stream_states: { stream_descriptor: StreamDescriptor }[] };
  data?: unknown;
  sourceStats?: { recordCount?: number };
  destinationStats?: { recordCount?: number };
}

export interface ConnectorSpecification {
  documentationUrl: string;
  connectionSpecification: Record<string, unknown>;
  supportsIncremental?: boolean;
  supported_destination_sync_modes: DestinationSyncMode[];
  [extra: string]: unknown;
}

export type OutgoingMessage =
  | { type: 'SPEC'; spec: ConnectorSpecification }
  | { type: 'CONNECTION_STATUS'; connectionStatus: { status: 'SUCCEEDED' | 'FAILED'; message?: string } }
  | { type: 'LOG'; log: { level: LogLevel; message: string; stack_trace?: string } }
  | {
      type: 'TRACE';
      trace: {
        type: 'ERROR';
        emitted_at: number;
        error: {
          message: string;
          internal_message?: string;
          stack_trace?: string;
          failure_type: FailureType;
          stream_descriptor?: StreamDescriptor;
        };
      };
    };

/** Stable identity of a stream: namespace and name, unambiguous whatever characters they hold. */
export function streamKey(name: string, namespace?: string | null): string {
  return JSON.stringify([namespace ?? null, name]);
}
