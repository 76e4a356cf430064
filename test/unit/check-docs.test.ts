// docs/check.md promises to list every message of a failed connection test. This test makes the
// error mappers say everything they can (each error code their rule tables name, each HTTP status,
// network failure and credential-provider failure, in every context that changes the wording),
// plus the token file, config and check-level messages, and asserts that each one is quoted in
// check.md: by a `…`-quoted span of the doc in which `…` and `<placeholder>`s stand for the
// variable parts. A new message, or a reworded one, fails here until the doc says it.

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { checkConfigFile, checkConnection, type CheckTarget } from '../../src/commands/check.js';
import { Redactor } from '../../src/redact.js';
import { buildConfig, readJsonFile, type Config, type Credentials, type Encryption } from '../../src/config/config.js';
import { errorFacts, OPERATION_TAG, technicalDetail } from '../../src/storage/error-facts.js';
import { credentialProviderFor, type StsApi } from '../../src/storage/credentials.js';
import { codesOf } from '../../src/storage/error-rules.js';
import { classifyS3Error, S3_RULES, type S3ErrorContext } from '../../src/storage/s3-errors.js';
import { classifyDefaultChainError, classifyStsError, STS_RULES, type StsErrorContext } from '../../src/storage/sts-errors.js';
import { ConfigError } from '../../src/errors.js';
import type { ObjectStore } from '../../src/storage/port.js';

const ROOT = resolve(import.meta.dirname, '../..');
const CHECK_MD = readFileSync(resolve(ROOT, 'docs/check.md'), 'utf8');

// ---- the error codes each table's rules name, so that a new rule is exercised

const S3_CODES = [...codesOf(S3_RULES), 'SomethingElse'];
const STS_CODES = [...codesOf(STS_RULES), 'SomethingElse'];
const STATUSES = [undefined, 301, 307, 400, 403, 404, 409, 429, 500, 503];
/** With an error code, only throttling and server statuses change the message. */
const CODE_STATUSES = [undefined, 429, 503];
const NETWORK = ['ECONNREFUSED', 'ENOTFOUND', 'SELF_SIGNED_CERT_IN_CHAIN', 'ETIMEDOUT', 'TimeoutError', 'ECONNRESET'];

/** An error shaped as the SDK throws it: a service error (code, status, message, region) or a network one. */
function serviceError(code: string | undefined, status: number | undefined, extra: { message?: string; region?: string; op?: string } = {}): Error {
  const err = Object.assign(new Error(extra.message ?? ''), {
    name: code ?? 'Unknown',
    ...(code ? { Code: code } : {}),
    ...(status ? { $metadata: { httpStatusCode: status } } : {}),
    ...(extra.region ? { Region: extra.region } : {}),
  });
  if (extra.op) Object.defineProperty(err, OPERATION_TAG, { value: extra.op, enumerable: false });
  return err;
}
function networkError(code: string): Error {
  if (code === 'TimeoutError') return Object.assign(new Error('socket hang up'), { name: 'TimeoutError' });
  return Object.assign(new Error(`connect ${code}`), { code });
}
const providerError = (): Error => Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' });
const abortError = (): Error => Object.assign(new Error('aborted'), { name: 'AbortError' });

// ---- what the mappers say

/**
 * Collects one message per wording: messages that differ only in the operation, the technical
 * tail ("(AccessDenied, HTTP 403)") or the context values are one entry.
 */
class Messages {
  private readonly byTemplate = new Map<string, string>();
  add(message: string, err?: unknown, op?: string): void {
    let template = err === undefined ? message : message.replace(technicalDetail(errorFacts(err)), '');
    if (op) template = template.replaceAll(op, 'OP');
    if (!this.byTemplate.has(template)) this.byTemplate.set(template, message);
  }
  get size(): number {
    return this.byTemplate.size;
  }
  [Symbol.iterator](): Iterator<string> {
    return this.byTemplate.values();
  }
}

function s3Messages(): Messages {
  const out = new Messages();
  // A write, the manifest's PutObject, the test's delete, the clean-ups, and a read.
  const ops = ['CreateMultipartUpload', 'PutObject', 'DeleteObject', 'AbortMultipartUpload', 'ListObjectsV2', 'ListMultipartUploads'];
  const encryptions: Encryption[] = [
    { mode: 'bucket_default' },
    { mode: 'sse_s3' },
    { mode: 'sse_kms', kmsKeyArn: 'arn:aws:kms:us-east-1:123456789012:key/k-1' },
  ];
  const auths: Credentials['authType'][] = ['access_key', 'iam_role', 'web_identity', 'default_chain'];
  const errors: Error[] = [providerError(), abortError(), ...NETWORK.map(networkError)];
  for (const code of S3_CODES) for (const status of CODE_STATUSES) errors.push(serviceError(code, status));
  for (const status of STATUSES) if (status) errors.push(serviceError(undefined, status));
  errors.push(serviceError('InvalidAccessKeyId', 403, { message: 'Failed to retrieve the actual key, kms-keyid: k-1' }));
  errors.push(serviceError('PermanentRedirect', 301, { region: 'eu-west-1' }));
  errors.push(new Error('something odd'));
  for (const operation of ops) {
    for (const encryption of encryptions) {
      for (const endpoint of [undefined, 'http://127.0.0.1:7480']) {
        for (const authType of auths) {
          for (const key of [undefined, 'exports/shop/users/dt=2024-05-01/part-00000_20240501T100000000Z.parquet']) {
            const ctx: S3ErrorContext = { operation, bucket: 'acme-exports', key, region: 'us-east-1', endpoint, encryption, authType };
            for (const err of errors) out.add(classifyS3Error(err, ctx).message, err, operation);
          }
        }
      }
    }
  }
  return out;
}

function stsMessages(): Messages {
  const out = new Messages();
  const errors: Error[] = [providerError(), ...NETWORK.map(networkError), new Error('something odd')];
  for (const code of STS_CODES) for (const status of CODE_STATUSES) errors.push(serviceError(code, status));
  for (const status of STATUSES) if (status) errors.push(serviceError(undefined, status));
  // STS answers these to AssumeRoleWithWebIdentity only.
  const webIdentityOnly = (err: Error): boolean => /^(InvalidIdentityToken|IDPRejectedClaim|IDPCommunicationError)/.test(err.name);
  const contexts: StsErrorContext[] = [];
  for (const stsEndpoint of [undefined, 'http://127.0.0.1:7481']) {
    for (const hasExternalId of [false, true])
      contexts.push({
        operation: 'AssumeRole',
        roleArn: 'arn:aws:iam::123456789012:role/transfer-role',
        region: 'us-east-1',
        stsEndpoint,
        hasExternalId,
      });
    contexts.push({
      operation: 'AssumeRoleWithWebIdentity',
      roleArn: 'arn:aws:iam::123456789012:role/transfer-role',
      region: 'us-east-1',
      stsEndpoint,
      tokenFile: '/var/run/secrets/tokens/aws-token',
    });
  }
  for (const ctx of contexts) {
    for (const err of errors)
      if (ctx.operation === 'AssumeRoleWithWebIdentity' || !webIdentityOnly(err)) out.add(classifyStsError(err, ctx).message, err);
  }
  for (const err of [providerError(), ...NETWORK.map(networkError), new Error('something odd')]) out.add(classifyDefaultChainError(err).message, err);
  return out;
}

/** The token file and STS-answer messages of the credential provider (src/storage/credentials.ts). */
async function providerMessages(): Promise<Set<string>> {
  const out = new Set<string>();
  const incomplete: StsApi = {
    assumeRole: async () => ({ Credentials: undefined }),
    assumeRoleWithWebIdentity: async () => ({ Credentials: undefined }),
  };
  const webIdentity: Credentials = {
    authType: 'web_identity',
    roleArn: 'arn:aws:iam::123456789012:role/transfer-role',
    webIdentityTokenFile: '/var/run/secrets/tokens/aws-token',
    roleSessionName: 's',
  };
  const reads: ((path: string) => Promise<string>)[] = [
    async () => Promise.reject(Object.assign(new Error('no such file'), { code: 'ENOENT' })),
    async () => Promise.reject(Object.assign(new Error('denied'), { code: 'EACCES' })),
    async () => '  \n',
    async () => 'token',
  ];
  for (const readTextFile of reads) {
    const provider = credentialProviderFor({ credentials: webIdentity, region: 'us-east-1' }, { sts: incomplete, readTextFile, env: {} });
    await provider().catch((err: Error) => out.add(err.message));
  }
  const role: Credentials = { authType: 'iam_role', roleArn: 'arn:aws:iam::123456789012:role/transfer-role', roleSessionName: 's' };
  await credentialProviderFor({ credentials: role, region: 'us-east-1' }, { sts: incomplete, env: {} })().catch((err: Error) => out.add(err.message));
  return out;
}

/** What check itself adds: the credentials prefix, failed clean-ups, objects left behind. */
async function checkMessages(): Promise<Set<string>> {
  const out = new Set<string>();
  const config: Config = buildConfig({
    s3_bucket_name: 'acme-exports',
    s3_bucket_region: 'us-east-1',
    folder: 'exports/shop',
    credentials: { auth_type: 'iam_role', role_arn: 'arn:aws:iam:::role/S3Writer' },
  });
  // The store's failures are the S3 mapper's messages (covered above): here a stand-in, cut out.
  const CAUSE = '<the cause>.';
  const denied = (): Error => new ConfigError(CAUSE);
  const store = (failUpload: boolean, failPut: boolean, failDelete: boolean): ObjectStore =>
    ({
      upload: async () => (failUpload ? Promise.reject(denied()) : undefined),
      put: async () => (failPut ? Promise.reject(denied()) : undefined),
      delete: async () => (failDelete ? Promise.reject(denied()) : undefined),
    }) as unknown as ObjectStore;
  const deps = { now: () => new Date('2026-03-04T05:06:07.089Z'), randomId: () => 'abc123' };
  for (const authType of ['iam_role', 'web_identity', 'access_key', 'default_chain'] as const) {
    const target: CheckTarget = { credentials: async () => Promise.reject(denied()), store: store(false, false, false), close: () => undefined };
    out.add((await checkConnection({ ...config, credentials: { authType } as Credentials }, target, deps)).message.replaceAll(CAUSE, ''));
  }
  for (const [u, p, d] of [
    [false, false, true],
    [false, true, true],
    [true, false, false],
  ] as const) {
    const target: CheckTarget = {
      credentials: async () => ({ accessKeyId: 'a', secretAccessKey: 'b' }),
      store: store(u, p, d),
      close: () => undefined,
    };
    const message = (await checkConnection(config, target, deps)).message.replaceAll(CAUSE, '').trim();
    if (message) out.add(message);
  }
  return out;
}

/** What check says when its deadline ends the test: at the credentials step (each source), or later. */
async function deadlineMessages(): Promise<Set<string>> {
  const out = new Set<string>();
  const silence = (): Promise<never> => new Promise<never>(() => undefined);
  const configFile = (raw: unknown): string => {
    const path = resolve(mkdtempSync(resolve(tmpdir(), 'check-docs-')), 'config.json');
    writeFileSync(path, JSON.stringify(raw));
    return path;
  };
  const base = { s3_bucket_name: 'acme-exports', s3_bucket_region: 'us-east-1' };
  const deps = { now: () => new Date(), randomId: () => 'abc123', redactor: new Redactor(), deadlineMs: 20 };
  const role = { auth_type: 'iam_role', role_arn: 'arn:aws:iam:::role/S3Writer' };
  const cases: [Record<string, unknown>, NodeJS.ProcessEnv, boolean][] = [
    [{ ...base, credentials: role }, { AWS_ENDPOINT_URL_STS: 'http://127.0.0.1:7481' }, false],
    [{ ...base, credentials: role }, {}, false],
    [{ ...base, credentials: { auth_type: 'default_chain' } }, {}, false],
    [{ ...base, s3_endpoint: 'http://127.0.0.1:7480' }, {}, true],
    [base, {}, true],
  ];
  for (const [raw, env, gotCredentials] of cases) {
    const target: CheckTarget = {
      credentials: gotCredentials ? async () => ({ accessKeyId: 'a', secretAccessKey: 'b' }) : silence,
      store: { upload: silence, put: silence, delete: silence } as unknown as ObjectStore,
      close: () => undefined,
    };
    out.add((await checkConfigFile(configFile(raw), env, { ...deps, connect: () => target })).message);
  }
  return out;
}

/** The config messages: an invalid config, an unreadable or malformed file. */
function configMessages(): Set<string> {
  const out = new Set<string>();
  for (const raw of [{}, { s3_bucket_name: 'acme-exports', s3_bucket_region: 'us-east-1', encryption: { mode: 'sse_c' } }]) {
    try {
      buildConfig(raw);
    } catch (err) {
      out.add((err as Error).message);
    }
  }
  for (const path of ['/nonexistent/config.json', resolve(ROOT, 'README.md')]) {
    try {
      readJsonFile(path, 'config');
    } catch (err) {
      out.add((err as Error).message);
    }
  }
  return out;
}

// ---- what check.md quotes

/**
 * The quotes of the "message says" column (the first cell of each table row of the section
 * "Failure messages and their fixes"), as patterns: `…` and `<name>` match anything.
 */
function documentedPatterns(markdown: string): { quote: string; pattern: RegExp; literal: number }[] {
  const start = markdown.indexOf('\n## Failure messages and their fixes\n');
  const end = markdown.indexOf('\n## ', start + 1);
  const section = start >= 0 ? markdown.slice(start, end < 0 ? undefined : end) : markdown;
  const firstCells = section
    .split('\n')
    .filter((line) => line.startsWith('| ') && !/^\|\s*(message says|-+)\s*\|/.test(line))
    .map((line) => line.slice(2, line.indexOf(' | ') < 0 ? undefined : line.indexOf(' | ')));
  return (
    [...firstCells.join('\n').matchAll(/`([^`\n]+)`/g)]
      .map((m) => m[1]!)
      .map((quote) => {
        const parts = quote.split(/…|<[a-z][a-z0-9_ -]*>/i);
        const source = parts.map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('[\\s\\S]*?');
        return { quote, pattern: new RegExp(source), literal: parts.join('').trim().length };
      })
      // A quote must say something of its own to document a message: at least 20 characters.
      .filter((p) => p.literal >= 20)
  );
}

const patterns = documentedPatterns(CHECK_MD);

function undocumented(messages: Iterable<string>): string[] {
  return [...messages].filter((m) => !patterns.some((p) => p.pattern.test(m)));
}

describe('docs/check.md lists every message of a failed connection test', () => {
  // Every code of every rule in every context: some 100,000 errors, seconds on a loaded machine.
  it('quotes every message of the S3 error mapper (src/storage/s3-errors.ts)', { timeout: 60_000 }, () => {
    const messages = s3Messages();
    expect(messages.size).toBeGreaterThan(100);
    expect(undocumented(messages)).toEqual([]);
  });

  it('quotes every message of the STS and default-chain error mappers (src/storage/sts-errors.ts)', () => {
    const messages = stsMessages();
    expect(messages.size).toBeGreaterThan(40);
    expect(undocumented(messages)).toEqual([]);
  });

  it('quotes the token file and incomplete-answer messages of the credential provider', async () => {
    const messages = await providerMessages();
    expect(messages.size).toBe(5);
    expect(undocumented(messages)).toEqual([]);
  });

  it('quotes what check itself adds: the credentials prefix, a failed clean-up, objects left behind', async () => {
    const messages = await checkMessages();
    expect(messages.size).toBe(6);
    expect(undocumented(messages)).toEqual([]);
  });

  it('quotes what check says when its deadline stops the test', async () => {
    const messages = await deadlineMessages();
    expect(messages.size).toBe(5);
    expect(undocumented(messages)).toEqual([]);
  });

  it('quotes the config messages: an invalid config, SSE-C, an unreadable or malformed file', () => {
    const messages = configMessages();
    expect(messages.size).toBe(4);
    expect(undocumented(messages)).toEqual([]);
  });

  it('matches quotes as written: a reworded message is not covered by the old quote', () => {
    const table = (quote: string): string =>
      `\n## Failure messages and their fixes\n\n| message says | cause | fix |\n|---|---|---|\n| ${quote} | c | f |\n`;
    const [doc] = documentedPatterns(table('`… the access key ID is not known to <where>. Check <credentials>`'));
    expect(
      doc!.pattern.test(
        'PutObject of s3://b/k failed: the access key ID is not known to Amazon S3 in region us-east-1. Check access_key_id and secret_access_key',
      ),
    ).toBe(true);
    expect(doc!.pattern.test('PutObject of s3://b/k failed: the access key is unknown to Amazon S3 in region us-east-1. Check access_key_id')).toBe(
      false,
    );
    expect(documentedPatterns(table('`… was denied …`'))).toEqual([]);
    // Only the "message says" column quotes messages: a name in the fix column documents nothing.
    expect(documentedPatterns(table('a message').replace('| f |', '| `AWS_SECRET_ACCESS_KEY_AND_MORE` |'))).toEqual([]);
  });
});
