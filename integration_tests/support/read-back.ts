// Reads back what a run wrote: object listings, manifests, and data files decoded by an
// independent reader (hyparquet for Parquet; plain text parsing for CSV/JSONL).

import { gunzipSync } from 'node:zlib';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { parquetReadObjects } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { adminClient } from './server.js';

export async function listKeys(bucket: string, prefix = '', client: S3Client = adminClient()): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of page.Contents ?? []) if (o.Key) keys.push(o.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys.sort();
}

export async function getObject(bucket: string, key: string, client: S3Client = adminClient()): Promise<Buffer> {
  const res = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await res.Body!.transformToByteArray());
}

export async function getJson<T = any>(bucket: string, key: string, client?: S3Client): Promise<T> {
  return JSON.parse((await getObject(bucket, key, client)).toString('utf8')) as T;
}

/** Every manifest in the bucket, parsed. */
export async function manifests(bucket: string, prefix = '_manifests/', client?: S3Client): Promise<any[]> {
  const keys = (await listKeys(bucket, prefix, client)).filter((k) => k.endsWith('.json'));
  return Promise.all(keys.map((k) => getJson(bucket, k, client)));
}

/** Rows of a Parquet file, decoded by hyparquet (not DuckDB, which wrote it). */
export async function parquetRows(data: Buffer): Promise<Record<string, unknown>[]> {
  const file = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
  return (await parquetReadObjects({ file, compressors })) as Record<string, unknown>[];
}

/** Rows of a JSONL (optionally gzipped) file. */
export function jsonlRows(data: Buffer, gzip = false): Record<string, unknown>[] {
  const text = (gzip ? gunzipSync(data) : data).toString('utf8');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
