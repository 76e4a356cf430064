// The manifest of one model in one transfer (docs/layout.md, "Manifests"): a pure builder, a
// serialiser with a fixed key order, and a check against spec/manifest.schema.json. The write
// session rewrites the manifest at each checkpoint with the files committed so far; docs/layout.md
// is the readers' reference.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Validator, type Schema } from 'jsonschema';
import type { Format } from '../config/config.js';
import type { Column } from '../formats/format.js';
import type { Clock, TransferIdentity } from '../layout/transfer.js';
import { isoUtc } from '../layout/transfer.js';
import type { ConfiguredAirbyteStream, DestinationSyncMode } from '../protocol/messages.js';

/** Bumped whenever a field is added, removed or changes meaning. 2: `model` may be
 *  `<namespace>/<name>` (docs/layout.md); version 1 manifests have the same fields. */
export const MANIFEST_VERSION = 2;

export type ManifestStatus = 'in_progress' | 'complete' | 'incomplete';

/** A data file that is in S3 and complete (the write session's view; camelCase). */
export interface CommittedFile {
  key: string;
  records: number;
  bytes: number;
  /** Hex SHA-256 of the object's bytes. */
  sha256: string;
  /** ISO-8601 UTC of the smallest and largest `_airbyte_extracted_at` in the file. */
  minExtractedAt: string;
  maxExtractedAt: string;
}

export interface ManifestFile {
  key: string;
  records: number;
  bytes: number;
  sha256: string;
  min_extracted_at: string;
  max_extracted_at: string;
}

export interface Manifest {
  manifest_version: typeof MANIFEST_VERSION;
  transfer_id: string;
  sync_id: number;
  model: string;
  stream: { name: string; namespace: string | null };
  transfer_date: string;
  transfer_timestamp: string;
  status: ManifestStatus;
  started_at: string;
  updated_at: string;
  destination_sync_mode: DestinationSyncMode;
  generation_id: number;
  minimum_generation_id: number;
  /** Field paths, as in the protocol: [["id"]], [["org"], ["user", "id"]]. Empty when unknown. */
  primary_key: string[][];
  /** One field path: ["updated_at"]. Empty when none. */
  cursor_field: string[];
  format: { type: Format['type']; compression: string };
  columns: Column[];
  files: ManifestFile[];
  record_count: number;
}

export interface ManifestInput {
  stream: ConfiguredAirbyteStream;
  model: string;
  transfer: TransferIdentity;
  format: Format;
  /** The columns as written, metadata columns first (StreamConverter.columns). */
  columns: readonly Column[];
  /** Every file committed so far, in part order. */
  files: readonly CommittedFile[];
  status: ManifestStatus;
  /** The time of this rewrite, for `updated_at`. */
  now: Clock;
}

const copyPath = (path: readonly string[]): string[] => [...path];

export function buildManifest(input: ManifestInput): Manifest {
  const { stream: configured, transfer } = input;
  const files = input.files.map(
    (f): ManifestFile => ({
      key: f.key,
      records: f.records,
      bytes: f.bytes,
      sha256: f.sha256,
      min_extracted_at: f.minExtractedAt,
      max_extracted_at: f.maxExtractedAt,
    }),
  );
  // The configured key and cursor are the user's choice; the source's defaults stand in when
  // the catalog leaves them out, so that readers still know how to deduplicate (docs/layout.md,
  // "Manifests": primary_key, cursor_field; docs/reading.md, "Three rules").
  const primaryKey = configured.primary_key ?? configured.stream.source_defined_primary_key ?? [];
  const cursorField = configured.cursor_field ?? configured.stream.default_cursor_field ?? [];
  return {
    manifest_version: MANIFEST_VERSION,
    transfer_id: transfer.transferId,
    // Absent ids are 0, as in the rows' _airbyte_meta.sync_id and _airbyte_generation_id.
    sync_id: configured.sync_id ?? 0,
    model: input.model,
    stream: { name: configured.stream.name, namespace: configured.stream.namespace ?? null },
    transfer_date: transfer.transferDate,
    transfer_timestamp: transfer.transferTimestamp,
    status: input.status,
    started_at: transfer.startedAt,
    updated_at: isoUtc(input.now()),
    destination_sync_mode: configured.destination_sync_mode,
    generation_id: configured.generation_id ?? 0,
    minimum_generation_id: configured.minimum_generation_id ?? 0,
    primary_key: primaryKey.map(copyPath),
    cursor_field: copyPath(cursorField),
    format: { type: input.format.type, compression: input.format.compression },
    columns: input.columns.map((c) => ({ name: c.name, type: c.type })),
    files,
    record_count: files.reduce((sum, f) => sum + f.records, 0),
  };
}

/** The manifest in the documented key order, whatever order the object's keys were set in. */
function canonical(m: Manifest): Manifest {
  return {
    manifest_version: m.manifest_version,
    transfer_id: m.transfer_id,
    sync_id: m.sync_id,
    model: m.model,
    stream: { name: m.stream.name, namespace: m.stream.namespace },
    transfer_date: m.transfer_date,
    transfer_timestamp: m.transfer_timestamp,
    status: m.status,
    started_at: m.started_at,
    updated_at: m.updated_at,
    destination_sync_mode: m.destination_sync_mode,
    generation_id: m.generation_id,
    minimum_generation_id: m.minimum_generation_id,
    primary_key: m.primary_key,
    cursor_field: m.cursor_field,
    format: { type: m.format.type, compression: m.format.compression },
    columns: m.columns.map((c) => ({ name: c.name, type: c.type })),
    files: m.files.map((f) => ({
      key: f.key,
      records: f.records,
      bytes: f.bytes,
      sha256: f.sha256,
      min_extracted_at: f.min_extracted_at,
      max_extracted_at: f.max_extracted_at,
    })),
    record_count: m.record_count,
  };
}

/**
 * The object body: the manifest on one line, in the documented key order, with a final newline.
 * One line (JSON Lines) because Athena's JSON SerDe, Spark, Trino and BigQuery read one object a
 * line; a pretty-printed manifest would be unreadable to them.
 */
export function serializeManifest(m: Manifest): string {
  return JSON.stringify(canonical(m)) + '\n';
}

// src/write/ and dist/write/ both sit two levels below the package root.
const SCHEMA_PATH = fileURLToPath(new URL('../../spec/manifest.schema.json', import.meta.url));
let schema: Schema | undefined;

/** Where a value departs from spec/manifest.schema.json; empty when it conforms. */
export function manifestProblems(value: unknown): string[] {
  schema ??= JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')) as Schema;
  return new Validator().validate(value, schema).errors.map((e) => `${e.property}: ${e.message}`);
}
