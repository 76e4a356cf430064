import { readFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { MessageWriter } from '../../src/protocol/output.js';
import { traceFor } from '../../src/protocol/trace.js';
import { ConfigError } from '../../src/errors.js';
import { MIN_SECRET_LENGTH, Redactor, secretPropertyNames, secretValuesIn } from '../../src/redact.js';
import { configProblems } from '../../src/config/validate.js';
import { findLeaks } from '../../integration_tests/support/secrets.js';

const AWS_SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCY+EXAMPLEKEY';
const MASK = '**********';

describe('Redactor', () => {
  it('masks every occurrence of a registered secret', () => {
    const r = new Redactor([AWS_SECRET]);
    expect(r.redact(`key=${AWS_SECRET} again ${AWS_SECRET}.`)).toBe(`key=${MASK} again ${MASK}.`);
  });

  it('masks the URL-encoded form of a secret', () => {
    const r = new Redactor([AWS_SECRET]);
    const encoded = encodeURIComponent(AWS_SECRET);
    expect(encoded).not.toBe(AWS_SECRET);
    expect(r.redact(`https://sts.local/?X-Amz-Credential=${encoded}&x=1`)).toBe(`https://sts.local/?X-Amz-Credential=${MASK}&x=1`);
  });

  it('masks the JSON-escaped form of a secret', () => {
    const secret = 'pa"ss\\word\n42';
    const r = new Redactor([secret]);
    const line = JSON.stringify({ message: `failed with ${secret}` });
    expect(line).not.toContain(secret);
    const out = r.redact(line);
    expect(out).toBe(JSON.stringify({ message: `failed with ${MASK}` }));
    expect(JSON.parse(out)).toEqual({ message: `failed with ${MASK}` });
  });

  it('masks a longer secret whole even when it contains a shorter one', () => {
    const r = new Redactor(['abcd', 'xxabcdxx']);
    expect(r.redact('xxabcdxx abcd')).toBe(`${MASK} ${MASK}`);
  });

  it('ignores empty, missing and very short values, which would mangle every message', () => {
    const r = new Redactor();
    r.add('');
    r.add(undefined);
    r.add(null);
    r.add('abc');
    expect(r.redact('abc is a b c')).toBe('abc is a b c');
  });

  it('masks a secret of 4 characters, the shortest a config may hold, wherever it occurs', () => {
    expect(MIN_SECRET_LENGTH).toBe(4);
    const r = new Redactor(['k3y!']);
    expect(r.redact('{"message":"bad key k3y!","id":"k3y!"}')).toBe(`{"message":"bad key ${MASK}","id":"${MASK}"}`);
  });

  it('masks the userinfo of any URL, whoever wrote it, and leaves URLs without one alone', () => {
    const r = new Redactor();
    expect(r.redact('Could not connect to the STS endpoint http://user:pass-word@127.0.0.1:7481: refused')).toBe(
      'Could not connect to the STS endpoint http://**********@127.0.0.1:7481: refused',
    );
    expect(r.redact('{"endpoint":"https://AKIA:s3cr%2Ft@minio.internal:9000/path","next":"a@b"}')).toBe(
      '{"endpoint":"https://**********@minio.internal:9000/path","next":"a@b"}',
    );
    // an unencoded '@' in the password is masked with the rest
    expect(r.redact('HTTPS://u:p@ss@host/x')).toBe('HTTPS://**********@host/x');
    expect(r.redact('http://token@host and s3://bucket/users/a@b.parquet and mailto:a@b.c')).toBe(
      'http://**********@host and s3://bucket/users/a@b.parquet and mailto:a@b.c',
    );
    expect(r.redact('http://127.0.0.1:7480/bucket?x=a@b')).toBe('http://127.0.0.1:7480/bucket?x=a@b');
  });

  it('learns secrets obtained later (a session token from STS)', () => {
    const r = new Redactor(['first-secret']);
    r.add('IQoJb3JpZ2luX2VjEJr//////////session');
    expect(r.redact('first-secret IQoJb3JpZ2luX2VjEJr//////////session')).toBe(`${MASK} ${MASK}`);
  });
});

describe('secretPropertyNames', () => {
  const specText = readFileSync(new URL('../../spec/spec.json', import.meta.url), 'utf8');
  const spec = JSON.parse(specText) as unknown;

  it('finds every property that spec/spec.json marks airbyte_secret, in every oneOf branch', () => {
    // Independent count: the raw text's property objects that say "airbyte_secret": true.
    const marked = [...specText.matchAll(/"([A-Za-z0-9_]+)": \{[^{}]*"airbyte_secret": true/g)].map((m) => m[1]);
    expect(marked.length).toBeGreaterThan(0);
    expect([...secretPropertyNames(spec)].sort()).toEqual([...new Set(marked)].sort());
    expect(secretPropertyNames(spec)).toEqual(new Set(['access_key_id', 'secret_access_key', 'session_token']));
  });

  it('finds nested secrets and ignores airbyte_secret: false', () => {
    const schema = {
      properties: {
        a: { airbyte_secret: false },
        b: { oneOf: [{ properties: { c: { airbyte_secret: true } } }] },
        d: { items: { properties: { e: { airbyte_secret: true } } } },
      },
    };
    expect(secretPropertyNames(schema)).toEqual(new Set(['c', 'e']));
  });
});

describe('secretValuesIn', () => {
  it('collects the string values under secret names at any depth', () => {
    const config = { credentials: { secret_access_key: 'one', nested: [{ session_token: 'two' }] }, secret_access_key: 3, other: 'three' };
    expect(secretValuesIn(config, new Set(['secret_access_key', 'session_token']))).toEqual(['one', 'two']);
  });
});

describe('redaction on stdout', () => {
  it('masks a secret inside a TRACE written by the MessageWriter', async () => {
    const sink = new PassThrough();
    const chunks: Buffer[] = [];
    sink.on('data', (c: Buffer) => chunks.push(c));
    const out = new MessageWriter(sink, new Redactor([AWS_SECRET]));
    await out.send(
      traceFor(new ConfigError(`The signature for ${AWS_SECRET} does not match`, { internal: `url=${encodeURIComponent(AWS_SECRET)}` })),
    );
    const text = Buffer.concat(chunks).toString('utf8');
    expect(text).not.toContain(AWS_SECRET);
    expect(text).not.toContain(encodeURIComponent(AWS_SECRET));
    const msg = JSON.parse(text) as { trace: { error: { message: string; internal_message: string } } };
    expect(msg.trace.error.message).toBe(`The signature for ${MASK} does not match`);
    expect(msg.trace.error.internal_message).toBe(`url=${MASK}`);
  });
});

describe('every configured secret is masked: shorter ones are refused by the spec', () => {
  const spec = JSON.parse(readFileSync(new URL('../../spec/spec.json', import.meta.url), 'utf8')) as Record<string, any>;

  it('gives every airbyte_secret field of spec/spec.json the minLength the redactor masks from', () => {
    const lengths: Record<string, unknown> = {};
    const visit = (node: Record<string, any>): void => {
      for (const [name, prop] of Object.entries<Record<string, any>>(node.properties ?? {})) {
        if (prop.airbyte_secret === true) lengths[name] = prop.minLength;
        (prop.oneOf ?? []).forEach(visit);
      }
    };
    visit(spec.connectionSpecification);
    expect(Object.keys(lengths).length).toBeGreaterThan(0);
    for (const [name, minLength] of Object.entries(lengths)) expect(minLength, name).toBe(MIN_SECRET_LENGTH);
  });

  it.each(['a', 'ab', 'abc'])('refuses a config whose secret_access_key is %j, without quoting it', (secret) => {
    const found = configProblems(
      {
        s3_bucket_name: 'acme-exports',
        s3_bucket_region: 'us-east-1',
        credentials: { auth_type: 'access_key', access_key_id: 'AKIAEXAMPLE', secret_access_key: secret },
      },
      spec.connectionSpecification,
    );
    expect(found).toEqual([{ path: 'credentials.secret_access_key', message: expect.stringContaining('at least 4 characters') }]);
  });
});

describe('the leak scan of the integration tests (integration_tests/support/secrets.ts)', () => {
  it('looks for a secret of 4 characters or more wherever it occurs', () => {
    expect(findLeaks({ stdout: 'x\nthe key k3y!1 is bad\n' }, [{ source: 'a test secret', value: 'k3y!' }])).toEqual([
      'a test secret (4 characters) appears in stdout, line 2',
    ]);
  });

  it('looks for a shorter secret only as a whole JSON string value, so that ordinary text does not match', () => {
    const secrets = [{ source: 'a test secret', value: 'ab' }];
    expect(findLeaks({ stdout: '{"message":"a bucket named ab-cd"}\n' }, secrets)).toEqual([]);
    expect(findLeaks({ stdout: '{"secret_access_key":"ab"}\n' }, secrets)).toEqual(['a test secret (2 characters) appears in stdout, line 1']);
  });
});
