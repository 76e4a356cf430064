import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  buildConfig,
  defaultMemoryBudgetBytes,
  defaultTempDiskBudgetBytes,
  freeSpaceBytes,
  readJsonFile,
  registerSecrets,
  usableTempDiskDefault,
} from '../../src/config/config.js';
import { connectionSpecification } from '../../src/config/spec.js';
import { assertValidConfig, configProblems, type ConfigProblem } from '../../src/config/validate.js';
import { ConfigError } from '../../src/errors.js';
import { Redactor } from '../../src/redact.js';

const spec = connectionSpecification();
const minimal = { s3_bucket_name: 'acme-exports', s3_bucket_region: 'us-east-1' };
const problems = (raw: unknown): ConfigProblem[] => configProblems(raw, spec);
const SSE_C = /SSE-C \(customer-provided encryption keys\) is not supported\. Use encryption mode "sse_s3".*"sse_kms"/;

describe('configProblems', () => {
  it('accepts a minimal config', () => {
    expect(problems(minimal)).toEqual([]);
  });

  it('lists every problem at once, each with its JSON path', () => {
    const found = problems({
      s3_bucket_name: 'Bad_Bucket',
      folder: '/absolute',
      file_size_mb: 0,
      flush_interval_seconds: '300',
      manifest_location: 'somewhere',
      format: { format_type: 'csv', compression: 'zstd' },
      credentials: { auth_type: 'iam_role', extra: true },
      colour: 'blue',
    });
    expect(found).toEqual(
      expect.arrayContaining([
        { path: 's3_bucket_region', message: 'is required' },
        { path: 's3_bucket_name', message: 'must be 3-63 lowercase letters, digits, dots and hyphens' },
        { path: 'folder', message: expect.stringContaining("without '..' segments") },
        { path: 'file_size_mb', message: 'must be greater than or equal to 1' },
        { path: 'flush_interval_seconds', message: expect.stringContaining('integer') },
        { path: 'manifest_location', message: 'must be one of "bucket_root", "folder"' },
        { path: 'format.compression', message: 'must be one of "none", "gzip"' },
        { path: 'credentials.role_arn', message: 'is required' },
        { path: 'credentials.extra', message: expect.stringContaining('not a known setting') },
        { path: 'colour', message: expect.stringContaining('not a known setting') },
      ]),
    );
    expect(found).toHaveLength(10);
  });

  it('refuses a config that is not an object', () => {
    for (const raw of [null, [], 'config', 42]) expect(problems(raw)).toEqual([{ path: '(config)', message: 'must be a JSON object' }]);
  });

  describe('oneOf groups are resolved by their discriminator', () => {
    it.each([
      [{ auth_type: 'iam_role' }, [{ path: 'credentials.role_arn', message: 'is required' }]],
      [
        { auth_type: 'web_identity', role_arn: 'arn:aws:iam::123456789012:role/x' },
        [{ path: 'credentials.web_identity_token_file', message: 'is required' }],
      ],
      [{ auth_type: 'access_key', access_key_id: 'AKIA' }, [{ path: 'credentials.secret_access_key', message: 'is required' }]],
      [{ auth_type: 'default_chain', role_arn: 'x' }, [{ path: 'credentials.role_arn', message: expect.stringContaining('not a known setting') }]],
      [
        { auth_type: 'magic' },
        [{ path: 'credentials.auth_type', message: 'must be one of "iam_role", "web_identity", "access_key", "default_chain", got "magic"' }],
      ],
      [{}, [{ path: 'credentials.auth_type', message: 'is required (one of "iam_role", "web_identity", "access_key", "default_chain")' }]],
      ['iam_role', [{ path: 'credentials', message: 'must be an object' }]],
      [null, [{ path: 'credentials', message: 'must be an object' }]],
    ])('credentials %j', (credentials, expected) => {
      expect(problems({ ...minimal, credentials })).toEqual(expected);
    });

    it.each([
      [{ mode: 'sse_kms' }, [{ path: 'encryption.kms_key_arn', message: 'is required' }]],
      [{ mode: 'aes' }, [{ path: 'encryption.mode', message: expect.stringContaining('must be one of "bucket_default", "sse_s3", "sse_kms"') }]],
      [{ format_type: 'parquet' }, [{ path: 'encryption.mode', message: 'is required (one of "bucket_default", "sse_s3", "sse_kms")' }]],
    ])('encryption %j', (encryption, expected) => {
      expect(problems({ ...minimal, encryption })).toEqual(expected);
    });

    it.each([
      [{ format_type: 'parquet', compression_codec: 'lz4' }, 'format.compression_codec'],
      [{ format_type: 'parquet', compression: 'gzip' }, 'format.compression'],
      [{ format_type: 'avro' }, 'format.format_type'],
    ])('format %j', (format, path) => {
      expect(problems({ ...minimal, format }).map((p) => p.path)).toEqual([path]);
    });

    it("accepts S3-compatible stores' role ARNs with an empty account", () => {
      expect(problems({ ...minimal, credentials: { auth_type: 'iam_role', role_arn: 'arn:aws:iam:::role/S3Writer' } })).toEqual([]);
      expect(problems({ ...minimal, credentials: { auth_type: 'iam_role', role_arn: 'role/S3Writer' } }).map((p) => p.path)).toEqual([
        'credentials.role_arn',
      ]);
    });
  });

  describe('SSE-C is refused with a message that says what to use instead', () => {
    it.each([
      ['mode sse_c', { encryption: { mode: 'sse_c' } }],
      ['mode SSE-C', { encryption: { mode: 'SSE-C' } }],
      ['a customer key next to another mode', { encryption: { mode: 'sse_s3', customer_key: 'k'.repeat(32) } }],
      ["the SDK's field name", { encryption: { mode: 'sse_kms', kms_key_arn: 'k', SSECustomerKey: 'k'.repeat(32) } }],
      ['a top-level sse_c_key', { sse_c_key: 'k'.repeat(32) }],
      ['a top-level sse-c-algorithm', { 'sse-c-algorithm': 'AES256' }],
    ])('%s', (_what, change) => {
      const found = problems({ ...minimal, ...change });
      expect(found).toHaveLength(1);
      expect(found[0]!.path).toBe('encryption');
      expect(found[0]!.message).toMatch(SSE_C);
    });

    it.each([
      ['encryption given as the string "sse_c"', { encryption: 'sse_c' }, ''],
      ['encryption given as the string "SSE-C"', { encryption: 'SSE-C' }, ''],
      ['mode "customer_provided"', { encryption: { mode: 'customer_provided' } }, ''],
      [
        'a customer key under credentials',
        { credentials: { auth_type: 'default_chain', sse_customer_key: 'k'.repeat(32) } },
        ' Remove credentials.sse_customer_key.',
      ],
      ['a customer key under format', { format: { format_type: 'parquet', SSECustomerAlgorithm: 'AES256' } }, ' Remove format.SSECustomerAlgorithm.'],
      [
        'a top-level customer key next to sse_kms',
        { encryption: { mode: 'sse_kms', kms_key_arn: 'k' }, customer_key: 'k'.repeat(32) },
        ' Remove customer_key.',
      ],
    ])('%s gets the SSE-C message, not "must be an object" or "not a known setting"', (_what, change, remove) => {
      const found = problems({ ...minimal, ...change });
      expect(found).toEqual([{ path: 'encryption', message: expect.stringMatching(SSE_C) }]);
      expect(found[0]!.message.endsWith(`with a KMS key ARN.${remove}`)).toBe(true);
    });

    it('names no field of the spec as a customer-key field', () => {
      const names: string[] = [];
      const visit = (node: Record<string, any>): void => {
        for (const [name, prop] of Object.entries<Record<string, any>>(node.properties ?? {})) {
          names.push(name);
          (prop.oneOf ?? []).forEach(visit);
        }
      };
      visit(spec);
      expect(names.length).toBeGreaterThan(20);
      // Every field present at once: the SSE-C detection must leave all of them alone.
      const everything = Object.fromEntries(names.map((n) => [n, 'x']));
      expect(
        problems(everything)
          .map((p) => p.message)
          .filter((m) => /SSE-C/.test(m)),
      ).toEqual([]);
    });

    it('still lists the other problems', () => {
      const found = problems({ s3_bucket_name: 'acme-exports', encryption: { mode: 'sse_c' } });
      expect(found.map((p) => p.path).sort()).toEqual(['encryption', 's3_bucket_region']);
    });

    it('leaves the supported modes alone', () => {
      for (const encryption of [
        { mode: 'bucket_default' },
        { mode: 'sse_s3' },
        { mode: 'sse_kms', kms_key_arn: 'arn:aws:kms:us-east-1:123456789012:key/x' },
      ]) {
        expect(problems({ ...minimal, encryption })).toEqual([]);
      }
    });
  });

  describe("pattern problems are said in the user's words, never as a regular expression", () => {
    it.each([
      [
        'credentials.role_arn',
        { credentials: { auth_type: 'iam_role', role_arn: 'transfer-role' } },
        'must be an IAM role ARN such as arn:aws:iam::123456789012:role/transfer-role (S3-compatible stores: arn:aws:iam:::role/NAME)',
      ],
      [
        'credentials.role_arn',
        { credentials: { auth_type: 'web_identity', role_arn: 'arn:aws:iam::12:user/x', web_identity_token_file: '/t' } },
        expect.stringMatching(/^must be an IAM role ARN such as/),
      ],
      [
        'credentials.role_session_name',
        { credentials: { auth_type: 'iam_role', role_arn: 'arn:aws:iam:::role/S3Writer', role_session_name: 'my session' } },
        'must be 2-64 letters, digits and the characters + = , . @ _ -',
      ],
      [
        's3_endpoint',
        { s3_endpoint: 'minio.internal:9000' },
        'must be an http:// or https:// URL such as https://minio.internal:9000 (no spaces, no user:password@: the keys go in credentials), or empty for AWS',
      ],
      ['s3_endpoint', { s3_endpoint: 'http://minio:minio-secret@minio.internal:9000' }, expect.stringContaining('no user:password@')],
      ['s3_endpoint', { s3_endpoint: 'https://token@minio.internal:9000/' }, expect.stringContaining('no user:password@')],
      ['s3_endpoint', { s3_endpoint: 'https://minio internal' }, expect.stringMatching(/^must be an http:\/\/ or https:\/\/ URL/)],
      ['s3_bucket_region', { s3_bucket_region: 'US East 1' }, 'must be an AWS region name such as us-east-1 (lowercase letters, digits and hyphens)'],
    ])('%s', (path, change, message) => {
      const found = problems({ ...minimal, ...change });
      expect(found).toEqual([{ path, message }]);
      expect(found[0]!.message).not.toMatch(/[\^$\\]/);
    });
  });

  describe('secrets shorter than 4 characters are refused (the redactor masks from 4 on)', () => {
    it.each([
      [
        'access_key_id',
        { access_key_id: 'AK', secret_access_key: 'long-enough-secret' },
        'must be at least 4 characters long (shorter secrets cannot be kept out of logs)',
      ],
      [
        'secret_access_key',
        { access_key_id: 'AKIAEXAMPLE', secret_access_key: 'abc' },
        'must be at least 4 characters long (shorter secrets cannot be kept out of logs)',
      ],
      ['session_token', { access_key_id: 'AKIAEXAMPLE', secret_access_key: 'long-enough-secret', session_token: '' }, 'must not be empty'],
    ])('%s', (field, credentials, message) => {
      const found = problems({ ...minimal, credentials: { auth_type: 'access_key', ...credentials } });
      expect(found).toEqual([{ path: `credentials.${field}`, message }]);
    });

    it('accepts secrets of 4 characters', () => {
      expect(
        problems({ ...minimal, credentials: { auth_type: 'access_key', access_key_id: 'AKIA', secret_access_key: 'abcd', session_token: 'tokn' } }),
      ).toEqual([]);
    });
  });

  describe('folder rules', () => {
    it.each(['', 'exports', 'exports/product', 'exports/product/', 'a..b/c', 'données/été'])('accepts %j', (folder) => {
      expect(problems({ ...minimal, folder })).toEqual([]);
    });

    it.each([
      ['/exports', "without '..' segments"],
      ['..', "without '..' segments"],
      ['exports/..', "without '..' segments"],
      ['exports/../other', "without '..' segments"],
      ['../exports', "without '..' segments"],
      ['exports//product', "empty segments ('//')"],
      ['exports\nproduct', 'control characters'],
      ['exports\u0000', 'control characters'],
      ['é'.repeat(351), 'at most 700 bytes'],
    ])('refuses %j', (folder, message) => {
      const found = problems({ ...minimal, folder });
      expect(found.map((p) => p.path)).toContain('folder');
      expect(found.map((p) => p.message).join(' | ')).toContain(message);
    });
  });
});

describe('assertValidConfig', () => {
  it('throws one ConfigError that counts and lists every problem', () => {
    expect(() => assertValidConfig({ file_size_mb: 0 }, spec)).toThrow(ConfigError);
    expect(() => assertValidConfig({ file_size_mb: 0 }, spec)).toThrow(
      'The configuration is invalid (3 problems): s3_bucket_name: is required; s3_bucket_region: is required; file_size_mb: must be greater than or equal to 1',
    );
  });

  it('never quotes a secret value in its message', () => {
    const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
    try {
      assertValidConfig({ ...minimal, credentials: { auth_type: 'access_key', access_key_id: 7, secret_access_key: secret, bogus: secret } }, spec);
      expect.unreachable();
    } catch (e) {
      expect((e as Error).message).toContain('credentials.access_key_id');
      expect((e as Error).message).not.toContain(secret);
    }
  });
});

describe('buildConfig', () => {
  it('fills every default from the spec', () => {
    expect(buildConfig(minimal)).toEqual({
      bucket: 'acme-exports',
      region: 'us-east-1',
      folder: '',
      credentials: { authType: 'default_chain' },
      encryption: { mode: 'bucket_default' },
      format: { type: 'parquet', compression: 'snappy' },
      fileSizeBytes: 256 * 1024 * 1024,
      flushIntervalMs: 300_000,
      manifestLocation: 'bucket_root',
      namespaceLayout: 'by_namespace',
      endpoint: undefined,
      memoryBudgetBytes: defaultMemoryBudgetBytes(),
      tempDiskBudgetBytes: 8192 * 1024 * 1024,
      uploadConcurrency: 4,
    });
  });

  it('takes every given field and the defaults inside a oneOf branch', () => {
    const config = buildConfig({
      ...minimal,
      folder: 'exports/product/',
      credentials: { auth_type: 'iam_role', role_arn: 'arn:aws:iam:::role/S3Writer', external_id: 'ext-123' },
      encryption: { mode: 'sse_kms', kms_key_arn: 'testkey-1' },
      format: { format_type: 'jsonl' },
      file_size_mb: 5,
      flush_interval_seconds: 10,
      manifest_location: 'folder',
      namespace_layout: 'flat',
      s3_endpoint: 'http://127.0.0.1:7480',
      memory_budget_mb: 300,
      temp_disk_budget_mb: 100,
      upload_concurrency: 2,
    });
    expect(config).toMatchObject({
      folder: 'exports/product',
      credentials: { authType: 'iam_role', roleArn: 'arn:aws:iam:::role/S3Writer', externalId: 'ext-123', roleSessionName: 'destination-s3-export' },
      encryption: { mode: 'sse_kms', kmsKeyArn: 'testkey-1' },
      format: { type: 'jsonl', compression: 'none' },
      fileSizeBytes: 5 * 1024 * 1024,
      flushIntervalMs: 10_000,
      manifestLocation: 'folder',
      namespaceLayout: 'flat',
      endpoint: 'http://127.0.0.1:7480',
      memoryBudgetBytes: 300 * 1024 * 1024,
      tempDiskBudgetBytes: 100 * 1024 * 1024,
      uploadConcurrency: 2,
    });
  });

  it.each([
    [
      { auth_type: 'access_key', access_key_id: 'AKIA1', secret_access_key: 'S3CR3T' },
      { authType: 'access_key', accessKeyId: 'AKIA1', secretAccessKey: 'S3CR3T' },
    ],
    [
      { auth_type: 'access_key', access_key_id: 'AKIA1', secret_access_key: 'S3CR3T', session_token: 'TOKEN' },
      { authType: 'access_key', accessKeyId: 'AKIA1', secretAccessKey: 'S3CR3T', sessionToken: 'TOKEN' },
    ],
    [
      { auth_type: 'web_identity', role_arn: 'arn:aws:iam::123456789012:role/r', web_identity_token_file: '/t', role_session_name: 'mine' },
      { authType: 'web_identity', roleArn: 'arn:aws:iam::123456789012:role/r', webIdentityTokenFile: '/t', roleSessionName: 'mine' },
    ],
  ])('builds credentials %j', (credentials, expected) => {
    expect(buildConfig({ ...minimal, credentials }).credentials).toEqual(expected);
  });

  it('gives each format its own default compression', () => {
    expect(buildConfig({ ...minimal, format: { format_type: 'csv' } }).format).toEqual({ type: 'csv', compression: 'none' });
    expect(buildConfig({ ...minimal, format: { format_type: 'parquet', compression_codec: 'zstd' } }).format).toEqual({
      type: 'parquet',
      compression: 'zstd',
    });
  });

  it('throws the ConfigError of an invalid config before building anything', () => {
    expect(() => buildConfig({ ...minimal, encryption: { mode: 'sse_c' } })).toThrow(SSE_C);
  });

  it('keeps the default memory budget between 256 MB and 2 GB', () => {
    const MB = 1024 * 1024;
    expect(defaultMemoryBudgetBytes(512 * MB)).toBe(256 * MB);
    expect(defaultMemoryBudgetBytes(4096 * MB)).toBe(1024 * MB);
    expect(defaultMemoryBudgetBytes(64 * 1024 * MB)).toBe(2048 * MB);
  });

  it('makes the default temp disk budget half the free space of TMPDIR, at most 8 GB, never more than is free', () => {
    const MB = 1024 * 1024;
    const free = (bytes: number) => (): number => bytes;
    // issue 10 item 5: on a 160 MiB file system the default was floored at 256 MB, above the free space
    expect(defaultTempDiskBudgetBytes('/tmp', free(160 * MB))).toBe(80 * MB);
    expect(defaultTempDiskBudgetBytes('/tmp', free(10 * MB))).toBe(5 * MB);
    expect(defaultTempDiskBudgetBytes('/tmp', free(0))).toBe(0);
    expect(defaultTempDiskBudgetBytes('/tmp', free(5000 * MB))).toBe(2500 * MB);
    expect(defaultTempDiskBudgetBytes('/tmp', free(100 * 1024 * MB))).toBe(8192 * MB);
    // the free space cannot be read (TMPDIR missing): 8 GB, as before
    const unreadable = (): number => {
      throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
    };
    expect(defaultTempDiskBudgetBytes('/nonexistent', unreadable)).toBe(8192 * MB);
    // the real file system: what statfs says is free
    const dir = tmpdir();
    expect(defaultTempDiskBudgetBytes(dir)).toBe(Math.min(8192 * MB, Math.floor(freeSpaceBytes(dir) * 0.5)));
  });

  it('refuses a default temp-disk budget too small to make progress, naming the temp directory', () => {
    const MB = 1024 * 1024;
    expect(usableTempDiskDefault(51 * MB, '/small')).toBe(51 * MB);
    expect(() => usableTempDiskDefault(8 * MB, '/small')).toThrow(ConfigError);
    expect(() => usableTempDiskDefault(0, '/small')).toThrow(
      /The temp directory \/small \(TMPDIR\) has about 0 MB free; a sync needs at least 64 MB there/,
    );
  });
});

describe('registerSecrets', () => {
  it('registers every airbyte_secret value of a raw config and nothing else', () => {
    const redactor = new Redactor();
    registerSecrets(
      {
        ...minimal,
        credentials: {
          auth_type: 'access_key',
          access_key_id: 'AKIAIOSFODNN7EXAMPLE',
          secret_access_key: 'wJalrXUtnFEMI/K7MDENG',
          session_token: 'FwoGZXIvYXdzEJr',
        },
      },
      redactor,
    );
    expect(redactor.redact('AKIAIOSFODNN7EXAMPLE wJalrXUtnFEMI/K7MDENG FwoGZXIvYXdzEJr acme-exports')).toBe(
      '********** ********** ********** acme-exports',
    );
  });
});

describe('readJsonFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'config-test-'));

  it('parses a JSON file', () => {
    const path = join(dir, 'ok.json');
    writeFileSync(path, JSON.stringify(minimal));
    expect(readJsonFile(path, 'config')).toEqual(minimal);
  });

  it('reports a missing file as a ConfigError with the path and the reason', () => {
    expect(() => readJsonFile(join(dir, 'missing.json'), 'config')).toThrow(ConfigError);
    expect(() => readJsonFile(join(dir, 'missing.json'), 'config')).toThrow(/Cannot read the config file .*missing\.json: ENOENT/);
  });

  it.each([
    ['a missing comma', '{"secret_access_key": "SUPERSECRETVALUE" "x": 1}'],
    ['an unquoted value', '{"secret_access_key": SUPERSECRETVALUE}'],
    ['a truncated file', '{"secret_access_key": "SUPERSECRETVALUE"'],
  ])('reports %s without quoting the file', (_what, text) => {
    const path = join(dir, 'bad.json');
    writeFileSync(path, text);
    let message = '';
    try {
      readJsonFile(path, 'config');
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      message = (e as Error).message;
    }
    expect(message).toMatch(/^The config file .*bad\.json is not valid JSON/);
    expect(message).not.toContain('SUPERSECRET');
  });
});
