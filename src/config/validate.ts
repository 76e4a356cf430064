// Validates a raw config against spec/spec.json with the jsonschema package and reports every
// problem at once, each with its JSON path. oneOf groups (credentials, encryption, format) are
// resolved by their discriminator first, so that the user sees "credentials.role_arn is required"
// rather than "is not exactly one from …".

import { Validator, type Schema, type ValidationError } from 'jsonschema';
import { ConfigError } from '../errors.js';
import { MAX_FOLDER_BYTES } from '../layout/keys.js';

export interface ConfigProblem {
  path: string;
  message: string;
}

type JsonObject = Record<string, unknown>;

const isObject = (v: unknown): v is JsonObject => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The property whose `const` tells the branches of a oneOf apart, e.g. `auth_type`. */
function discriminatorOf(branches: JsonObject[]): string | undefined {
  const first = branches[0]?.properties;
  if (!isObject(first)) return undefined;
  return Object.keys(first).find((key) =>
    branches.every((b) => isObject(b.properties) && isObject(b.properties[key]) && 'const' in b.properties[key]),
  );
}

/**
 * A copy of the schema in which each oneOf is replaced by the branch that the instance's
 * discriminator selects; an unknown or missing discriminator becomes a problem of its own.
 */
function resolveOneOfs(schema: JsonObject, instance: unknown, path: string, problems: ConfigProblem[]): JsonObject {
  const props = schema.properties;
  if (!isObject(props) || !isObject(instance)) return schema;
  const resolved: JsonObject = {};
  for (const [name, sub] of Object.entries(props)) {
    if (!isObject(sub)) continue;
    const value = instance[name];
    const subPath = path ? `${path}.${name}` : name;
    if (Array.isArray(sub.oneOf) && value !== undefined) {
      const branches = sub.oneOf.filter(isObject);
      const disc = discriminatorOf(branches);
      const chosen =
        disc && isObject(value)
          ? branches.find((b) => (b.properties as JsonObject)[disc] && ((b.properties as JsonObject)[disc] as JsonObject).const === value[disc])
          : undefined;
      if (!chosen) {
        if (isObject(value) && disc) {
          const allowed = branches.map((b) => JSON.stringify(((b.properties as JsonObject)[disc] as JsonObject).const)).join(', ');
          problems.push({
            path: `${subPath}.${disc}`,
            message: value[disc] === undefined ? `is required (one of ${allowed})` : `must be one of ${allowed}, got ${JSON.stringify(value[disc])}`,
          });
        } else {
          problems.push({ path: subPath, message: 'must be an object' });
        }
        // Reported above; an empty schema adds no second problem (and a oneOf left as
        // `undefined` made jsonschema throw "oneOf must be an array").
        resolved[name] = {};
        continue;
      }
      resolved[name] = { ...chosen, title: sub.title };
    } else {
      resolved[name] = isObject(sub.properties) ? resolveOneOfs(sub, value, subPath, problems) : sub;
    }
  }
  return { ...schema, properties: resolved };
}

function pathOf(err: ValidationError): string {
  const parts = err.path.map(String);
  if (err.name === 'required' || err.name === 'additionalProperties') parts.push(String(err.argument));
  return parts.join('.') || '(config)';
}

function messageOf(err: ValidationError): string {
  const schema = err.schema as JsonObject;
  switch (err.name) {
    case 'required':
      return 'is required';
    case 'additionalProperties':
      return 'is not a known setting (check the spelling; see the spec)';
    case 'pattern':
      return typeof schema.pattern_descriptor === 'string'
        ? `must be ${schema.pattern_descriptor}`
        : `does not have the expected form (${String(schema.pattern)})`;
    case 'enum':
      return `must be one of ${(schema.enum as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'minLength':
      // A secret shorter than the redactor's floor could not be masked in logs without mangling
      // them (src/redact.ts): such a config is refused. The value itself is never quoted.
      if (schema.airbyte_secret === true) {
        return err.instance === ''
          ? 'must not be empty'
          : `must be at least ${String(schema.minLength)} characters long (shorter secrets cannot be kept out of logs)`;
      }
      return err.message;
    default:
      return err.message;
  }
}

// Compared with '-' and '_' removed and in lower case, so that sse_c_key, sse-c-key,
// SSECustomerKey, customer_key and customer_algorithm are all recognised.
const squash = (s: string): string => s.toLowerCase().replace(/[-_ ]/g, '');
const isCustomerKeyField = (key: string): boolean => /ssec|customer(key|algorithm|provided)/.test(squash(key));
/** A mode (or an encryption given as a bare string) that names SSE-C: sse_c, SSE-C, "customer-provided"… */
const namesSseC = (value: unknown): boolean => typeof value === 'string' && /^ssec|customer(key|provided)/.test(squash(value));

const SSE_C_MESSAGE =
  'SSE-C (customer-provided encryption keys) is not supported. Use encryption mode "sse_s3" (S3-managed keys) or "sse_kms" with a KMS key ARN.';

/** The config without customer-key fields at any depth; their dotted paths go to `found`. */
function withoutCustomerKeyFields(node: unknown, path: string, found: string[]): unknown {
  if (Array.isArray(node)) return node.map((v, i) => withoutCustomerKeyFields(v, `${path}.${i}`, found));
  if (!isObject(node)) return node;
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(node)) {
    const sub = path ? `${path}.${key}` : key;
    if (isCustomerKeyField(key)) found.push(sub);
    else out[key] = withoutCustomerKeyFields(value, sub, found);
  }
  return out;
}

/**
 * SSE-C is refused with a message that says what to use instead (docs/check.md, "The config file"), however it is asked
 * for: `encryption.mode` naming it, `encryption` given as the bare string "sse_c", or a
 * customer-key field anywhere (under encryption, credentials or at the top). Returns one problem,
 * at `encryption` (the setting to change), naming every field that asked; and the config without
 * those fields, so that they raise no second problem ("not a known setting", "must be an object").
 */
function withoutSseC(raw: JsonObject): { problems: ConfigProblem[]; rest: JsonObject } {
  const asking: string[] = [];
  const rest = withoutCustomerKeyFields(raw, '', asking) as JsonObject;
  const enc = rest.encryption;
  if (namesSseC(enc)) asking.unshift('encryption');
  else if (isObject(enc) && namesSseC(enc.mode)) asking.unshift('encryption.mode');
  if (asking.length === 0) return { problems: [], rest: raw };
  // The rest of encryption is about SSE-C too: reporting its other problems would only confuse.
  if (asking.some((p) => p === 'encryption' || p.startsWith('encryption.'))) delete rest.encryption;
  const others = asking.filter((p) => p !== 'encryption' && p !== 'encryption.mode');
  const where = others.length ? ` Remove ${others.join(', ')}.` : '';
  return { problems: [{ path: 'encryption', message: SSE_C_MESSAGE + where }], rest };
}

/** Every problem of the config, empty when it is valid. Makes no network call. */
export function configProblems(raw: unknown, connectionSpec: JsonObject): ConfigProblem[] {
  if (!isObject(raw)) return [{ path: '(config)', message: 'must be a JSON object' }];
  const { problems, rest } = withoutSseC(raw);
  const resolved = resolveOneOfs(connectionSpec, rest, '', problems);
  const result = new Validator().validate(rest, resolved as Schema);
  for (const err of result.errors) problems.push({ path: pathOf(err), message: messageOf(err) });
  const folder = rest.folder;
  if (typeof folder === 'string' && folder.replace(/\/+$/, '').includes('//')) {
    problems.push({ path: 'folder', message: "must not contain empty segments ('//')" });
  }
  if (typeof folder === 'string' && Buffer.byteLength(folder, 'utf8') > MAX_FOLDER_BYTES) {
    problems.push({ path: 'folder', message: `must be at most ${MAX_FOLDER_BYTES} bytes long (S3 keys are limited to 1024 bytes)` });
  }
  return dedupe(problems);
}

function dedupe(problems: ConfigProblem[]): ConfigProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const k = `${p.path}\u0000${p.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

export function formatProblems(problems: ConfigProblem[]): string {
  return problems.map((p) => `${p.path}: ${p.message}`).join('; ');
}

/** Throws one ConfigError listing every problem. */
export function assertValidConfig(raw: unknown, connectionSpec: JsonObject): void {
  const problems = configProblems(raw, connectionSpec);
  if (problems.length) {
    throw new ConfigError(`The configuration is invalid (${problems.length} problem${problems.length > 1 ? 's' : ''}): ${formatProblems(problems)}`);
  }
}
