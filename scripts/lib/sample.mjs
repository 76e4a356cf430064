// The sample sync (integration_tests/sample/) and what the demo and the smoke test do with it:
// a config for a given S3 server, the connector run as an orchestrator runs it, and the bucket
// listed, read and removed with the AWS SDK.

import { spawn } from 'node:child_process';
import { createReadStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { CreateBucketCommand, DeleteBucketCommand, DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';

export const ROOT = resolve(import.meta.dirname, '../..');
export const MAIN = join(ROOT, 'dist/main.js');
export const SAMPLE_DIR = join(ROOT, 'integration_tests/sample');
export const SAMPLE_CATALOG = join(SAMPLE_DIR, 'configured_catalog.json');
export const SAMPLE_MESSAGES = join(SAMPLE_DIR, 'messages.jsonl');
/** One stream name in two namespaces: public.users and billing.users (docs/layout.md, "Namespaces"). */
export const NAMESPACES_CATALOG = join(SAMPLE_DIR, 'namespaces/configured_catalog.json');
export const NAMESPACES_MESSAGES = join(SAMPLE_DIR, 'namespaces/messages.jsonl');

/** What the sample holds: records per stream and the number of STATE messages, counted from the file. */
export function sampleCounts() {
  const records = {};
  let states = 0;
  for (const line of readFileSync(SAMPLE_MESSAGES, 'utf8').split('\n')) {
    if (line.startsWith('{"type":"RECORD"')) {
      const stream = JSON.parse(line).record.stream;
      records[stream] = (records[stream] ?? 0) + 1;
    } else if (line.startsWith('{"type":"STATE"')) states++;
  }
  return { records, states, total: Object.values(records).reduce((a, b) => a + b, 0) };
}

/** sample_config.json with the server's endpoint and keys and the bucket filled in. */
export function sampleConfig(server, bucket) {
  const config = JSON.parse(readFileSync(join(SAMPLE_DIR, 'sample_config.json'), 'utf8'));
  config.s3_bucket_name = bucket;
  config.s3_endpoint = server.endpoint;
  config.credentials = { ...config.credentials, access_key_id: server.accessKey, secret_access_key: server.secretKey };
  return config;
}

export function s3Client(server) {
  const client = new S3Client({
    endpoint: server.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKey, secretAccessKey: server.secretKey },
    // S3-compatible stores reject or mangle the SDK's default streaming checksums.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  if (server.kind === 's3rver') {
    // s3rver checks the signature of a bucket-level request (CreateBucket, ListObjectsV2,
    // DeleteBucket) against "/bucket", while the SDK sends and signs "/bucket/". Send what it
    // checks. The connector makes object requests only, which it verifies as sent.
    client.middlewareStack.add(
      (next) => (args) => {
        const request = args.request;
        if (typeof request?.path === 'string' && /^\/[^/]+\/$/.test(request.path)) request.path = request.path.slice(0, -1);
        return next(args);
      },
      { step: 'build', name: 's3rverBucketPath' },
    );
  }
  return client;
}

export async function createBucket(client, bucket) {
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
}

/** Every object of the bucket: [{key, size}], sorted by key. */
export async function listObjects(client, bucket) {
  const objects = [];
  let token;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    for (const o of page.Contents ?? []) objects.push({ key: o.Key, size: o.Size ?? 0 });
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return objects.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

export async function getObject(client, bucket, key) {
  const res = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await res.Body.transformToByteArray());
}

/** Copies every object of the bucket under dir, keys as paths. */
export async function downloadBucket(client, bucket, dir) {
  const objects = await listObjects(client, bucket);
  for (const { key } of objects) {
    const path = join(dir, key);
    if (!path.startsWith(dir + '/')) throw new Error(`Refusing to write the key ${key} outside ${dir}`);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, await getObject(client, bucket, key));
  }
  return objects;
}

/** Deletes every object, then the bucket. */
export async function removeBucket(client, bucket) {
  for (const { key } of await listObjects(client, bucket)) await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  await client.send(new DeleteBucketCommand({ Bucket: bucket }));
}

/**
 * Runs the built connector as an orchestrator does: `node dist/main.js <args>`, stdin from a file
 * (or nothing; onInput counts the bytes sent), every stdout line parsed as it arrives and handed to onMessage. Resolves with the
 * exit code, the stdout lines and stderr. `onChild` receives the process (to stop it on Ctrl-C).
 */
export function runConnector(args, { stdinFile, onInput, onMessage, onChild, env } = {}) {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], {
      env: { ...process.env, AWS_EC2_METADATA_DISABLED: 'true', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    onChild?.(child);
    const lines = [];
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    createInterface({ input: child.stdout }).on('line', (line) => {
      lines.push(line);
      let message;
      try {
        message = JSON.parse(line);
      } catch {
        message = { type: 'NOT_JSON', line };
      }
      onMessage?.(message, line);
    });
    child.on('error', reject);
    child.stdin.on('error', () => undefined); // the connector may stop reading early
    if (stdinFile) {
      // Piped with back-pressure: bytes read here are bytes the connector has (nearly) taken in.
      const input = createReadStream(stdinFile);
      if (onInput) input.on('data', (chunk) => onInput(chunk.length));
      input.pipe(child.stdin);
    } else child.stdin.end();
    child.on('close', (code, signal) => resolveRun({ code, signal, lines, stderr }));
  });
}
