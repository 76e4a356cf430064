import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  checkConfigFile,
  checkConnection,
  manifestPrefix,
  runCheck,
  testKeys,
  type CheckDependencies,
  type CheckTarget,
} from '../../src/commands/check.js';
import { buildConfig, type Config } from '../../src/config/config.js';
import { ConfigError } from '../../src/errors.js';
import { MessageWriter } from '../../src/protocol/output.js';
import { Redactor } from '../../src/redact.js';
import { S3ObjectStore } from '../../src/storage/s3-store.js';
import { fakeS3, type Call, type FailOn } from './support/fake-s3.js';

const NOW = new Date('2026-03-04T05:06:07.089Z');
const deps = { now: () => NOW, randomId: () => 'abc123' };

function config(extra: Record<string, unknown> = {}): Config {
  return buildConfig({
    s3_bucket_name: 'acme-exports',
    s3_bucket_region: 'us-east-1',
    s3_endpoint: 'http://127.0.0.1:9',
    folder: 'exports/product',
    credentials: { auth_type: 'iam_role', role_arn: 'arn:aws:iam:::role/S3Writer' },
    ...extra,
  });
}

function target(
  cfg: Config,
  failOn?: FailOn,
  credentials: CheckTarget['credentials'] = async () => ({ accessKeyId: 'a', secretAccessKey: 'b' }),
): { target: CheckTarget; calls: Call[] } {
  const { client, calls } = fakeS3(failOn);
  return { target: { credentials, store: new S3ObjectStore(client, cfg), close: () => client.destroy() }, calls };
}

const DATA_KEY = 'exports/product/_connection_check_20260304T050607089Z_abc123.txt';
const MANIFEST_KEY = '_manifests/_connection_check_20260304T050607089Z_abc123.json';

describe('check', () => {
  it('writes a test object under <folder> with a multipart upload and one under the manifest prefix, then deletes both', async () => {
    const cfg = config({ encryption: { mode: 'sse_kms', kms_key_arn: 'testkey-1' } });
    const { target: t, calls } = target(cfg);
    const status = await checkConnection(cfg, t, deps);
    expect(status.status).toBe('SUCCEEDED');
    expect(calls.map((c) => `${c.op} ${c.input.Key}`)).toEqual([
      `CreateMultipartUpload ${DATA_KEY}`,
      `UploadPart ${DATA_KEY}`,
      `CompleteMultipartUpload ${DATA_KEY}`,
      `PutObject ${MANIFEST_KEY}`,
      `DeleteObject ${DATA_KEY}`,
      `DeleteObject ${MANIFEST_KEY}`,
    ]);
    for (const c of calls.filter((c) => c.op === 'CreateMultipartUpload' || c.op === 'PutObject')) {
      expect(c.input).toMatchObject({ ServerSideEncryption: 'aws:kms', SSEKMSKeyId: 'testkey-1' });
    }
    expect(status.message).toContain('SSE-KMS with key testkey-1');
  });

  it('puts the manifest test object under <folder>/_manifests/ when manifest_location is folder', () => {
    expect(manifestPrefix({ folder: 'exports/product', manifestLocation: 'folder' })).toBe('exports/product/_manifests/');
    expect(manifestPrefix({ folder: '', manifestLocation: 'folder' })).toBe('_manifests/');
    expect(manifestPrefix({ folder: 'exports/product', manifestLocation: 'bucket_root' })).toBe('_manifests/');
    expect(testKeys({ folder: '', manifestLocation: 'bucket_root' }, NOW, 'x').data).toBe('_connection_check_20260304T050607089Z_x.txt');
  });

  it('reports a missing s3:DeleteObject, says it is needed for the test only, and names the objects left behind', async () => {
    const cfg = config();
    const { target: t, calls } = target(cfg, { op: 'DeleteObject', code: 'AccessDenied', status: 403 });
    const status = await checkConnection(cfg, t, deps);
    expect(status.status).toBe('FAILED');
    expect(status.message).toContain('s3:DeleteObject');
    expect(status.message).toContain('needed for the connection test only');
    expect(status.message).toContain(`left behind (delete by hand): s3://acme-exports/${DATA_KEY}, s3://acme-exports/${MANIFEST_KEY}`);
    expect(calls.filter((c) => c.op === 'DeleteObject')).toHaveLength(2);
  });

  it('deletes the test object it wrote when the manifest PutObject is denied', async () => {
    const cfg = config();
    const { target: t, calls } = target(cfg, { op: 'PutObject', code: 'AccessDenied', status: 403 });
    const status = await checkConnection(cfg, t, deps);
    expect(status.status).toBe('FAILED');
    expect(status.message).toMatch(/^PutObject of s3:\/\/acme-exports\/_manifests\/\S+ was denied/);
    expect(status.message).toContain('s3:PutObject on arn:aws:s3:::acme-exports/_manifests/*');
    expect(calls.filter((c) => c.op === 'DeleteObject').map((c) => c.input.Key)).toEqual([DATA_KEY]);
  });

  it('reports a failed multipart upload and leaves nothing to delete', async () => {
    const cfg = config();
    const { target: t, calls } = target(cfg, { op: 'CompleteMultipartUpload', code: 'InternalError', status: 500 });
    const status = await checkConnection(cfg, t, deps);
    expect(status.status).toBe('FAILED');
    expect(status.message).toMatch(/^The S3 endpoint http:\/\/127\.0\.0\.1:9 failed CompleteMultipartUpload/);
    expect(calls.map((c) => c.op)).toEqual(['CreateMultipartUpload', 'UploadPart', 'CompleteMultipartUpload', 'AbortMultipartUpload']);
  });

  it('reports a credentials failure before any S3 request', async () => {
    const cfg = config();
    const { target: t, calls } = target(cfg, undefined, async () => {
      throw new ConfigError('AssumeRole failed: the role arn:aws:iam:::role/S3Writer does not exist. Check role_arn');
    });
    const status = await checkConnection(cfg, t, deps);
    expect(status).toEqual({
      status: 'FAILED',
      message: 'Could not get credentials (STS AssumeRole): AssumeRole failed: the role arn:aws:iam:::role/S3Writer does not exist. Check role_arn',
    });
    expect(calls).toEqual([]);
  });
});

describe('check of the config file', () => {
  function file(content: string): string {
    const path = join(mkdtempSync(join(tmpdir(), 'check-unit-')), 'config.json');
    writeFileSync(path, content);
    return path;
  }
  const never: CheckDependencies = {
    ...deps,
    redactor: new Redactor(),
    connect: () => {
      throw new Error('must not connect');
    },
  };

  it('lists every problem of an invalid config, and registers its secrets before validating', async () => {
    const redactor = new Redactor();
    const raw = {
      s3_bucket_name: 'Bad_Bucket',
      file_size_mb: 0,
      credentials: { auth_type: 'access_key', access_key_id: 'AKIAEXAMPLE', secret_access_key: 'very-secret-value', extra: 1 },
      format: { format_type: 'avro' },
    };
    const status = await checkConfigFile(file(JSON.stringify(raw)), {}, { ...never, redactor });
    expect(status.status).toBe('FAILED');
    for (const path of ['s3_bucket_name', 's3_bucket_region', 'file_size_mb', 'credentials.extra', 'format.format_type'])
      expect(status.message).toContain(`${path}:`);
    expect(redactor.redact('very-secret-value')).not.toContain('very-secret-value');
  });

  it('reports an unreadable or malformed config file', async () => {
    expect((await checkConfigFile('/nonexistent/config.json', {}, never)).message).toContain('Cannot read the config file /nonexistent/config.json');
    expect((await checkConfigFile(file('{"s3_bucket_name": '), {}, never)).message).toContain('is not valid JSON');
  });

  it('ends a connection test whose store never answers at its deadline, naming the endpoint, and closes the store', async () => {
    let closed = false;
    const silence = (): Promise<never> => new Promise<never>(() => undefined);
    const hanging: CheckTarget = {
      credentials: async () => ({ accessKeyId: 'a', secretAccessKey: 'b' }),
      store: { upload: silence, put: silence, delete: silence } as unknown as CheckTarget['store'],
      close: () => {
        closed = true;
      },
    };
    const raw = {
      s3_bucket_name: 'acme-exports',
      s3_bucket_region: 'us-east-1',
      s3_endpoint: 'http://127.0.0.1:9',
      credentials: { auth_type: 'access_key', access_key_id: 'AKIAEXAMPLE', secret_access_key: 'secret-value' },
    };
    const started = Date.now();
    const status = await checkConfigFile(file(JSON.stringify(raw)), {}, { ...never, connect: () => hanging, deadlineMs: 200 });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(status.status).toBe('FAILED');
    expect(status.message).toMatch(
      /^The S3 endpoint http:\/\/127\.0\.0\.1:9 did not answer within 0 s, and the connection test was stopped, its clean-up included\. Check s3_endpoint/,
    );
    expect(closed).toBe(true);
  });

  it('names the STS endpoint when getting credentials never ends', async () => {
    const hanging: CheckTarget = { credentials: () => new Promise(() => undefined), store: {} as CheckTarget['store'], close: () => undefined };
    const raw = {
      s3_bucket_name: 'acme-exports',
      s3_bucket_region: 'eu-west-1',
      credentials: { auth_type: 'iam_role', role_arn: 'arn:aws:iam:::role/S3Writer' },
    };
    const run = (env: NodeJS.ProcessEnv) => checkConfigFile(file(JSON.stringify(raw)), env, { ...never, connect: () => hanging, deadlineMs: 100 });
    expect((await run({ AWS_ENDPOINT_URL_STS: 'http://127.0.0.1:7481' })).message).toBe(
      'Could not get credentials (STS AssumeRole): The STS endpoint http://127.0.0.1:7481 (AWS_ENDPOINT_URL_STS) did not answer within 0 s, and the connection test was stopped. Check the network path to it (firewall, proxy), then retry.',
    );
    expect((await run({})).message).toContain('Could not get credentials (STS AssumeRole): AWS STS in region eu-west-1 did not answer within 0 s');
  });

  it('prints one CONNECTION_STATUS message', async () => {
    const sink = new PassThrough();
    const chunks: Buffer[] = [];
    sink.on('data', (c: Buffer) => chunks.push(c));
    await runCheck('/nonexistent/config.json', new MessageWriter(sink, new Redactor()), { stdin: new PassThrough(), stdout: sink, env: {} }, never);
    const lines = Buffer.concat(chunks).toString('utf8').trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ type: 'CONNECTION_STATUS', connectionStatus: { status: 'FAILED' } });
  });
});
