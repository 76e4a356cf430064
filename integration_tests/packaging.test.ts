// The runtime stage of the Dockerfile, without Docker: after `npm run build`, the files it copies
// exist, the npm package holds dist/ and spec/ and no sources or tests, every module dist/ loads
// is a production dependency, and the entrypoint answers `spec` (and `check`) from a directory
// where `npm ci --omit=dev` installed the production dependencies, as the runtime stage does. The static half
// (labels, entrypoint, user, build context) is test/unit/packaging.test.ts.

import { execFile } from 'node:child_process';
import { builtinModules } from 'node:module';
import { cpSync, existsSync, lstatSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertNoSecretLeak, secretsOfRun } from './support/secrets.js';

const execFileP = promisify(execFile);

/** execFile, with the output scanned for the secrets the run could know, as support/cli.ts does. */
async function run(
  file: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; maxBuffer?: number } = {},
): Promise<{ stdout: string; stderr: string }> {
  const out = await execFileP(file, args, options);
  assertNoSecretLeak({ stdout: out.stdout, stderr: out.stderr }, secretsOfRun(args, options.env ?? process.env));
  return out;
}
const ROOT = resolve(import.meta.dirname, '..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { dev?: boolean }>;
};

function jsFilesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.js'))
    .map((f) => join(dir, f));
}

/** The package part of a bare specifier: `@scope/name/sub` → `@scope/name`, `name/sub` → `name`. */
function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

/** Every module specifier that a compiled ES module imports, statically or dynamically. */
function importsOf(source: string): string[] {
  const found = new Set<string>();
  for (const m of source.matchAll(/(?:^|[\s;})])(?:import|export)\s[^'"]*?\sfrom\s*['"]([^'"]+)['"]/gm)) found.add(m[1]!);
  for (const m of source.matchAll(/(?:^|[\s;])import\s*['"]([^'"]+)['"]/gm)) found.add(m[1]!);
  for (const m of source.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) found.add(m[1]!);
  return [...found];
}

/**
 * A directory for the production layout none of whose ancestors holds a node_modules: Node looks
 * for packages in every parent directory, and a stray /tmp/node_modules would hide a missing one.
 */
function isolatedBase(): string {
  const leaks = (dir: string): boolean => {
    for (let d = resolve(dir); ; d = dirname(d)) {
      if (existsSync(join(d, 'node_modules'))) return true;
      if (dirname(d) === d) return false;
    }
  };
  const base = [tmpdir(), '/var/tmp', '/dev/shm'].find((d) => existsSync(d) && !leaks(d));
  if (!base) throw new Error(`No temp directory without a node_modules in its ancestors (tried ${tmpdir()}, /var/tmp, /dev/shm)`);
  return base;
}

describe('the package as the Docker runtime stage installs it', () => {
  let prodRoot: string;

  beforeAll(async () => {
    // /airbyte of the image: package.json, package-lock.json, dist/ and spec/, then the runtime
    // stage's own `npm ci --omit=dev`, for real: a real node_modules holds exactly what the lock
    // installs for production, transitive dependencies included (symlinks into the development
    // node_modules would let Node find packages there). --offline: from the npm cache that the
    // development install filled; no registry is reached.
    prodRoot = mkdtempSync(join(isolatedBase(), 'dse-prod-layout-'));
    for (const entry of ['package.json', 'package-lock.json', 'dist', 'spec']) cpSync(join(ROOT, entry), join(prodRoot, entry), { recursive: true });
    try {
      await run('npm', ['ci', '--omit=dev', '--offline', '--no-audit', '--no-fund'], {
        cwd: prodRoot,
        env: { ...process.env, NODE_ENV: 'production', npm_config_update_notifier: 'false' },
        maxBuffer: 16 * 1024 * 1024,
      });
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string; message: string };
      throw new Error(
        `npm ci --omit=dev --offline failed in ${prodRoot} (is the npm cache filled by \`npm ci\`?): ${e.stderr || e.stdout || e.message}`,
      );
    }
  }, 300_000);
  afterAll(() => rmSync(prodRoot, { recursive: true, force: true }));

  it('installs exactly the production packages of the lock, and none of the dev ones', () => {
    const expected = Object.entries(lock.packages)
      .filter(([path, meta]) => path.startsWith('node_modules/') && !meta.dev)
      .map(([path]) => path)
      .filter((path) => existsSync(join(ROOT, path))); // optional packages of other platforms are in neither
    const installed = expected.filter((path) => existsSync(join(prodRoot, path, 'package.json')));
    expect(installed).toEqual(expected);
    // Dev-only packages (the lock marks them dev; a devDependency that a production package also
    // needs, such as @smithy/signature-v4, is not marked and is installed).
    const devOnly = Object.entries(lock.packages)
      .filter(([path, meta]) => /^node_modules\/(@[^/]+\/)?[^/]+$/.test(path) && meta.dev)
      .map(([path]) => path);
    expect(devOnly).toEqual(expect.arrayContaining(['node_modules/vitest', 'node_modules/typescript']));
    expect(devOnly.filter((path) => existsSync(join(prodRoot, path)))).toEqual([]);
    expect(lstatSync(join(prodRoot, 'node_modules', '@duckdb', 'node-api')).isSymbolicLink()).toBe(false);
  });

  it('has, after `npm run build`, the files the runtime stage copies', () => {
    expect(existsSync(join(ROOT, 'dist/main.js')), 'dist/main.js: run `npm run build` first').toBe(true);
    expect(existsSync(join(ROOT, 'spec/spec.json'))).toBe(true);
    expect(readFileSync(join(ROOT, 'dist/main.js'), 'utf8')).toMatch(/^#!\/usr\/bin\/env node/);
  });

  it('packs dist/ and spec/ and no sources, tests or local state', async () => {
    const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT });
    const files = (JSON.parse(stdout) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
    expect(files).toEqual(expect.arrayContaining(['package.json', 'dist/main.js', 'dist/cli.js', 'spec/spec.json']));
    const unexpected = files.filter((f) => !/^(dist|spec)\//.test(f) && !/^(package\.json|README(\.md)?|LICENSE(\.md)?)$/i.test(f));
    expect(unexpected).toEqual([]);
    expect(files.filter((f) => /(^|\/)(src|test|integration_tests|node_modules)\//.test(f) || /\.test\.|\.ts$/.test(f))).toEqual([]);
  });

  it('loads from dist/ only node built-ins, its own files and production dependencies', () => {
    const builtins = new Set(builtinModules);
    const offending: string[] = [];
    for (const file of jsFilesUnder(join(ROOT, 'dist'))) {
      for (const spec of importsOf(readFileSync(file, 'utf8'))) {
        if (spec.startsWith('.') || spec.startsWith('node:') || builtins.has(spec)) continue;
        if (!(packageOf(spec) in pkg.dependencies)) offending.push(`${file.slice(ROOT.length + 1)} imports ${spec}`);
      }
    }
    expect(offending).toEqual([]);
  });

  it('recognises the import forms that tsc emits', () => {
    const source = [
      "import { a } from 'pkg-a';",
      "import * as b from '@scope/pkg-b/sub';",
      "export { c } from './c.js';",
      "import 'side-effect';",
      "const d = await import('pkg-d');",
    ].join('\n');
    expect(importsOf(source).sort()).toEqual(['./c.js', '@scope/pkg-b/sub', 'pkg-a', 'pkg-d', 'side-effect']);
    expect(packageOf('@scope/pkg-b/sub')).toBe('@scope/pkg-b');
  });

  it('answers spec from the production-only layout, run from another directory', async () => {
    const { stdout } = await run(process.execPath, [join(prodRoot, 'dist/main.js'), 'spec'], {
      cwd: dirname(prodRoot),
      env: { ...process.env, AWS_EC2_METADATA_DISABLED: 'true' },
    });
    const lines = stdout.split('\n').filter(Boolean);
    expect(lines).toHaveLength(1);
    const msg = JSON.parse(lines[0]!) as { type: string; spec: unknown };
    expect(msg.type).toBe('SPEC');
    expect(msg.spec).toEqual(JSON.parse(readFileSync(join(ROOT, 'spec/spec.json'), 'utf8')));
  });

  it('answers check with a FAILED status from the production-only layout when the config is missing', async () => {
    const { stdout } = await run(process.execPath, [join(prodRoot, 'dist/main.js'), 'check', '--config', join(prodRoot, 'no-such-config.json')], {
      cwd: dirname(prodRoot),
      env: { ...process.env, AWS_EC2_METADATA_DISABLED: 'true' },
    });
    const messages = stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { type: string; connectionStatus?: { status: string } });
    expect(messages.filter((m) => m.type === 'CONNECTION_STATUS').map((m) => m.connectionStatus?.status)).toEqual(['FAILED']);
  });

  it('answers policy, and verify (exit 1 on stderr for a missing config), from the production-only layout', async () => {
    const config = join(prodRoot, 'policy-config.json');
    writeFileSync(config, JSON.stringify({ s3_bucket_name: 'acme-exports', s3_bucket_region: 'us-east-1', folder: 'exports' }));
    const options = { cwd: dirname(prodRoot), env: { ...process.env, AWS_EC2_METADATA_DISABLED: 'true' } };
    const { stdout } = await run(process.execPath, [join(prodRoot, 'dist/main.js'), 'policy', '--config', config, '--json'], options);
    expect(JSON.parse(stdout).permissions_policy.Statement[0].Resource).toEqual([
      'arn:aws:s3:::acme-exports/exports/*',
      'arn:aws:s3:::acme-exports/_manifests/*',
    ]);
    const failed = await run(
      process.execPath,
      [join(prodRoot, 'dist/main.js'), 'verify', '--config', join(prodRoot, 'no-such-config.json')],
      options,
    ).then(
      () => undefined,
      (err: { code: number; stdout: string; stderr: string }) => err,
    );
    expect(failed?.code).toBe(1);
    expect(failed?.stdout).toBe('');
    expect(failed?.stderr).toContain('Cannot read the config file');
  });
});
