// A local S3 for the demo and the Node 22 smoke test, on loopback only:
//   external  the server named by S3_TEST_ENDPOINT (and S3_TEST_ACCESS_KEY / S3_TEST_SECRET_KEY),
//             e.g. a development radosgw; nothing is started or stopped.
//   radosgw   Ceph's radosgw, started with scripts/s3-test-server/start.sh on free ports in a
//             temp directory (~15-25 s), stopped with stop.sh: the S3 the test suite uses.
//   s3rver    @20minutes/s3rver (a dev dependency), an S3 emulator in this process, files in a
//             temp directory. Limits: path-style requests and access keys only (its fixed pair
//             S3RVER/S3RVER; no STS, so no iam_role or web_identity credentials); encryption
//             headers are accepted and ignored (no SSE-KMS); no bucket policies, so no permission
//             can be denied; no checksum or conditional-write semantics beyond MD5 ETags. Enough
//             for check and write with access keys, which is what the demo runs.
//   auto      external when S3_TEST_ENDPOINT is set, else radosgw when it is installed, else s3rver.

import { spawn, execFile } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { promisify } from 'node:util';

const SCRIPTS = resolve(import.meta.dirname, '../s3-test-server');
const RADOSGW_KEYS = { accessKey: 'TESTERAK0000000000', secretKey: 'TESTERSK00000000000000000000000000000000' };
const RADOSGW_BINARIES = ['radosgw', 'ceph-mon', 'ceph-osd', 'ceph', 'ceph-authtool', 'monmaptool', 'radosgw-admin', 'curl'];

export const S3_MODES = ['auto', 'external', 'radosgw', 's3rver'];

function onPath(binary) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    try {
      accessSync(join(dir, binary), constants.X_OK);
      return true;
    } catch {
      // not in this directory
    }
  }
  return false;
}

/** The binaries start.sh needs that are not on PATH (empty when radosgw can be started). */
export function missingRadosgwBinaries() {
  return RADOSGW_BINARIES.filter((b) => !onPath(b));
}

export function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

/** Picks the mode `auto` stands for, from the environment and what is installed. */
export function resolveMode(mode = 'auto') {
  if (!S3_MODES.includes(mode)) throw new Error(`Unknown S3 mode "${mode}"; use one of ${S3_MODES.join(', ')}`);
  if (mode !== 'auto') return mode;
  if (process.env.S3_TEST_ENDPOINT) return 'external';
  return missingRadosgwBinaries().length === 0 ? 'radosgw' : 's3rver';
}

function external() {
  const endpoint = process.env.S3_TEST_ENDPOINT;
  if (!endpoint) throw new Error('S3_TEST_ENDPOINT is not set: name the S3 server to use, e.g. http://127.0.0.1:7480');
  const url = new URL(endpoint);
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname) && !url.hostname.startsWith('127.')) {
    throw new Error(`S3_TEST_ENDPOINT must be a loopback address (this script writes test data); got ${url.hostname}`);
  }
  return {
    kind: 'external',
    description: `the S3 server at ${endpoint} (S3_TEST_ENDPOINT)`,
    endpoint,
    accessKey: process.env.S3_TEST_ACCESS_KEY ?? RADOSGW_KEYS.accessKey,
    secretKey: process.env.S3_TEST_SECRET_KEY ?? RADOSGW_KEYS.secretKey,
    started: false,
    stop: async () => undefined,
  };
}

/**
 * Starts radosgw with start.sh on free ports. `onStop` receives the stop function before start.sh
 * runs, so that a caller interrupted (Ctrl-C) during the start can stop what was started; it is
 * safe to call at any point and more than once.
 */
async function radosgw({ onStop } = {}) {
  const missing = missingRadosgwBinaries();
  if (missing.length) {
    throw new Error(`radosgw cannot start: ${missing.join(', ')} not found. Install it with \`bash scripts/setup.sh\` (Debian/Ubuntu).`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'dse-local-rgw-'));
  const runDir = join(dir, 'run');
  const [rgw, sts, mon, monV1] = [await freePort(), await freePort(), await freePort(), await freePort()];
  let child;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (child && child.exitCode === null && child.signalCode === null) {
      const closed = new Promise((r) => child.once('close', r));
      try {
        process.kill(-child.pid, 'SIGTERM'); // its process group: start.sh and the command it runs
      } catch {
        child.kill('SIGTERM');
      }
      await closed;
    }
    await promisify(execFile)('bash', [join(SCRIPTS, 'stop.sh'), runDir]).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  };
  onStop?.(stop);
  const env = { ...process.env, RGW_PORT: String(rgw), RGW_STS_PORT: String(sts), MON_PORT: String(mon), MON_PORT_V1: String(monV1) };
  try {
    await new Promise((resolveStart, reject) => {
      // detached: its own process group, so that a Ctrl-C in the terminal reaches only us, and
      // we stop it (and the daemons it started) in order.
      child = spawn('bash', [join(SCRIPTS, 'start.sh'), runDir], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      let output = '';
      child.stdout.on('data', (d) => (output += d));
      child.stderr.on('data', (d) => (output += d));
      child.on('error', reject);
      child.on('close', (code, signal) =>
        code === 0
          ? resolveStart()
          : reject(new Error(`start.sh ${signal ? `was stopped by ${signal}` : `exited ${code}`}: ${output.trim().slice(-1500)}`)),
      );
    });
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    kind: 'radosgw',
    description: `radosgw on http://127.0.0.1:${rgw} (started for this run, data in memory)`,
    endpoint: `http://127.0.0.1:${rgw}`,
    ...RADOSGW_KEYS,
    started: true,
    stop,
  };
}

async function s3rver({ onStop } = {}) {
  let S3rver;
  try {
    S3rver = (await import('@20minutes/s3rver')).default;
  } catch (err) {
    throw new Error(
      'No local S3 is available: radosgw is not installed and the in-process emulator (@20minutes/s3rver, a dev dependency) ' +
        `cannot be loaded (${err.message}). Install the dev dependencies with \`npm ci\`, or radosgw with \`bash scripts/setup.sh\`.`,
    );
  }
  const dir = mkdtempSync(join(tmpdir(), 'dse-local-s3rver-'));
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: dir, vhostBuckets: false });
  let address;
  try {
    address = await server.run();
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    server.httpServer?.closeAllConnections?.();
    await server.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  };
  onStop?.(stop);
  return {
    kind: 's3rver',
    description: `the in-process S3 emulator @20minutes/s3rver on http://127.0.0.1:${address.port}`,
    endpoint: `http://127.0.0.1:${address.port}`,
    accessKey: 'S3RVER',
    secretKey: 'S3RVER',
    started: true,
    stop,
  };
}

/**
 * Starts (or names) the local S3 of the given mode. options.onStop receives the function that
 * stops it as soon as there is something to stop (before the start has finished).
 */
export async function startLocalS3(mode = 'auto', options = {}) {
  switch (resolveMode(mode)) {
    case 'external':
      return external();
    case 'radosgw':
      return radosgw(options);
    default:
      return s3rver(options);
  }
}
