// What the integration tests know of the S3 server: provided by global-setup.ts.

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { inject } from 'vitest';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';

export interface S3TestServer {
  /** S3 gateway with AWS-like auth errors (SignatureDoesNotMatch, InvalidAccessKeyId). */
  endpoint: string;
  /** Gateway with STS (AssumeRole, session tokens). */
  stsEndpoint: string;
  accessKey: string;
  secretKey: string;
  /** ceph.conf for radosgw-admin fixtures (extra users, roles, OIDC); absent on a foreign server. */
  cephConf: string | undefined;
  /** A role the test user may assume, with s3:* on every bucket. */
  roleArn: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    s3: S3TestServer;
  }
}

export function s3Server(): S3TestServer {
  return inject('s3');
}

/** An S3 client with the test user's keys, for fixtures and for reading back what was written. */
export function adminClient(server: S3TestServer = s3Server(), endpoint = server.endpoint): S3Client {
  return new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKey, secretAccessKey: server.secretKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** Creates a bucket with a unique name (tests never share buckets). */
export async function freshBucket(prefix = 'test'): Promise<string> {
  const name = `${prefix}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`.toLowerCase().slice(0, 63);
  const client = adminClient();
  await client.send(new CreateBucketCommand({ Bucket: name }));
  client.destroy();
  return name;
}

const execFileP = promisify(execFile);

/** Runs radosgw-admin against the test cluster; JSON output parsed, other output as text. */
export async function radosgwAdmin(args: string[]): Promise<unknown> {
  const conf = s3Server().cephConf;
  if (!conf) throw new Error('radosgw-admin fixtures need S3_TEST_CEPH_CONF (or the self-started server)');
  const { stdout } = await execFileP('radosgw-admin', ['-c', conf, ...args]);
  const text = stdout.trim();
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text; // some subcommands (role-policy put, …) print a sentence, not JSON
  }
}

/** A new S3 user with its own keys (for least-privilege tests with bucket policies). */
export async function createUser(uid: string): Promise<{ uid: string; accessKey: string; secretKey: string }> {
  const suffix = randomBytes(4).toString('hex');
  const id = `${uid}-${suffix}`;
  const accessKey = `AK${randomBytes(9).toString('hex').toUpperCase()}`;
  const secretKey = randomBytes(20).toString('hex');
  await radosgwAdmin(['user', 'create', `--uid=${id}`, `--display-name=${id}`, `--access-key=${accessKey}`, `--secret-key=${secretKey}`]);
  return { uid: id, accessKey, secretKey };
}
