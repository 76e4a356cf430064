// The invariants the reliability tests check after every run (docs/architecture.md, "How the tests
// are laid out"): every file a manifest lists exists, complete, with the listed byte count, SHA-256
// and record count (read back by hyparquet); no key is listed twice; no row id appears twice; every
// echoed STATE has its records in listed files; no multipart upload is left behind.

import { createHash } from 'node:crypto';
import { DeleteObjectCommand, ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { parquetReadObjects } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { afterAll, expect } from 'vitest';
import { getJson, getObject, listKeys } from './read-back.js';
import { adminClient, freshBucket } from './server.js';
import { stateToken, type Workload } from './workload.js';

export interface ManifestFile {
  key: string;
  records: number;
  bytes: number;
  sha256: string;
}

export interface Manifest {
  transfer_id: string;
  model: string;
  status: string;
  files: ManifestFile[];
  record_count: number;
  [field: string]: unknown;
}

/** Manifest keys in the bucket, optionally only those of one transfer. */
export async function manifestKeys(bucket: string, transferId?: string): Promise<string[]> {
  const keys = (await listKeys(bucket, '_manifests/')).filter((k) => k.endsWith('.json'));
  return transferId ? keys.filter((k) => k.endsWith(`manifest_${transferId}.json`)) : keys;
}

export function transferIdOf(manifestKey: string): string {
  return /manifest_([^/]+)\.json$/.exec(manifestKey)![1]!;
}

/** The transfers that have manifests in the bucket. */
export async function transferIds(bucket: string): Promise<Set<string>> {
  return new Set((await manifestKeys(bucket)).map(transferIdOf));
}

export async function readManifests(bucket: string, keys: readonly string[]): Promise<Manifest[]> {
  return Promise.all(keys.map((k) => getJson<Manifest>(bucket, k)));
}

/** The `id` column of a Parquet file, decoded by hyparquet. */
async function parquetIds(data: Buffer): Promise<number[]> {
  const file = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
  const rows = await parquetReadObjects({ file, compressors, columns: ['id'] });
  return rows.map((r) => Number(r.id));
}

/**
 * Reads every file the manifests list and checks it against its entry (exists, bytes, SHA-256,
 * records, no key listed twice). Returns the ids read, by model.
 */
export async function readListedFiles(bucket: string, manifests: readonly Manifest[]): Promise<Map<string, number[]>> {
  const existing = new Set(await listKeys(bucket));
  const listed = new Set<string>();
  const ids = new Map<string, number[]>();
  for (const m of manifests) {
    const got = ids.get(m.model) ?? [];
    ids.set(m.model, got);
    expect(m.record_count, `record_count of ${m.model}`).toBe(m.files.reduce((n, f) => n + f.records, 0));
    for (const f of m.files) {
      expect(listed.has(f.key), `${f.key} listed twice`).toBe(false);
      listed.add(f.key);
      expect(existing.has(f.key), `${f.key} is listed by the manifest of ${m.model} but does not exist`).toBe(true);
      const data = await getObject(bucket, f.key);
      expect(data.length, `bytes of ${f.key}`).toBe(f.bytes);
      expect(createHash('sha256').update(data).digest('hex'), `sha256 of ${f.key}`).toBe(f.sha256);
      const fileIds = await parquetIds(data);
      expect(fileIds.length, `records of ${f.key}`).toBe(f.records);
      got.push(...fileIds);
    }
  }
  return ids;
}

/** No id appears twice within a model. */
export function expectNoDuplicateIds(ids: Map<string, number[]>): void {
  for (const [model, list] of ids) {
    const seen = new Set<number>();
    const dups = list.filter((id) => (seen.has(id) ? true : (seen.add(id), false)));
    expect(dups, `duplicate ids in ${model}`).toEqual([]);
  }
}

/** The cursor tokens of the STATE messages a run printed, in order. */
export function echoedTokens(messages: readonly Record<string, any>[]): string[] {
  return messages.filter((m) => m.type === 'STATE').map((m) => stateToken(m)!);
}

/** Every echoed state's records (ids 0 … n-1 of each stream it covers) are in listed files. */
export function expectEchoedCovered(workload: Workload, tokens: readonly string[], ids: Map<string, number[]>): void {
  const info = new Map(workload.states.map((s) => [s.token, s]));
  const have = new Map([...ids].map(([m, l]) => [m, new Set(l)]));
  for (const token of tokens) {
    const state = info.get(token);
    expect(state, `echoed state ${token} was sent`).toBeDefined();
    for (const [stream, count] of state!.covers) {
      const got = have.get(stream) ?? new Set<number>();
      const missing: number[] = [];
      for (let id = 0; id < count; id++) if (!got.has(id)) missing.push(id);
      expect(
        missing.slice(0, 10),
        `state ${token} (line ${state!.line}) was echoed but ${missing.length} of its ${stream} records are not in listed files`,
      ).toEqual([]);
    }
  }
}

/** States are echoed in input order, each at most once. */
export function expectInInputOrder(workload: Workload, tokens: readonly string[]): void {
  const order = new Map(workload.states.map((s, i) => [s.token, i]));
  const positions = tokens.map((t) => order.get(t)!);
  expect(positions).toEqual([...positions].sort((a, b) => a - b));
  expect(new Set(tokens).size).toBe(tokens.length);
}

export async function multipartUploads(bucket: string): Promise<string[]> {
  const client = adminClient();
  try {
    const out = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
    return (out.Uploads ?? []).map((u) => u.Key!);
  } finally {
    client.destroy();
  }
}

/** Data objects (outside _manifests/) that no manifest lists. */
export async function unlistedDataObjects(bucket: string, manifests: readonly Manifest[]): Promise<string[]> {
  const listed = new Set(manifests.flatMap((m) => m.files.map((f) => f.key)));
  return (await listKeys(bucket)).filter((k) => !k.startsWith('_manifests/') && !listed.has(k));
}

/** Deletes every object of a test bucket (big test data must not pile up on the shared server). */
export async function emptyBucket(bucket: string): Promise<void> {
  const client = adminClient();
  try {
    for (const key of await listKeys(bucket, '', client)) await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  } finally {
    client.destroy();
  }
}

/** freshBucket() for a test file whose buckets are emptied once its tests are done. */
export function cleanedBuckets(): (prefix: string) => Promise<string> {
  const made: string[] = [];
  afterAll(async () => {
    for (const bucket of made) await emptyBucket(bucket).catch(() => undefined);
  });
  return async (prefix) => {
    const bucket = await freshBucket(prefix);
    made.push(bucket);
    return bucket;
  };
}
