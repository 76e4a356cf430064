// Every output of every connector run is scanned for the secrets the run could know: the
// configured ones (every `airbyte_secret` field of the --config file), the web identity token
// (the contents of the configured token file, or of AWS_WEB_IDENTITY_TOKEN_FILE), the
// environment's AWS secret key and session token, the test server's secret key, and every secret
// key and session token that STS handed out (runs' STS calls go through a recording proxy:
// support/cli.ts, support/fault-proxy.ts). A leak is reported by where it was found and which
// secret it was, never by the secret itself.

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { MIN_SECRET_LENGTH, secretPropertyNames, secretValuesIn } from '../../src/redact.js';

// Secrets are scanned for wherever they occur from the redactor's floor on (what it promises to
// mask). A shorter one (a config the spec refuses, a test's own value) would match ordinary text,
// so it counts as leaked only as a whole JSON string value ("ab"), the form a config echo takes.

export interface KnownSecret {
  /** Where it comes from, e.g. "config secret_access_key" (printed on a leak instead of the value). */
  source: string;
  value: string;
}

const issued = new Map<string, string>();

/** How many secrets were remembered at run time so far (tests of the scan itself). */
export function rememberedSecretCount(): number {
  return issued.size;
}

/** Remembers a secret obtained at run time (an STS session's secret key or token). */
export function rememberSecret(value: string | undefined, source = 'an STS credential'): void {
  if (value && !issued.has(value)) issued.set(value, source);
}

let secretNames: Set<string> | undefined;
function configSecretNames(): Set<string> {
  secretNames ??= secretPropertyNames(JSON.parse(readFileSync(resolve(import.meta.dirname, '../../spec/spec.json'), 'utf8')));
  return secretNames;
}

/** A file's contents, trimmed; undefined when it cannot be read. */
function contentsOf(path: unknown): string | undefined {
  if (typeof path !== 'string' || !path) return undefined;
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** The secrets of one run: its --config file, its environment, and everything remembered. */
export function secretsOfRun(args: readonly string[], env: NodeJS.ProcessEnv, extra: Iterable<string> = []): KnownSecret[] {
  const found: KnownSecret[] = [];
  const configAt = args.indexOf('--config');
  if (configAt >= 0 && args[configAt + 1]) {
    try {
      const config = JSON.parse(readFileSync(args[configAt + 1]!, 'utf8')) as { credentials?: { web_identity_token_file?: unknown } };
      for (const value of secretValuesIn(config, configSecretNames())) found.push({ source: 'a configured airbyte_secret', value });
      // the token file's path is configuration, its contents a credential
      const token = contentsOf(config?.credentials?.web_identity_token_file);
      if (token) found.push({ source: 'the web identity token (configured token file)', value: token });
    } catch {
      // not a readable JSON config (a bad-input test): nothing configured to leak
    }
  }
  const envToken = contentsOf(env.AWS_WEB_IDENTITY_TOKEN_FILE);
  if (envToken) found.push({ source: 'the web identity token (AWS_WEB_IDENTITY_TOKEN_FILE)', value: envToken });
  for (const name of ['AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN']) {
    const value = env[name];
    if (value) found.push({ source: `the environment's ${name}`, value });
  }
  for (const [value, source] of issued) found.push({ source, value });
  for (const value of extra) found.push({ source: 'a test secret', value });
  return found.filter((s) => s.value.length > 0);
}

/** The forms a secret may take inside a message: as is, JSON-escaped, URL-encoded. */
function formsOf(secret: string): string[] {
  if (secret.length < MIN_SECRET_LENGTH) return [JSON.stringify(secret)];
  return [...new Set([secret, JSON.stringify(secret).slice(1, -1), encodeURIComponent(secret)])];
}

/** Where each secret appears in the outputs; empty when none does. */
export function findLeaks(outputs: Record<string, string>, secrets: readonly KnownSecret[]): string[] {
  const leaks: string[] = [];
  for (const [name, text] of Object.entries(outputs)) {
    for (const secret of secrets) {
      for (const form of formsOf(secret.value)) {
        const at = text.indexOf(form);
        if (at >= 0) {
          const line = text.slice(0, at).split('\n').length;
          leaks.push(`${secret.source} (${secret.value.length} characters) appears in ${name}, line ${line}`);
          break;
        }
      }
    }
  }
  return leaks;
}

/** Throws (without quoting any secret) when an output holds a secret. */
export function assertNoSecretLeak(outputs: Record<string, string>, secrets: readonly KnownSecret[]): void {
  const leaks = findLeaks(outputs, secrets);
  if (leaks.length) throw new Error(`A secret leaked: ${leaks.join('; ')}`);
}
