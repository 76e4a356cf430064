// What the built image holds, read from its root file system (buildah mount) and its config:
// the runtime stage runs as non-root with the app files read-only to it; it holds the production
// dependencies, dist/ and spec/ and nothing else of the checkout (no dev dependencies, tests,
// sources, secrets); nothing of the build machine (its extra CA certificates, which the build's
// RUN steps saw read-only, its paths, its resolver, its npm logs, its environment) is in it.
// Also reports the image's size and layers. Run by scripts/image-test.sh.

import { execFile } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { rootCertificates } from 'node:tls';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IMAGE, NAME_PREFIX, RUNNER, buildah, inspectImage, podman } from './runner.js';

const ROOT = resolve(import.meta.dirname, '../..');
const REPORT_DIR = process.env.IMAGE_TEST_REPORT_DIR;
const BASE = 'docker.io/library/node:22-bookworm-slim';
/** The environment the image may declare: the base image's and the Dockerfile's, nothing else. */
const ALLOWED_ENV = new Set(['PATH', 'NODE_VERSION', 'YARN_VERSION', 'NODE_ENV', 'AIRBYTE_ENTRYPOINT']);

const ctrName = `${NAME_PREFIX}-files`;
let rootfs = '';
let image: Awaited<ReturnType<typeof inspectImage>>;

beforeAll(async () => {
  image = await inspectImage();
  await buildah(['from', '--pull=false', '--name', ctrName, IMAGE]);
  rootfs = (await buildah(['mount', ctrName])).trim();
});

afterAll(async () => {
  await buildah(['rm', ctrName]).catch(() => undefined);
});

/** Every path under dir (relative, with a trailing / for directories), symlinks not followed. */
function listTree(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(dir, prefix), { withFileTypes: true })) {
    const rel = join(prefix, entry.name);
    if (entry.isDirectory()) out.push(`${rel}/`, ...listTree(dir, rel));
    else out.push(rel);
  }
  return out;
}

/** Paths of node_modules packages: `node_modules/a`, `node_modules/@s/b/node_modules/c`. */
function installedPackages(dir: string, prefix = 'node_modules'): string[] {
  if (!existsSync(join(dir, prefix))) return [];
  const out: string[] = [];
  for (const name of readdirSync(join(dir, prefix))) {
    if (name.startsWith('.')) continue;
    const names = name.startsWith('@') ? readdirSync(join(dir, prefix, name)).map((n) => `${name}/${n}`) : [name];
    for (const n of names) {
      const pkg = `${prefix}/${n}`;
      if (!existsSync(join(dir, pkg, 'package.json'))) continue;
      out.push(pkg, ...installedPackages(dir, `${pkg}/node_modules`));
    }
  }
  return out;
}

/** A line from the middle of each PEM certificate of a bundle. */
function certMarkers(pem: string): Map<string, string> {
  const markers = new Map<string, string>();
  for (const cert of pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? []) {
    const body = cert.split('\n').filter((l) => l && !l.startsWith('-----'));
    const line = body[Math.floor(body.length / 2)];
    if (line && line.length >= 40) markers.set(line, cert);
  }
  return markers;
}

/** Files of the image (paths relative to its root) that contain any of the strings. */
async function filesContaining(strings: string[]): Promise<string[]> {
  if (strings.length === 0) return [];
  const file = join(mkdtempSync(join(tmpdir(), 'image-test-')), 'patterns.txt');
  writeFileSync(file, strings.join('\n') + '\n');
  try {
    const { stdout } = await promisify(execFile)('grep', ['-rlF', '-f', file, rootfs], { maxBuffer: 16 << 20 });
    return stdout
      .split('\n')
      .filter(Boolean)
      .map((p) => p.slice(rootfs.length));
  } catch (err) {
    if ((err as { code?: number }).code === 1) return []; // grep: no match
    throw err;
  } finally {
    rmSync(dirname(file), { recursive: true, force: true });
  }
}

describe('the runtime image', () => {
  it('declares its user, entrypoint and an environment that holds nothing of the build machine', () => {
    const { config } = image;
    console.log(
      `image-test: ${IMAGE} config: User ${config.User}, Entrypoint ${JSON.stringify(config.Entrypoint)}, Cmd ${JSON.stringify(config.Cmd ?? null)}`,
    );
    console.log(`image-test: env:\n  ${(config.Env as string[]).join('\n  ')}`);
    expect(config.User).toBe('1000:1000');
    expect(config.Entrypoint).toEqual(['/usr/bin/tini', '--', 'node', '/airbyte/dist/main.js']);
    const keys = (config.Env as string[]).map((e) => e.slice(0, e.indexOf('=')));
    expect(
      keys.filter((k) => !ALLOWED_ENV.has(k)),
      'environment variables the Dockerfile and its base do not declare',
    ).toEqual([]);
    expect(config.Env).toContain('NODE_ENV=production');
  });

  it('runs as a non-root user of its own, to which the application is read-only', () => {
    const passwd = readFileSync(join(rootfs, 'etc/passwd'), 'utf8')
      .split('\n')
      .map((l) => l.split(':'));
    expect(passwd.find((f) => f[2] === '1000')?.[0]).toBe('node');
    for (const rel of listTree(join(rootfs, 'airbyte'))) {
      const st = lstatSync(join(rootfs, 'airbyte', rel));
      if (st.uid !== 0 || (!st.isSymbolicLink() && (st.mode & 0o022) !== 0))
        throw new Error(`/airbyte/${rel} is writable by uid 1000 (owner ${st.uid}, mode ${(st.mode & 0o777).toString(8)})`);
    }
  });

  it('holds the production dependencies, dist/ and spec/ only: no dev dependencies, tests or sources', () => {
    const app = join(rootfs, 'airbyte');
    expect(readdirSync(app).sort()).toEqual(['dist', 'node_modules', 'package-lock.json', 'package.json', 'spec']);
    const own = listTree(app).filter((p) => !p.startsWith('node_modules/'));
    const stray = own.filter((p) => !/^(dist|spec)\//.test(p) && !['package.json', 'package-lock.json'].includes(p) && !/^(dist|spec)\/$/.test(p));
    expect(stray).toEqual([]);
    expect(own.filter((p) => p.endsWith('.ts') && !p.endsWith('.d.ts'))).toEqual([]);
    expect(readdirSync(join(app, 'spec')).sort()).toEqual(readdirSync(join(ROOT, 'spec')).sort());
    const lock = JSON.parse(readFileSync(join(app, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
    const installed = installedPackages(app);
    expect(
      installed.filter((p) => lock.packages[p]?.dev),
      'dev dependencies',
    ).toEqual([]);
    expect(
      installed.filter((p) => !lock.packages[p]),
      'packages the lock does not name',
    ).toEqual([]);
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    for (const dep of Object.keys(pkg.dependencies)) expect(installed).toContain(`node_modules/${dep}`);
    // a dev dependency that a production dependency also needs (@smithy/signature-v4) is not dev in the lock
    for (const dep of Object.keys(pkg.devDependencies))
      if (lock.packages[`node_modules/${dep}`]?.dev) expect(installed).not.toContain(`node_modules/${dep}`);
    // the build stage's work directory stayed in the build stage
    expect(existsSync(join(rootfs, 'build'))).toBe(false);
    console.log(`image-test: /airbyte holds ${own.length} entries of its own and ${installed.length} packages, none of them dev`);
  });

  it('holds nothing of the build machine: no extra CA certificate, checkout path, resolver, npm log or config', async () => {
    const all = listTree(rootfs);
    const baseCtr = `${NAME_PREFIX}-base-files`;
    let added: string[] = [];
    try {
      await buildah(['from', '--pull=false', '--name', baseCtr, BASE]);
      const baseRoot = (await buildah(['mount', baseCtr])).trim();
      const inBase = new Set(listTree(baseRoot));
      added = all.filter((p) => !inBase.has(p));
    } finally {
      await buildah(['rm', baseCtr]).catch(() => undefined);
    }
    const summary = new Map<string, number>();
    for (const p of added) {
      const top = p.startsWith('airbyte/') ? p.split('/').slice(0, 2).join('/') : p.split('/').slice(0, 3).join('/');
      summary.set(top, (summary.get(top) ?? 0) + 1);
    }
    console.log(
      `image-test: ${all.length} paths in the image, ${added.length} added to the base:\n  ${[...summary].map(([k, n]) => `${k} (${n})`).join('\n  ')}`,
    );
    if (REPORT_DIR) {
      mkdirSync(REPORT_DIR, { recursive: true });
      writeFileSync(join(REPORT_DIR, 'image-files.txt'), all.join('\n') + '\n');
      writeFileSync(join(REPORT_DIR, 'image-files-added.txt'), added.join('\n') + '\n');
      writeFileSync(join(REPORT_DIR, 'image-env.txt'), (image.config.Env as string[]).join('\n') + '\n');
    }
    // Outside /airbyte, the Dockerfile adds Debian's tini, apt's and dpkg's records and logs of its
    // install, and the empty mount points of the runtime's resolv.conf, hosts and hostname. Not
    // npm's cache or logs (/root/.npm), not what npm leaves in /tmp, not apt's downloads.
    const unexpected = added.filter(
      (p) =>
        !p.startsWith('airbyte/') &&
        !/^(usr\/bin\/tini(-static)?|usr\/share\/doc\/tini\/(copyright)?|var\/lib\/dpkg\/.*|var\/lib\/apt\/.*|var\/cache\/apt\/archives\/(lock|partial\/)|var\/cache\/debconf\/.*|var\/log\/(apt\/.*|dpkg\.log|alternatives\.log)|etc\/(resolv\.conf|hosts|hostname))$/.test(
          p,
        ),
    );
    expect(unexpected, 'files the Dockerfile does not explain').toEqual([]);
    for (const f of ['etc/resolv.conf', 'etc/hosts', 'etc/hostname']) {
      if (existsSync(join(rootfs, f))) expect(readFileSync(join(rootfs, f), 'utf8'), `/${f}`).toBe('');
    }
    expect(readdirSync(join(rootfs, 'usr/local/etc')), '/usr/local/etc, where the build mounted its CA certificates').toEqual([]);
    // The extra CA certificates this machine trusts (not Node's own), the checkout's path and the
    // test S3 secret appear in no file of the image.
    const wanted: string[] = [ROOT, 'TESTERSK00000000000000000000000000000000'];
    const extra = process.env.NODE_EXTRA_CA_CERTS;
    if (extra && existsSync(extra)) {
      const known = new Set(rootCertificates.map((c) => c.replace(/\s+/g, '')));
      for (const [line, cert] of certMarkers(readFileSync(extra, 'utf8'))) if (!known.has(cert.replace(/\s+/g, ''))) wanted.push(line);
      console.log(
        `image-test: searching the image for ${wanted.length - 2} extra CA certificates of this machine, its checkout path and the test secret`,
      );
    }
    expect(await filesContaining(wanted)).toEqual([]);
  });

  it('reports its size and layers', async () => {
    const [size] = (await buildah(['images', '--format', '{{.Size}}', IMAGE])).trim().split('\n');
    const [baseSize] = (await buildah(['images', '--format', '{{.Size}}', BASE])).trim().split('\n');
    const lines = [`image-test: ${IMAGE}: ${size} (base ${BASE}: ${baseSize}), ${image.layers} layers`];
    if (RUNNER === 'podman') {
      lines.push(
        (await podman(['history', '--no-trunc', '--format', '{{.Size}}\t{{.CreatedBy}}', IMAGE]))
          .trim()
          .split('\n')
          .map((l) => `  ${l.slice(0, 150)}`)
          .join('\n'),
      );
    } else {
      for (const h of image.history) if (!h.empty_layer) lines.push(`  ${(h.created_by ?? '').slice(0, 160)}`);
    }
    console.log(lines.join('\n'));
    expect(image.layers).toBeGreaterThan(0);
  });
});
