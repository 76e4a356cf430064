// `policy --config config.json [--reader] [--json]`: prints the least-privilege IAM permissions
// policy for a config (bucket, the prefixes it writes, the KMS key), built from the one table
// of src/storage/permissions.ts, and the trust policy of its auth type. `--reader`: the
// read-only policy of `verify` and of docs/reading.md's readers. Text on stdout, not Airbyte
// messages; reads no network; never prints a secret (the config's secrets are not in a policy,
// and the output goes through the redactor all the same).

import { readFileSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { buildConfig, readJsonFile, registerSecrets, type Config } from '../config/config.js';
import { globalRedactor, type Redactor } from '../redact.js';
import { describeEncryption } from '../storage/s3-errors.js';
import { exportPrefixes, listPrefixesOf, permissionsFor, resourcesOf, type Holder, type Permission } from '../storage/permissions.js';

export interface PolicyStatement {
  Sid: string;
  Effect: 'Allow';
  Principal?: Record<string, string>;
  Action: string | string[];
  Resource?: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

export interface PolicyDocument {
  Version: '2012-10-17';
  Statement: PolicyStatement[];
}

export interface PolicyReport {
  holder: Holder;
  bucket: string;
  prefixes: { data: string; manifests: string };
  encryption: string;
  /** Who the permissions policy is attached to, in words. */
  attach_to: string;
  permissions_policy: PolicyDocument;
  statements: { sid: string; required: boolean; actions: string[]; resources: string[]; purpose: string; without?: string }[];
  /** The role's trust policy (iam_role, web_identity, writer only); null otherwise. */
  trust_policy: PolicyDocument | null;
  notes: string[];
}

const one = (values: readonly string[]): string | string[] => (values.length === 1 ? values[0]! : [...values]);

function statementOf(p: Permission, config: Config): PolicyStatement {
  const statement: PolicyStatement = { Sid: p.sid, Effect: 'Allow', Action: one(p.actions), Resource: one(resourcesOf(p, config)) };
  if (p.actions.includes('s3:ListBucket')) {
    const prefixes = listPrefixesOf(config);
    if (prefixes) statement.Condition = { StringLike: { 's3:prefix': one(prefixes) } };
  }
  return statement;
}

/** The permissions policy of one holder for a config, in the table's order. */
export function permissionsPolicy(config: Config, holder: Holder): PolicyDocument {
  return { Version: '2012-10-17', Statement: permissionsFor(holder, config).map((p) => statementOf(p, config)) };
}

/** The claims of a JWT's payload, undecoded signature ignored; undefined when it is not one. */
function jwtClaims(token: string): Record<string, unknown> | undefined {
  const payload = token.trim().split('.')[1];
  if (!payload) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as unknown;
    return claims && typeof claims === 'object' ? (claims as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const accountOf = (arn: string): string => arn.split(':')[4] || 'ACCOUNT_ID';

/**
 * The trust policy of a web identity role, with the issuer's claims read from the token file
 * when it is there (issuer, subject, audience; never the token). Google's issuer is built into
 * AWS; any other is an IAM OIDC identity provider. For tokens with `azp` (Google service
 * accounts) AWS puts the token's `aud` under the `oaud` condition key (docs/setup.md, option B).
 */
function webIdentityTrust(roleArn: string, tokenFile: string, notes: string[]): PolicyDocument {
  let claims: Record<string, unknown> | undefined;
  try {
    claims = jwtClaims(readFileSync(tokenFile, 'utf8'));
    if (!claims) notes.push(`The token file ${tokenFile} does not hold a JWT: the trust policy shows Google's issuer with placeholders.`);
  } catch (err) {
    notes.push(
      `The token file ${tokenFile} could not be read (${(err as NodeJS.ErrnoException).code ?? 'error'}): the trust policy shows Google's issuer with placeholders.`,
    );
  }
  const str = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : Array.isArray(v) && typeof v[0] === 'string' ? v[0] : undefined);
  const issuer = (str(claims?.iss) ?? 'https://accounts.google.com').replace(/^https:\/\//, '').replace(/\/+$/, '');
  const google = issuer === 'accounts.google.com';
  const audienceKey = google && claims?.azp !== undefined ? 'oaud' : google && !claims ? 'oaud' : 'aud';
  const federated = google ? 'accounts.google.com' : `arn:aws:iam::${accountOf(roleArn)}:oidc-provider/${issuer}`;
  if (!google) notes.push(`The issuer ${issuer} must be registered as an IAM OIDC identity provider of the role's account.`);
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'ConnectorAssumesRoleWithWebIdentity',
        Effect: 'Allow',
        Principal: { Federated: federated },
        Action: 'sts:AssumeRoleWithWebIdentity',
        Condition: {
          StringEquals: {
            [`${issuer}:sub`]: str(claims?.sub) ?? (google ? 'SERVICE_ACCOUNT_UNIQUE_ID' : 'SUBJECT'),
            [`${issuer}:${audienceKey}`]: str(claims?.aud) ?? 'AUDIENCE',
          },
        },
      },
    ],
  };
}

function trustPolicy(config: Config, notes: string[]): PolicyDocument | null {
  const c = config.credentials;
  if (c.authType === 'iam_role') {
    const statement: PolicyStatement = {
      Sid: 'ConnectorAssumesRole',
      Effect: 'Allow',
      Principal: { AWS: 'CONNECTOR_PRINCIPAL_ARN' },
      Action: 'sts:AssumeRole',
    };
    if (c.externalId) statement.Condition = { StringEquals: { 'sts:ExternalId': c.externalId } };
    else
      notes.push(
        'The config has no external_id: set one, and the trust policy will require it (sts:ExternalId), so that no one else using the same base identity can assume the role.',
      );
    notes.push(
      "Replace CONNECTOR_PRINCIPAL_ARN with the ARN of the connector's base identity (whoever runs the connector tells you), docs/setup.md option A.",
    );
    return { Version: '2012-10-17', Statement: [statement] };
  }
  if (c.authType === 'web_identity') return webIdentityTrust(c.roleArn, c.webIdentityTokenFile, notes);
  return null;
}

function attachTo(config: Config, holder: Holder): string {
  if (holder === 'reader') return 'the identity that runs verify or reads the export (a role or user of its own)';
  const c = config.credentials;
  switch (c.authType) {
    case 'iam_role':
    case 'web_identity':
      return `the role ${c.roleArn}`;
    case 'access_key':
      return 'the IAM user whose access key the config holds';
    case 'default_chain':
      return 'the identity the default credential chain resolves to (pod role, instance profile, …)';
  }
}

export function policyReport(config: Config, holder: Holder): PolicyReport {
  const notes: string[] = [];
  const permissions = permissionsFor(holder, config);
  if (config.encryption.mode === 'sse_kms' && !config.encryption.kmsKeyArn.startsWith('arn:aws:kms:')) {
    notes.push(
      `kms_key_arn ${config.encryption.kmsKeyArn} is not a key ARN: IAM needs the key's ARN (arn:aws:kms:REGION:ACCOUNT_ID:key/KEY_ID) as the KMS statement's resource.`,
    );
  }
  if (config.encryption.mode === 'bucket_default') {
    const actions = holder === 'writer' ? 'kms:GenerateDataKey and kms:Decrypt' : 'kms:Decrypt';
    notes.push(
      `With encryption bucket_default, if the bucket's default encryption is a KMS key of your own, add ${actions} on it; the AWS managed key aws/s3 needs nothing.`,
    );
  }
  const trust = holder === 'writer' ? trustPolicy(config, notes) : null;
  return {
    holder,
    bucket: config.bucket,
    prefixes: exportPrefixes(config),
    encryption: describeEncryption(config.encryption),
    attach_to: attachTo(config, holder),
    permissions_policy: permissionsPolicy(config, holder),
    statements: permissions.map((p) => ({
      sid: p.sid,
      required: p.required,
      actions: [...p.actions],
      resources: resourcesOf(p, config),
      purpose: p.purpose,
      ...(p.without ? { without: p.without } : {}),
    })),
    trust_policy: trust,
    notes,
  };
}

/** The policy document as the command prints it (and as docs/setup.md quotes it). */
export function formatPolicy(doc: PolicyDocument): string {
  return JSON.stringify(doc, null, 2);
}

export function renderPolicyText(r: PolicyReport): string {
  const where = (prefix: string): string => (prefix ? prefix : 'the bucket root');
  const lines = [
    `${r.holder === 'writer' ? 'Permissions of the connector' : 'Read-only permissions (verify, readers)'} for s3://${r.bucket}: data files under ${where(r.prefixes.data)}, manifests under ${where(r.prefixes.manifests)}; encryption: ${r.encryption}.`,
    `Attach this permissions policy to ${r.attach_to}:`,
    '',
    formatPolicy(r.permissions_policy),
    '',
    'Statements:',
  ];
  for (const s of r.statements) {
    lines.push(
      `- ${s.sid} (${s.required ? 'required' : 'optional'}): ${s.actions.join(', ')}: ${s.purpose}.${s.without ? ` Without it: ${s.without}.` : ''}`,
    );
  }
  if (r.trust_policy) lines.push('', `Trust policy of ${r.attach_to}:`, '', formatPolicy(r.trust_policy));
  if (r.notes.length) lines.push('', 'Notes:', ...r.notes.map((n) => `- ${n}`));
  return lines.join('\n') + '\n';
}

export interface PolicyOptions {
  configPath: string;
  reader: boolean;
  json: boolean;
}

/** Runs the command; resolves to the exit code. A bad config throws a ConfigError (the CLI prints it on stderr). */
export async function runPolicy(options: PolicyOptions, stdout: Writable, redactor: Redactor = globalRedactor): Promise<number> {
  const raw = readJsonFile(options.configPath, 'config');
  registerSecrets(raw, redactor);
  const report = policyReport(buildConfig(raw), options.reader ? 'reader' : 'writer');
  const text = options.json ? JSON.stringify(report, null, 2) + '\n' : renderPolicyText(report);
  await new Promise<void>((resolve, reject) => stdout.write(redactor.redact(text), (err) => (err ? reject(err) : resolve())));
  return 0;
}
