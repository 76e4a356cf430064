// The typed Config, built from a raw config that passed validation. Defaults are read from
// spec/spec.json (never repeated here); only machine-derived bounds are computed.

import { readFileSync, statfsSync } from 'node:fs';
import os from 'node:os';
import { ConfigError } from '../errors.js';
import { globalRedactor, secretPropertyNames, secretValuesIn, type Redactor } from '../redact.js';
import { assertValidConfig } from './validate.js';
import { connectionSpecification } from './spec.js';

export type Credentials =
  | { authType: 'iam_role'; roleArn: string; externalId?: string; roleSessionName: string }
  | { authType: 'web_identity'; roleArn: string; webIdentityTokenFile: string; roleSessionName: string }
  | { authType: 'access_key'; accessKeyId: string; secretAccessKey: string; sessionToken?: string }
  | { authType: 'default_chain' };

export type Encryption = { mode: 'bucket_default' } | { mode: 'sse_s3' } | { mode: 'sse_kms'; kmsKeyArn: string };

export type Format =
  | { type: 'parquet'; compression: 'snappy' | 'zstd' | 'gzip' | 'uncompressed' }
  | { type: 'csv'; compression: 'none' | 'gzip' }
  | { type: 'jsonl'; compression: 'none' | 'gzip' };

export interface Config {
  bucket: string;
  region: string;
  /** Key prefix without leading or trailing '/'; '' when none. */
  folder: string;
  credentials: Credentials;
  encryption: Encryption;
  format: Format;
  fileSizeBytes: number;
  flushIntervalMs: number;
  manifestLocation: 'bucket_root' | 'folder';
  /** Whether a stream's namespace is a folder of its keys (docs/layout.md). */
  namespaceLayout: 'by_namespace' | 'flat';
  /** Custom endpoint of an S3-compatible store, when set. */
  endpoint: string | undefined;
  memoryBudgetBytes: number;
  tempDiskBudgetBytes: number;
  uploadConcurrency: number;
}

const MB = 1024 * 1024;

type Json = Record<string, unknown>;

function specDefault(path: string[]): unknown {
  let node: unknown = connectionSpecification();
  for (const key of path) node = ((node as Json).properties as Json)[key];
  return (node as Json).default;
}

function branchDefault(group: string, discriminatorValue: string, field: string): unknown {
  const oneOf = ((connectionSpecification().properties as Json)[group] as Json).oneOf as Json[];
  for (const branch of oneOf) {
    const props = branch.properties as Json;
    if (Object.values(props).some((p) => (p as Json).const === discriminatorValue)) return (props[field] as Json | undefined)?.default;
  }
  return undefined;
}

/**
 * The memory the process may use: the container's limit (cgroup) when there is one, else the
 * machine's. os.totalmem() alone would report the host's memory inside a small pod.
 */
export function availableMemoryBytes(): number {
  const total = os.totalmem();
  const constrained = typeof process.constrainedMemory === 'function' ? process.constrainedMemory() : 0;
  return constrained && constrained > 0 && constrained < total ? constrained : total;
}

/** A quarter of the available memory, kept between 256 MB and 2 GB. */
export function defaultMemoryBudgetBytes(totalMem = availableMemoryBytes()): number {
  return Math.min(2048 * MB, Math.max(256 * MB, Math.floor(totalMem / 4)));
}

/** The bytes of `dir`'s file system that this process may still write (statfs: available blocks × block size). */
export function freeSpaceBytes(dir: string): number {
  const fs = statfsSync(dir);
  return Number(fs.bavail) * Number(fs.bsize);
}

/**
 * The share of the free space the default budget takes. Half, not more: the pipeline can pass its
 * budget while a file converts beside its spool and the next spool fills (by more than a quarter of it in
 * one run: docs/reliability.md, "Known limits"), and what it passes must still be free.
 */
const FREE_SPACE_SHARE = 0.5;

/**
 * 8 GB, or half the free space of the temp directory's file system when that is less, as
 * docs/operations.md promises: never more than is free, so that a small TMPDIR means smaller files
 * cut sooner (the pipeline spends the budget), not ENOSPC. There is no floor: a floor above the
 * free space is a budget the disk cannot hold. When the free space cannot be read, 8 GB.
 */
export function defaultTempDiskBudgetBytes(dir = os.tmpdir(), freeBytes: (dir: string) => number = freeSpaceBytes): number {
  let free: number;
  try {
    free = freeBytes(dir);
  } catch {
    return 8192 * MB;
  }
  return Math.min(8192 * MB, Math.max(0, Math.floor(free * FREE_SPACE_SHARE)));
}

/**
 * The least temp disk a sync makes progress with (a spool, its converted file and upload parts):
 * below it the default budget would stall or cut a file per record, so it is refused instead.
 */
export const MIN_TEMP_DISK_BYTES = 32 * MB;

/** The default budget, or a ConfigError naming the temp directory when its free space is too small. */
export function usableTempDiskDefault(budgetBytes: number, dir = os.tmpdir()): number {
  if (budgetBytes >= MIN_TEMP_DISK_BYTES) return budgetBytes;
  throw new ConfigError(
    `The temp directory ${dir} (TMPDIR) has about ${Math.floor(budgetBytes / FREE_SPACE_SHARE / MB)} MB free; a sync needs at least ${Math.ceil(MIN_TEMP_DISK_BYTES / FREE_SPACE_SHARE / MB)} MB there. ` +
      'Free space there, or point TMPDIR at a larger file system.',
  );
}

/** Builds the typed Config; throws a ConfigError listing every problem of an invalid one. */
export function buildConfig(raw: unknown): Config {
  assertValidConfig(raw, connectionSpecification());
  const c = raw as Json;
  const get = <T>(key: string): T => (c[key] ?? specDefault([key])) as T;
  const fileSizeMb = get<number>('file_size_mb');
  return {
    bucket: c.s3_bucket_name as string,
    region: c.s3_bucket_region as string,
    folder: get<string>('folder').replace(/\/+$/, ''),
    credentials: toCredentials(get<Json>('credentials')),
    encryption: toEncryption(get<Json>('encryption')),
    format: toFormat(get<Json>('format')),
    fileSizeBytes: fileSizeMb * MB,
    flushIntervalMs: get<number>('flush_interval_seconds') * 1000,
    manifestLocation: get<'bucket_root' | 'folder'>('manifest_location'),
    namespaceLayout: get<'by_namespace' | 'flat'>('namespace_layout'),
    endpoint: get<string>('s3_endpoint') || undefined,
    memoryBudgetBytes: typeof c.memory_budget_mb === 'number' ? c.memory_budget_mb * MB : defaultMemoryBudgetBytes(),
    tempDiskBudgetBytes: typeof c.temp_disk_budget_mb === 'number' ? c.temp_disk_budget_mb * MB : usableTempDiskDefault(defaultTempDiskBudgetBytes()),
    uploadConcurrency: get<number>('upload_concurrency'),
  };
}

function toCredentials(c: Json): Credentials {
  const sessionName =
    (c.role_session_name as string | undefined) ?? (branchDefault('credentials', c.auth_type as string, 'role_session_name') as string);
  switch (c.auth_type) {
    case 'iam_role':
      return {
        authType: 'iam_role',
        roleArn: c.role_arn as string,
        ...(c.external_id ? { externalId: c.external_id as string } : {}),
        roleSessionName: sessionName,
      };
    case 'web_identity':
      return {
        authType: 'web_identity',
        roleArn: c.role_arn as string,
        webIdentityTokenFile: c.web_identity_token_file as string,
        roleSessionName: sessionName,
      };
    case 'access_key':
      return {
        authType: 'access_key',
        accessKeyId: c.access_key_id as string,
        secretAccessKey: c.secret_access_key as string,
        ...(c.session_token ? { sessionToken: c.session_token as string } : {}),
      };
    default:
      return { authType: 'default_chain' };
  }
}

function toEncryption(e: Json): Encryption {
  if (e.mode === 'sse_kms') return { mode: 'sse_kms', kmsKeyArn: e.kms_key_arn as string };
  return { mode: e.mode as 'bucket_default' | 'sse_s3' };
}

function toFormat(f: Json): Format {
  const type = f.format_type as Format['type'];
  const field = type === 'parquet' ? 'compression_codec' : 'compression';
  const compression = (f[field] ?? branchDefault('format', type, field)) as string;
  return { type, compression } as Format;
}

/** Registers every secret of a raw config with the redactor, before anything can print it. */
export function registerSecrets(raw: unknown, redactor: Redactor = globalRedactor): void {
  for (const s of secretValuesIn(raw, secretPropertyNames(connectionSpecification()))) redactor.add(s);
}

/** Reads and parses a `--config` file; a missing or malformed file is a ConfigError. */
export function readJsonFile(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`Cannot read the ${what} file ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    // The parser's message quotes the text around the error, which may be a secret: give the
    // position only.
    const position = /position (\d+)/.exec((err as Error).message)?.[1];
    throw new ConfigError(`The ${what} file ${path} is not valid JSON${position ? ` (error at character ${position})` : ''}.`);
  }
}
