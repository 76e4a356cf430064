// `policy`: the permissions and trust policies built from the table of storage/permissions.ts,
// and the examples of docs/setup.md and docs/reading.md, which must be exactly what the
// command prints for the config each names (<!-- policy-example: writer|reader|trust[:Sid] {config} -->).

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { formatPolicy, permissionsPolicy, policyReport, renderPolicyText, runPolicy } from '../../src/commands/policy.js';
import { buildConfig } from '../../src/config/config.js';
import { Redactor } from '../../src/redact.js';
import { PERMISSIONS, permissionForStep } from '../../src/storage/permissions.js';

const ROOT = resolve(import.meta.dirname, '../..');
const base = { s3_bucket_name: 'acme-exports', s3_bucket_region: 'us-east-1' };
const config = (extra: Record<string, unknown> = {}) => buildConfig({ ...base, ...extra });

/** Every example of a doc: what it names and the JSON block under it. */
function examples(file: string): { what: string; config: unknown; block: string }[] {
  const text = readFileSync(resolve(ROOT, file), 'utf8');
  const found = [];
  for (const m of text.matchAll(/<!-- policy-example: (\S+) (\{.*\}) -->\n```json\n([\s\S]*?)\n```/g))
    found.push({ what: m[1]!, config: JSON.parse(m[2]!), block: m[3]! });
  return found;
}

function printed(what: string, raw: unknown): string {
  const [kind, sid] = what.split(':');
  const c = buildConfig(raw);
  const report = policyReport(c, kind === 'reader' ? 'reader' : 'writer');
  const doc = kind === 'trust' ? report.trust_policy! : report.permissions_policy;
  if (sid)
    return JSON.stringify(
      doc.Statement.find((s) => s.Sid === sid),
      null,
      2,
    );
  return formatPolicy(doc);
}

describe('the docs quote the command', () => {
  it.each([
    ['docs/setup.md', 4],
    ['docs/reading.md', 1],
  ])('%s: every example is what policy prints for its config', (file, count) => {
    const found = examples(file);
    expect(found).toHaveLength(count);
    for (const e of found) expect(e.block, `${file} ${e.what}`).toBe(printed(e.what, e.config));
  });

  it('and the full text output contains the JSON block verbatim', async () => {
    const [writer] = examples('docs/setup.md');
    const dir = mkdtempSync(join(tmpdir(), 'policy-'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify(writer!.config));
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    expect(await runPolicy({ configPath: join(dir, 'config.json'), reader: false, json: false }, out, new Redactor())).toBe(0);
    expect(Buffer.concat(chunks).toString('utf8')).toContain(writer!.block);
  });
});

describe('the permissions table', () => {
  it('names each statement once, lists required before optional per holder, and explains every optional one', () => {
    expect(new Set(PERMISSIONS.map((p) => p.sid)).size).toBe(PERMISSIONS.length);
    for (const holder of ['writer', 'reader'] as const) {
      const required = PERMISSIONS.filter((p) => p.holder === holder).map((p) => p.required);
      expect(required).toEqual([...required].sort((a, b) => Number(b) - Number(a)));
    }
    for (const p of PERMISSIONS) if (!p.required) expect(p.without, p.sid).toBeTruthy();
  });

  it("gives check's steps the statement that grants them", () => {
    expect(permissionForStep('check-upload-test-file').sid).toBe('WriteTransferObjects');
    expect(permissionForStep('check-put-test-manifest').actions).toEqual(['s3:PutObject']);
    expect(permissionForStep('check-delete-test-objects').actions).toEqual(['s3:DeleteObject']);
    expect(permissionForStep('verify-read-objects').actions).toEqual(['s3:GetObject']);
  });
});

describe('permissionsPolicy', () => {
  it('with no folder and manifests at the root: the whole bucket, and an unconditioned listing for readers', () => {
    const writer = permissionsPolicy(config(), 'writer');
    expect(writer.Statement[0]).toEqual({
      Sid: 'WriteTransferObjects',
      Effect: 'Allow',
      Action: 's3:PutObject',
      Resource: 'arn:aws:s3:::acme-exports/*',
    });
    expect(writer.Statement[1]!.Resource).toEqual([
      'arn:aws:s3:::acme-exports/_connection_check_*',
      'arn:aws:s3:::acme-exports/_manifests/_connection_check_*',
    ]);
    const reader = permissionsPolicy(config(), 'reader');
    expect(reader.Statement[0]).toEqual({
      Sid: 'ListExportObjects',
      Effect: 'Allow',
      Action: 's3:ListBucket',
      Resource: 'arn:aws:s3:::acme-exports',
    });
  });

  it('with manifests under the folder: every object resource is under the folder', () => {
    const c = config({ folder: 'team/a/', manifest_location: 'folder' });
    for (const holder of ['writer', 'reader'] as const) {
      for (const s of permissionsPolicy(c, holder).Statement) {
        for (const r of [s.Resource].flat()) if (r!.includes('/')) expect(r).toMatch(/^arn:aws:s3:::acme-exports\/team\/a\//);
      }
    }
    expect(permissionsPolicy(c, 'writer').Statement[0]!.Resource).toBe('arn:aws:s3:::acme-exports/team/a/*');
    expect(permissionsPolicy(c, 'reader').Statement[0]!.Condition).toEqual({ StringLike: { 's3:prefix': 'team/a/*' } });
  });

  it('with sse_kms: the key for the writer (GenerateDataKey, Decrypt) and for readers (Decrypt)', () => {
    const key = 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    const c = config({ encryption: { mode: 'sse_kms', kms_key_arn: key } });
    expect(permissionsPolicy(c, 'writer').Statement).toContainEqual({
      Sid: 'UseTransferKmsKey',
      Effect: 'Allow',
      Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
      Resource: key,
    });
    expect(permissionsPolicy(c, 'reader').Statement).toContainEqual({
      Sid: 'DecryptExportObjects',
      Effect: 'Allow',
      Action: 'kms:Decrypt',
      Resource: key,
    });
    expect(permissionsPolicy(config(), 'writer').Statement.some((s) => s.Sid === 'UseTransferKmsKey')).toBe(false);
    expect(policyReport(config({ encryption: { mode: 'sse_kms', kms_key_arn: 'alias/exports' } }), 'writer').notes.join(' ')).toContain(
      'is not a key ARN',
    );
  });
});

describe('trust policies', () => {
  const roleArn = 'arn:aws:iam::123456789012:role/transfer-role';
  const tokenFile = (claims: Record<string, unknown>): string => {
    const dir = mkdtempSync(join(tmpdir(), 'policy-token-'));
    const part = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
    writeFileSync(join(dir, 'token'), `${part({ alg: 'RS256' })}.${part(claims)}.c2lnbmF0dXJl-secret-part`);
    return join(dir, 'token');
  };

  it('iam_role: AssumeRole with the external id', () => {
    const r = policyReport(config({ credentials: { auth_type: 'iam_role', role_arn: roleArn, external_id: 'ext-1234' } }), 'writer');
    expect(r.trust_policy!.Statement[0]!.Condition).toEqual({ StringEquals: { 'sts:ExternalId': 'ext-1234' } });
    expect(r.attach_to).toBe(`the role ${roleArn}`);
    const without = policyReport(config({ credentials: { auth_type: 'iam_role', role_arn: roleArn } }), 'writer');
    expect(without.trust_policy!.Statement[0]!.Condition).toBeUndefined();
    expect(without.notes.join(' ')).toContain('no external_id');
  });

  it("web_identity with a Google service account's token: sub and oaud, never the token", () => {
    const path = tokenFile({ iss: 'https://accounts.google.com', sub: '1122334455', aud: 'https://acme.example/s3-export', azp: '1122334455' });
    const r = policyReport(config({ credentials: { auth_type: 'web_identity', role_arn: roleArn, web_identity_token_file: path } }), 'writer');
    expect(r.trust_policy!.Statement[0]).toMatchObject({
      Principal: { Federated: 'accounts.google.com' },
      Condition: { StringEquals: { 'accounts.google.com:sub': '1122334455', 'accounts.google.com:oaud': 'https://acme.example/s3-export' } },
    });
    const text = renderPolicyText(r);
    expect(text).not.toContain(readFileSync(path, 'utf8'));
    expect(text).not.toContain('c2lnbmF0dXJl');
  });

  it('web_identity with another issuer (EKS): its IAM OIDC provider and aud', () => {
    const iss = 'https://oidc.eks.us-east-1.amazonaws.com/id/ABC123';
    const path = tokenFile({ iss, sub: 'system:serviceaccount:etl:export', aud: ['sts.amazonaws.com'] });
    const r = policyReport(config({ credentials: { auth_type: 'web_identity', role_arn: roleArn, web_identity_token_file: path } }), 'writer');
    expect(r.trust_policy!.Statement[0]).toMatchObject({
      Principal: { Federated: 'arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC123' },
      Condition: {
        StringEquals: {
          'oidc.eks.us-east-1.amazonaws.com/id/ABC123:sub': 'system:serviceaccount:etl:export',
          'oidc.eks.us-east-1.amazonaws.com/id/ABC123:aud': 'sts.amazonaws.com',
        },
      },
    });
  });

  it('access keys and the default chain: no trust policy; readers: none either', () => {
    const keys = policyReport(
      config({ credentials: { auth_type: 'access_key', access_key_id: 'AKIAEXAMPLE', secret_access_key: 'secret-value-1234' } }),
      'writer',
    );
    expect(keys.trust_policy).toBeNull();
    expect(keys.attach_to).toContain('IAM user');
    expect(JSON.stringify(keys)).not.toContain('secret-value-1234');
    expect(policyReport(config({ credentials: { auth_type: 'iam_role', role_arn: roleArn } }), 'reader').trust_policy).toBeNull();
  });
});
