// docs/architecture.md, "How the tests are laid out": unless S3_TEST_ENDPOINT is set, start our own
// radosgw (scripts/s3-test-server) on free loopback ports, own its keys and admin config, and stop
// it afterwards. With S3_TEST_ENDPOINT set, use that server as it is.

import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';
import type { S3TestServer } from './server.js';

const run = promisify(execFile);
const SCRIPTS = resolve(import.meta.dirname, '../../scripts/s3-test-server');

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => res(port));
    });
  });
}

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  const env = process.env;
  if (env.S3_TEST_ENDPOINT) {
    const server: S3TestServer = {
      endpoint: env.S3_TEST_ENDPOINT,
      stsEndpoint: env.S3_TEST_STS_ENDPOINT ?? env.S3_TEST_ENDPOINT,
      accessKey: env.S3_TEST_ACCESS_KEY ?? 'TESTERAK0000000000',
      secretKey: env.S3_TEST_SECRET_KEY ?? 'TESTERSK00000000000000000000000000000000',
      cephConf: env.S3_TEST_CEPH_CONF,
      roleArn: env.S3_TEST_ROLE_ARN ?? 'arn:aws:iam:::role/S3Writer',
    };
    project.provide('s3', server);
    return undefined;
  }
  const dir = mkdtempSync(join(tmpdir(), 's3-test-server-'));
  const [rgw, sts, mon, monV1] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const scriptEnv = { ...env, RGW_PORT: String(rgw), RGW_STS_PORT: String(sts), MON_PORT: String(mon), MON_PORT_V1: String(monV1) };
  const stop = async (): Promise<void> => {
    await run('bash', [join(SCRIPTS, 'stop.sh'), join(dir, 'run')]).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await run('bash', [join(SCRIPTS, 'start.sh'), join(dir, 'run')], { env: scriptEnv, timeout: 170_000 });
  } catch (err) {
    await stop();
    const e = err as { stderr?: string; message: string };
    throw new Error(
      `Could not start radosgw for the integration tests (${e.message}). Install it with ` +
        '`apt-get install -y --no-install-recommends radosgw ceph-mon ceph-osd`, or point S3_TEST_ENDPOINT at a running server.\n' +
        (e.stderr ?? ''),
    );
  }
  const server: S3TestServer = {
    endpoint: `http://127.0.0.1:${rgw}`,
    stsEndpoint: `http://127.0.0.1:${sts}`,
    accessKey: 'TESTERAK0000000000',
    secretKey: 'TESTERSK00000000000000000000000000000000',
    cephConf: join(dir, 'run', 'ceph.conf'),
    roleArn: 'arn:aws:iam:::role/S3Writer',
  };
  project.provide('s3', server);
  return stop;
}
