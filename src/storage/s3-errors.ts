// Turns an error of an S3 call into the connector's hierarchy (docs/architecture.md, "Errors") with a message in
// the user's words: which operation failed on which object, what is wrong, what to change. An
// ordered rule table (S3_RULES, see error-rules.ts) decides. Where the store's answer fits several
// causes (radosgw's empty messages, AccessDenied with SSE-KMS, …) the message names every candidate.

import { ConfigError, ConnectorError, SystemError, TransientError } from '../errors.js';
import type { Credentials, Encryption } from '../config/config.js';
import { errorFacts, hostOf, isTimeout, technicalDetail, TIMEOUT_CODES, type ErrorFacts } from './error-facts.js';
import { applyRules, capitalized, codeIs, NETWORK_RULES, serverFaultRule, throttlingRule, type ErrorRule, type Situation } from './error-rules.js';

export { capitalized } from './error-rules.js';

export interface S3ErrorContext {
  /** The operation attempted, used when the error itself does not name one. */
  operation: string;
  bucket: string;
  key?: string;
  region: string;
  /** The custom endpoint of an S3-compatible store, when configured. */
  endpoint: string | undefined;
  encryption: Encryption;
  authType: Credentials['authType'];
}

const WRITE_OPERATIONS = new Set(['PutObject', 'CreateMultipartUpload', 'UploadPart', 'CompleteMultipartUpload', 'Upload']);

/** Where requests went, in the user's terms. */
export function describeEndpoint(endpoint: string | undefined, region: string): string {
  return endpoint ? `the S3 endpoint ${endpoint}` : `Amazon S3 in region ${region}`;
}

function objectArn(ctx: S3ErrorContext): string {
  if (ctx.key === undefined) return `arn:aws:s3:::${ctx.bucket}`;
  const slash = ctx.key.lastIndexOf('/');
  return `arn:aws:s3:::${ctx.bucket}/${slash >= 0 ? ctx.key.slice(0, slash + 1) : ''}*`;
}

function kmsKey(enc: Encryption): string | undefined {
  return enc.mode === 'sse_kms' ? enc.kmsKeyArn : undefined;
}

function credentialSource(ctx: S3ErrorContext): string {
  switch (ctx.authType) {
    case 'access_key':
      return 'access_key_id and secret_access_key';
    case 'default_chain':
      return 'the credentials of the default chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, AWS_PROFILE, container or instance role)';
    default:
      return 'the temporary credentials from STS (is AWS_ENDPOINT_URL_STS the STS endpoint of the same store as s3_endpoint?)';
  }
}

function accessDenied(op: string, ctx: S3ErrorContext, target: string): string {
  if (op === 'DeleteObject') {
    return (
      `${op} of ${target} was denied: the identity lacks s3:DeleteObject on ${objectArn(ctx)}. ` +
      'This permission is needed for the connection test only: write never deletes, so it may be removed once the destination is set up ' +
      '(a later check will then fail; syncs will not).'
    );
  }
  if (op === 'AbortMultipartUpload') {
    return `${op} of ${target} was denied: grant s3:AbortMultipartUpload on ${objectArn(ctx)} so that failed uploads are cleaned up (or add a lifecycle rule that aborts incomplete multipart uploads).`;
  }
  if (op === 'ListObjectsV2') {
    return `Listing ${target} was denied: grant s3:ListBucket on arn:aws:s3:::${ctx.bucket}.`;
  }
  const candidates = [`the identity lacks s3:PutObject on ${objectArn(ctx)}`];
  const kms = kmsKey(ctx.encryption);
  if (kms && WRITE_OPERATIONS.has(op))
    candidates.push(`it lacks kms:GenerateDataKey or kms:Decrypt on the KMS key ${kms} (both are needed to write SSE-KMS objects)`);
  candidates.push('a bucket policy denies the request (for example one that requires another encryption setting)');
  if (ctx.endpoint && ctx.authType !== 'default_chain')
    candidates.push(`the store rejected ${credentialSource(ctx)} (some S3-compatible stores report bad credentials this way)`);
  return `${op} of ${target} was denied. The store does not say why; the candidates are: ${candidates.map((c, i) => `(${i + 1}) ${c}`).join('; ')}.`;
}

/** What the S3 rules read: the error's facts and the call's context, worded once. */
interface S3Situation extends Situation {
  ctx: S3ErrorContext;
  /** The operation that failed: the one the client tagged, else the context's. */
  op: string;
  /** "s3://bucket/key", or "bucket b". */
  target: string;
  /** The configured KMS key, with sse_kms. */
  kms: string | undefined;
}

/** A config error whose message ends with the technical detail. */
function configRule(
  name: string,
  match: { codes?: string[]; matches: (s: S3Situation) => boolean },
  message: (s: S3Situation) => string,
): ErrorRule<S3Situation> {
  return { name, ...match, class: ConfigError, message: (s) => message(s) + s.detail };
}

const isWrite = (s: S3Situation): boolean => WRITE_OPERATIONS.has(s.op);
const hasEncryptionHeader = (s: S3Situation): boolean =>
  s.ctx.encryption.mode !== 'bucket_default' && (s.op === 'PutObject' || s.op === 'CreateMultipartUpload' || s.op === 'Upload');
const KMS_CODES = ['KMSNotFoundException', 'KMSDisabledException', 'KMSInvalidStateException'];
const INVALID_REQUEST_CODES = ['NotImplemented', 'InvalidArgument', 'InvalidRequest', 'InvalidEncryptionAlgorithmError', 'UnsupportedArgument'];

/** The S3 classification table, in order: the first rule that matches decides. */
export const S3_RULES: readonly ErrorRule<S3Situation>[] = [
  ...NETWORK_RULES,
  configRule(
    'no credentials in the default chain',
    { matches: (s) => s.f.name === 'CredentialsProviderError' },
    (s) =>
      `No AWS credentials were found for ${s.op}: the default chain looked at AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, AWS_PROFILE and the shared config files, and the container or instance role. ` +
      'Provide one of them, or choose another authentication in the config',
  ),
  throttlingRule(
    (s) =>
      `${capitalized(s.where)} is throttling requests and ${s.op} of ${s.target} did not get through after the SDK's retries${s.detail}. Retry later, or lower upload_concurrency.`,
  ),
  {
    name: 'request timed out',
    codes: [...TIMEOUT_CODES],
    matches: (s) => isTimeout(s.f),
    class: TransientError,
    message: (s) => `${s.op} of ${s.target} timed out${s.detail}. Retry later; if it persists, check the network path to ${s.where}.`,
  },
  serverFaultRule((s) => `${capitalized(s.where)} failed ${s.op} of ${s.target} with a server error${s.detail}. Retry later.`),
  configRule(
    'KMS key unusable',
    {
      codes: ['KMS.NotFoundException', ...KMS_CODES],
      matches: (s) => s.f.code !== undefined && (s.f.code.startsWith('KMS.') || KMS_CODES.includes(s.f.code)),
    },
    (s) =>
      `${s.op} of ${s.target} failed: the KMS key ${s.kms ?? '(none configured)'} cannot be used. Check kms_key_arn (the key must exist, be enabled and be in the bucket's region ${s.ctx.region}) and grant the identity kms:GenerateDataKey and kms:Decrypt on it`,
  ),
  configRule('access denied', codeIs('AccessDenied', 'AllAccessDisabled'), (s) => accessDenied(s.op, s.ctx, s.target)),
  configRule(
    'no such bucket',
    codeIs('NoSuchBucket'),
    (s) =>
      `${s.op} of ${s.target} failed: the bucket ${s.ctx.bucket} does not exist at ${s.where}. Check s3_bucket_name${s.ctx.endpoint ? ' and s3_endpoint' : ''}, or create the bucket`,
  ),
  configRule(
    'unknown KMS key reported as an unknown access key',
    {
      codes: ['InvalidAccessKeyId'],
      matches: (s) => s.f.code === 'InvalidAccessKeyId' && !!s.kms && isWrite(s) && /kms|key ?id|encrypt/i.test(s.f.serverMessage ?? ''),
    },
    (s) => `${s.op} of ${s.target} failed: the KMS key ${s.kms} is unknown to the store. Check kms_key_arn`,
  ),
  configRule(
    'unknown access key or KMS key (S3-compatible store)',
    { codes: ['InvalidAccessKeyId'], matches: (s) => s.f.code === 'InvalidAccessKeyId' && !!s.kms && isWrite(s) && !!s.ctx.endpoint },
    (s) =>
      `${s.op} of ${s.target} failed: the store does not know the access key, or (as S3-compatible stores such as Ceph report it) the KMS key ${s.kms}. Check ${credentialSource(s.ctx)}, and kms_key_arn`,
  ),
  configRule(
    'unknown access key',
    codeIs('InvalidAccessKeyId'),
    (s) => `${s.op} of ${s.target} failed: the access key ID is not known to ${s.where}. Check ${credentialSource(s.ctx)}`,
  ),
  configRule(
    'signature does not match',
    codeIs('SignatureDoesNotMatch'),
    (s) =>
      `${s.op} of ${s.target} failed: the request signature does not match. The secret access key is wrong (check ${credentialSource(s.ctx)}), ` +
      `or, less often, s3_bucket_region${s.ctx.endpoint ? ' or s3_endpoint' : ''} does not match the store or a proxy rewrote the request`,
  ),
  configRule('expired token', codeIs('ExpiredToken', 'TokenRefreshRequired', 'ExpiredTokenException'), (s) =>
    s.ctx.authType === 'access_key'
      ? `${s.op} of ${s.target} failed: the session token has expired. Supply fresh temporary credentials (access_key_id, secret_access_key, session_token), or use iam_role authentication, which renews them`
      : `${s.op} of ${s.target} failed: the temporary credentials have expired. Check that the machine's clock is right (NTP), and ${credentialSource(s.ctx)}`,
  ),
  configRule(
    'invalid session token',
    codeIs('InvalidToken'),
    (s) =>
      `${s.op} of ${s.target} failed: the session token is malformed or does not belong to these keys. Check ${s.ctx.authType === 'access_key' ? 'session_token' : credentialSource(s.ctx)}`,
  ),
  configRule(
    'clock skew',
    codeIs('RequestTimeTooSkewed'),
    (s) => `${s.op} of ${s.target} failed: this machine's clock differs from ${s.where}'s by more than 15 minutes. Synchronise the clock (NTP)`,
  ),
  configRule(
    'wrong region',
    codeIs('PermanentRedirect', 'AuthorizationHeaderMalformed', 'IllegalLocationConstraintException', 'TemporaryRedirect', 'Redirect'),
    (s) => wrongRegion(s.op, s.target, s.ctx, s.f),
  ),
  {
    name: 'multipart upload aborted by someone else',
    ...codeIs('NoSuchUpload'),
    class: TransientError,
    message: (s) =>
      `${s.op} of ${s.target} failed: the multipart upload was aborted on the server while it ran (by a lifecycle rule or another client?). Retry${s.detail}.`,
  },
  configRule(
    "an answer that is not S3's",
    codeIs('NotS3Answer'),
    (s) =>
      `${s.op} of ${s.target} failed: ${s.where} answered with something that is not an S3 answer, so nothing can be taken as stored. ` +
      (s.ctx.endpoint
        ? "Check s3_endpoint: it must be the URL of the store's S3 API, not of a web page, a console or another service"
        : "Something on the network path (a proxy?) answered in S3's place: check the network path to Amazon S3"),
  ),
  configRule(
    'quota exhausted',
    codeIs('QuotaExceeded', 'TooManyBuckets'),
    (s) => `${s.op} of ${s.target} failed: the store's quota for this bucket or user is exhausted. Raise the quota or free space`,
  ),
  configRule(
    'encryption refused',
    { codes: INVALID_REQUEST_CODES, matches: (s) => codeIs(...INVALID_REQUEST_CODES).matches(s) && hasEncryptionHeader(s) },
    (s) =>
      `${s.op} of ${s.target} was refused with the configured encryption (${describeEncryption(s.ctx.encryption)}). ` +
      `Check the encryption setting${s.kms ? ' and kms_key_arn' : ''}: the store may not support it (choose bucket_default for such a store)`,
  ),
  {
    name: 'refused as invalid',
    ...codeIs(...INVALID_REQUEST_CODES),
    class: SystemError,
    message: (s) => `${s.op} of ${s.target} was refused by ${s.where} as invalid${s.detail}.`,
  },
  configRule('redirect to another region', { matches: (s) => s.f.status === 301 || s.f.status === 307 }, (s) =>
    wrongRegion(s.op, s.target, s.ctx, s.f),
  ),
  configRule('HTTP 403', { matches: (s) => s.f.status === 403 }, (s) => accessDenied(s.op, s.ctx, s.target)),
  configRule(
    'HTTP 404 on a write',
    { matches: (s) => s.f.status === 404 && isWrite(s) },
    (s) =>
      `${s.op} of ${s.target} failed: not found. The bucket ${s.ctx.bucket} probably does not exist at ${s.where}; check s3_bucket_name${s.ctx.endpoint ? ' and s3_endpoint' : ''}`,
  ),
  {
    name: 'aborted by the connector',
    matches: (s) => s.f.name === 'AbortError',
    class: TransientError,
    message: (s) => `${s.op} of ${s.target} was aborted before it finished: the transfer is stopping (a signal, or another failure).`,
  },
  {
    name: 'another HTTP error',
    matches: (s) => s.f.status !== undefined,
    class: SystemError,
    message: (s) => `${s.op} of ${s.target} failed: ${s.where} answered an unexpected error${s.detail}.`,
  },
  {
    name: 'anything else',
    matches: () => true,
    class: SystemError,
    message: (s) => `${s.op} of ${s.target} failed unexpectedly: ${s.err instanceof Error ? s.err.message : String(s.err)}`,
  },
];

/** Classifies an error of an S3 call (S3_RULES); ConnectorErrors pass through unchanged. */
export function classifyS3Error(err: unknown, ctx: S3ErrorContext): ConnectorError {
  if (err instanceof ConnectorError) return err;
  const f = errorFacts(err);
  const op = f.operation ?? ctx.operation;
  const target = ctx.key === undefined ? `bucket ${ctx.bucket}` : `s3://${ctx.bucket}/${ctx.key}`;
  const detail = technicalDetail(f);
  return applyRules(S3_RULES, {
    err,
    f,
    detail,
    where: describeEndpoint(ctx.endpoint, ctx.region),
    setting: ctx.endpoint ? 's3_endpoint' : 's3_bucket_region and the network',
    internal: `${op} ${target}: ${f.name ?? 'Error'}${detail}`,
    ctx,
    op,
    target,
    kms: kmsKey(ctx.encryption),
  });
}

function wrongRegion(op: string, target: string, ctx: S3ErrorContext, f: ErrorFacts): string {
  const actual = f.region && f.region !== ctx.region ? f.region : undefined;
  return (
    `${op} of ${target} failed: the bucket is not in region ${ctx.region}${actual ? ` but in ${actual}` : ''}. ` +
    `Set s3_bucket_region to ${actual ?? "the bucket's region"}${ctx.endpoint ? ` (for ${hostOf(ctx.endpoint)}, the region the store expects)` : ''}`
  );
}

export function describeEncryption(enc: Encryption): string {
  switch (enc.mode) {
    case 'bucket_default':
      return 'the bucket default, no header';
    case 'sse_s3':
      return 'SSE-S3, AES256';
    case 'sse_kms':
      return `SSE-KMS with key ${enc.kmsKeyArn}`;
  }
}
