// Object keys of data files and manifests (docs/layout.md, "Object keys"):
//   <folder>/<model>/dt=<transfer_date>/part-00000_<transfer_timestamp>.<ext>
//   _manifests/<model>/dt=<transfer_date>/manifest_<transfer_id>.json          (bucket_root)
//   <folder>/_manifests/<model>/dt=<transfer_date>/manifest_<transfer_id>.json (folder)
// where <model> is `<name>` or `<namespace>/<name>` (model-name.ts). No leading '/' when the
// folder is empty. The builders check their inputs: a malformed part here would put an object
// where no reader looks for it.

import { ConfigError, SystemError } from '../errors.js';
import { MODEL_PATTERN } from './model-name.js';
import { UUIDV7_PATTERN } from './transfer.js';

/** S3's limit for a key, in UTF-8 bytes. */
export const MAX_KEY_BYTES = 1024;

/**
 * The longest folder accepted, in UTF-8 bytes. The longest key below a folder, for a stream
 * without namespace, is a manifest key: '/_manifests/' + a 200-character model +
 * '/dt=YYYY-MM-DD/manifest_' + a 36-character id + '.json' = 277 bytes, so 747 bytes would fit;
 * 700 leaves room. A namespace segment adds up to 201 bytes: `write` checks each stream's keys
 * before it starts (locations.ts, assertDistinctLocations).
 */
export const MAX_FOLDER_BYTES = 700;

export const MANIFESTS_DIR = '_manifests';

export type ManifestLocation = 'bucket_root' | 'folder';

export const DATA_EXTENSIONS = ['parquet', 'csv', 'csv.gz', 'jsonl', 'jsonl.gz'] as const;
export type DataExtension = (typeof DATA_EXTENSIONS)[number];

const DATE = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;
const TIMESTAMP = /^\d{8}T\d{9}Z$/;

function invalid(what: string, value: unknown): never {
  throw new SystemError(`Cannot build an object key: ${what} ${JSON.stringify(value)} is malformed.`);
}

/** The folder without trailing '/'; the config refuses leading '/' and '..' segments already. */
function normaliseFolder(folder: string): string {
  const f = folder.replace(/\/+$/, '');
  if (f.startsWith('/') || f.split('/').includes('..')) invalid('folder', folder);
  return f;
}

function join(folder: string, rest: string): string {
  const key = folder ? `${folder}/${rest}` : rest;
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) {
    throw new ConfigError(
      `The object key ${JSON.stringify(key.slice(0, 80))}… is longer than S3's limit of ${MAX_KEY_BYTES} bytes; use a folder of at most ${MAX_FOLDER_BYTES} bytes (and, for a stream with a namespace, a shorter namespace or stream name).`,
    );
  }
  return key;
}

function checkCommon(model: string, transferDate: string): void {
  if (!MODEL_PATTERN.test(model)) invalid('model', model);
  if (!DATE.test(transferDate)) invalid('transfer date', transferDate);
}

/** part-00000, part-00001, …; more digits past 99999 (25 TB at the default file size). */
export function filePart(part: number): string {
  if (!Number.isSafeInteger(part) || part < 0) invalid('part number', part);
  return `part-${String(part).padStart(5, '0')}`;
}

export interface DataKeyParts {
  folder: string;
  model: string;
  transferDate: string;
  /** 0 for the first file of the model in this transfer. */
  part: number;
  transferTimestamp: string;
  /** parquet, csv, csv.gz, jsonl or jsonl.gz (StreamConverter.extension). */
  extension: string;
}

export function dataKey(p: DataKeyParts): string {
  checkCommon(p.model, p.transferDate);
  if (!TIMESTAMP.test(p.transferTimestamp)) invalid('transfer timestamp', p.transferTimestamp);
  if (!(DATA_EXTENSIONS as readonly string[]).includes(p.extension)) invalid('extension', p.extension);
  return join(normaliseFolder(p.folder), `${p.model}/dt=${p.transferDate}/${filePart(p.part)}_${p.transferTimestamp}.${p.extension}`);
}

/** The prefix all manifests live under, with its trailing '/': `_manifests/` or `<folder>/_manifests/`. */
export function manifestsPrefix(location: ManifestLocation, folder: string): string {
  const f = location === 'folder' ? normaliseFolder(folder) : '';
  return f ? `${f}/${MANIFESTS_DIR}/` : `${MANIFESTS_DIR}/`;
}

export interface ManifestKeyParts {
  location: ManifestLocation;
  folder: string;
  model: string;
  transferDate: string;
  transferId: string;
}

export function manifestKey(p: ManifestKeyParts): string {
  checkCommon(p.model, p.transferDate);
  if (!UUIDV7_PATTERN.test(p.transferId)) invalid('transfer id', p.transferId);
  if (p.location !== 'bucket_root' && p.location !== 'folder') invalid('manifest location', p.location);
  const folder = p.location === 'folder' ? normaliseFolder(p.folder) : '';
  return join(folder, `${MANIFESTS_DIR}/${p.model}/dt=${p.transferDate}/manifest_${p.transferId}.json`);
}
