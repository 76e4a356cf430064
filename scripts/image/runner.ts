// Runs the built image as an orchestrator runs it: one container per command, the image's own
// ENTRYPOINT and user, config files mounted read-only under /secrets, stdin piped, every stdout
// line parsed. Podman where it runs on this machine (a container with its own PID namespace, so
// that tini is PID 1 and a SIGTERM reaches it as it would from `docker stop`); else `buildah run`
// with the entrypoint's command line in a working container of the image (no PID namespace of its
// own, no read-only root: the tests that need them are skipped, and say so).
// scripts/image-test.sh picks the runner and its flags (IMAGE_TEST_RUNNER, IMAGE_TEST_PODMAN_GLOBAL, IMAGE_TEST_PODMAN_RUN).

import { execFile, spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

export const IMAGE = process.env.IMAGE_TEST_IMAGE ?? 'localhost/airbyte/destination-s3-export:0.1.0';
export const RUNNER = process.env.IMAGE_TEST_RUNNER === 'podman' ? 'podman' : 'buildah';
/** Every container and working container of this run is named with this prefix (the script's trap removes them). */
export const NAME_PREFIX = `dse-image-test-${process.env.IMAGE_TEST_RUN_ID ?? process.pid}`;
/** The storage flags of every buildah and podman call: the same storage the image was built in. */
const STORAGE = ['--storage-driver', 'vfs'];
/** Podman's flags for this machine, global (e.g. `--runtime runc`) and of `podman run` (e.g. `--ulimit`). */
const PODMAN_GLOBAL = [...STORAGE, ...(process.env.IMAGE_TEST_PODMAN_GLOBAL ?? '').split(' ').filter(Boolean)];
const PODMAN_RUN = (process.env.IMAGE_TEST_PODMAN_RUN ?? '').split(' ').filter(Boolean);

export function buildah(args: string[]): Promise<string> {
  return execFileP('buildah', [...STORAGE, ...args], { maxBuffer: 64 << 20 }).then((r) => r.stdout);
}

export function podman(args: string[]): Promise<string> {
  return execFileP('podman', [...PODMAN_GLOBAL, ...args], { maxBuffer: 64 << 20 }).then((r) => r.stdout);
}

/** The image's config (OCI) and history, as buildah stores them. */
export async function inspectImage(
  ref = IMAGE,
): Promise<{ config: Record<string, any>; history: { created_by?: string; empty_layer?: boolean }[]; layers: number }> {
  const info = JSON.parse(await buildah(['inspect', '--type', 'image', ref])) as Record<string, any>;
  return { config: info.OCIv1.config ?? {}, history: info.OCIv1.history ?? [], layers: info.OCIv1.rootfs?.diff_ids?.length ?? 0 };
}

export interface ImageRun {
  code: number | null;
  lines: string[];
  messages: Record<string, any>[];
  stderr: string;
}

export interface RunOptions {
  /** Host directory mounted read-only at /secrets (config and catalog). */
  secretsDir: string;
  /** A file piped to stdin; stdin is closed after it unless keepStdinOpen. */
  stdinFile?: string;
  /** Lines written after stdinFile. */
  extraInput?: string;
  keepStdinOpen?: boolean;
  /** Podman only: a read-only root file system, TMPDIR on a tmpfs of its own. */
  readOnlyRoot?: boolean;
  onMessage?: (message: Record<string, any>) => void;
  timeoutMs?: number;
}

export interface LiveRun {
  name: string;
  done: Promise<ImageRun>;
  /** Sends a signal to the container's PID 1 (podman kill). */
  signal(sig: string): Promise<void>;
  closeStdin(): void;
}

let counter = 0;
let buildahContainer: Promise<{ name: string; entrypoint: string[] }> | undefined;

/** The working container `buildah run` runs commands in, and the image's entrypoint. */
function workingContainer(): Promise<{ name: string; entrypoint: string[] }> {
  buildahContainer ??= (async () => {
    const name = `${NAME_PREFIX}-run`;
    await buildah(['from', '--pull=false', '--name', name, IMAGE]);
    const { config } = await inspectImage();
    return { name, entrypoint: config.Entrypoint as string[] };
  })();
  return buildahContainer;
}

export async function removeContainers(): Promise<void> {
  if (buildahContainer) await buildah(['rm', (await buildahContainer).name]).catch(() => undefined);
  buildahContainer = undefined;
}

export const TMPDIR_IN_CONTAINER = '/scratch';

export async function runInImage(args: string[], options: RunOptions): Promise<LiveRun> {
  const name = `${NAME_PREFIX}-${++counter}`;
  const mount = `${options.secretsDir}:/secrets:ro`;
  let command: string[];
  if (RUNNER === 'podman') {
    const readOnly = options.readOnlyRoot
      ? ['--read-only', '--read-only-tmpfs=false', '--tmpfs', `${TMPDIR_IN_CONTAINER}:rw,size=1g,mode=1777`, '-e', `TMPDIR=${TMPDIR_IN_CONTAINER}`]
      : [];
    // --network host: radosgw listens on this machine's loopback only.
    command = [
      'podman',
      ...PODMAN_GLOBAL,
      'run',
      '--rm',
      '-i',
      '--name',
      name,
      '--network',
      'host',
      ...PODMAN_RUN,
      '-e',
      'AWS_EC2_METADATA_DISABLED=true',
      '-v',
      mount,
      ...readOnly,
      IMAGE,
      ...args,
    ];
  } else {
    if (options.readOnlyRoot) throw new Error('buildah run has no read-only root file system');
    const { name: ctr, entrypoint } = await workingContainer();
    command = [
      'buildah',
      ...STORAGE,
      'run',
      '--isolation',
      'chroot',
      '--env',
      'AWS_EC2_METADATA_DISABLED=true',
      '-v',
      mount,
      ctr,
      '--',
      ...entrypoint,
      ...args,
    ];
  }
  const child = spawn(command[0]!, command.slice(1), { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  const lines: string[] = [];
  const messages: Record<string, any>[] = [];
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  child.stdin.on('error', () => undefined);
  createInterface({ input: child.stdout }).on('line', (line) => {
    lines.push(line);
    let message: Record<string, any>;
    try {
      message = JSON.parse(line) as Record<string, any>;
    } catch {
      message = { type: 'NOT_JSON', line };
    }
    messages.push(message);
    options.onMessage?.(message);
  });
  const writeRest = (): void => {
    if (options.extraInput) child.stdin.write(options.extraInput);
    if (!options.keepStdinOpen) child.stdin.end();
  };
  if (options.stdinFile) {
    const input = createReadStream(options.stdinFile);
    input.on('end', writeRest);
    input.pipe(child.stdin, { end: false });
  } else writeRest();
  const stop = async (): Promise<void> => {
    if (RUNNER === 'podman') await podman(['rm', '-f', '-t', '0', name]).catch(() => undefined);
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  const timer = setTimeout(() => {
    stderr += `\n[image-test] timed out after ${options.timeoutMs ?? 240_000} ms: the container was removed`;
    void stop();
  }, options.timeoutMs ?? 240_000);
  const done = new Promise<ImageRun>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, lines, messages, stderr });
    });
  });
  return {
    name,
    done,
    closeStdin: () => child.stdin.end(),
    signal: async (sig) => {
      if (RUNNER !== 'podman') throw new Error('signals need a PID namespace (podman)');
      await podman(['kill', '--signal', sig, name]);
    },
  };
}
