// Validates connector output against the Airbyte protocol's own JSON schema, read from
// ../shared/airbyte-protocol/ where it exists (docs/architecture.md, "How the tests are laid out"),
// or from AIRBYTE_PROTOCOL_SCHEMA (a git worktree sits elsewhere); tests that need it skip
// otherwise.

import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Validator, type Schema } from 'jsonschema';
import { parse } from 'yaml';

const SCHEMA_PATH = process.env.AIRBYTE_PROTOCOL_SCHEMA || resolve(import.meta.dirname, '../../../shared/airbyte-protocol/airbyte_protocol.yaml');

export const protocolSchemaAvailable = existsSync(SCHEMA_PATH);
export const protocolSchemaSkipReason = `the Airbyte protocol schema is not at ${SCHEMA_PATH}`;

let schema: Schema | undefined;

/** The schema errors of one stdout line as an AirbyteMessage; empty when it conforms. */
export function protocolErrors(line: string): string[] {
  schema ??= parse(readFileSync(SCHEMA_PATH, 'utf8')) as Schema;
  let message: unknown;
  try {
    message = JSON.parse(line);
  } catch {
    return [`not JSON: ${line.slice(0, 200)}`];
  }
  const wrapped = { ...schema, $ref: '#/definitions/AirbyteMessage' } as Schema;
  return new Validator().validate(message, wrapped).errors.map((e) => `${e.property} ${e.message}`);
}
