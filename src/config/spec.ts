// spec/spec.json is the single source of config truth: `spec` prints it, validation uses it.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ConnectorSpecification } from '../protocol/messages.js';

// dist/config/spec.js and src/config/spec.ts both sit two levels below the package root.
const SPEC_PATH = fileURLToPath(new URL('../../spec/spec.json', import.meta.url));

let cached: ConnectorSpecification | undefined;

export function loadSpec(): ConnectorSpecification {
  cached ??= JSON.parse(readFileSync(SPEC_PATH, 'utf8')) as ConnectorSpecification;
  return cached;
}

export function connectionSpecification(): Record<string, unknown> {
  return loadSpec().connectionSpecification;
}
