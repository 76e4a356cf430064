// Turns an error of an S3 call into the connector's hierarchy (DESIGN §5.7) with a message in
// the user's words: which operation failed on which object, what is wrong, what to change.
// Where the store's answer fits several causes (radosgw's empty messages, AccessDenied with
// SSE-KMS, …) the message names every candidate.

import { ConfigError, ConnectorError, SystemError, TransientError } from '../errors.js';
import type { Credentials, Encryption } from '../config/config.js';
import { errorFacts, hostOf, isServerFault, isThrottling, isTimeout, technicalDetail, TLS_CODES, type ErrorFacts } from './error-facts.js';

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

/** A message that starts with a place ("the S3 endpoint …") starts with a capital. */
export function capitalized(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** The failures of the network below any AWS call; undefined when the error is not one. */
export function networkError(f: ErrorFacts, where: string, settingHint: string, cause: unknown): ConnectorError | undefined {
  const code = f.networkCode;
  if (!code) return undefined;
  const detail = technicalDetail(f);
  if (code === 'ENOTFOUND') {
    return new ConfigError(`Could not resolve the host of ${where}${detail}. Check ${settingHint}.`, { cause });
  }
  if (TLS_CODES.has(code)) {
    return new ConfigError(
      `The TLS connection to ${where} failed${detail}: its certificate is not trusted or the URL's scheme or port is wrong. ` +
        `Check ${settingHint}; for a private CA, give its certificate to Node with NODE_EXTRA_CA_CERTS.`,
      { cause },
    );
  }
  if (code === 'ECONNREFUSED') {
    return new TransientError(
      `Could not connect to ${where}: connection refused${detail}. Check ${settingHint} (scheme, host and port) and that the service is running.`,
      { cause },
    );
  }
  if (isTimeout(f)) {
    return new TransientError(`${capitalized(where)} did not answer in time${detail}. Check the network path to it (firewall, proxy) and ${settingHint}, then retry.`, { cause });
  }
  return new TransientError(`The connection to ${where} failed${detail}. Check the network path to it and ${settingHint}, then retry.`, { cause });
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
  if (kms && WRITE_OPERATIONS.has(op)) candidates.push(`it lacks kms:GenerateDataKey or kms:Decrypt on the KMS key ${kms} (both are needed to write SSE-KMS objects)`);
  candidates.push('a bucket policy denies the request (for example one that requires another encryption setting)');
  if (ctx.endpoint && ctx.authType !== 'default_chain') candidates.push(`the store rejected ${credentialSource(ctx)} (some S3-compatible stores report bad credentials this way)`);
  return `${op} of ${target} was denied. The store does not say why; the candidates are: ${candidates.map((c, i) => `(${i + 1}) ${c}`).join('; ')}.`;
}

/** Classifies an error of an S3 call; ConnectorErrors pass through unchanged. */
export function classifyS3Error(err: unknown, ctx: S3ErrorContext): ConnectorError {
  if (err instanceof ConnectorError) return err;
  const f = errorFacts(err);
  const op = f.operation ?? ctx.operation;
  const target = ctx.key === undefined ? `bucket ${ctx.bucket}` : `s3://${ctx.bucket}/${ctx.key}`;
  const where = describeEndpoint(ctx.endpoint, ctx.region);
  const detail = technicalDetail(f);
  const opts = { cause: err, internal: `${op} ${target}: ${f.name ?? 'Error'}${detail}` };
  const kms = kmsKey(ctx.encryption);
  const config = (message: string): ConfigError => new ConfigError(message + detail, opts);

  const network = networkError(f, where, ctx.endpoint ? 's3_endpoint' : 's3_bucket_region and the network', err);
  if (network) return network;
  if (f.name === 'CredentialsProviderError') {
    return config(
      `No AWS credentials were found for ${op}: the default chain looked at AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, AWS_PROFILE and the shared config files, and the container or instance role. ` +
        'Provide one of them, or choose another authentication in the config',
    );
  }
  if (isThrottling(f)) {
    return new TransientError(`${capitalized(where)} is throttling requests and ${op} of ${target} did not get through after the SDK's retries${detail}. Retry later, or lower upload_concurrency.`, opts);
  }
  if (isTimeout(f)) return new TransientError(`${op} of ${target} timed out${detail}. Retry later; if it persists, check the network path to ${where}.`, opts);
  if (isServerFault(f)) return new TransientError(`${capitalized(where)} failed ${op} of ${target} with a server error${detail}. Retry later.`, opts);

  const code = f.code;
  if (code?.startsWith('KMS.') || code === 'KMSNotFoundException' || code === 'KMSDisabledException' || code === 'KMSInvalidStateException') {
    return config(
      `${op} of ${target} failed: the KMS key ${kms ?? '(none configured)'} cannot be used. Check kms_key_arn (the key must exist, be enabled and be in the bucket's region ${ctx.region}) and grant the identity kms:GenerateDataKey and kms:Decrypt on it`,
    );
  }
  switch (code) {
    case 'AccessDenied':
    case 'AllAccessDisabled':
      return config(accessDenied(op, ctx, target));
    case 'NoSuchBucket':
      return config(`${op} of ${target} failed: the bucket ${ctx.bucket} does not exist at ${where}. Check s3_bucket_name${ctx.endpoint ? ' and s3_endpoint' : ''}, or create the bucket`);
    case 'InvalidAccessKeyId':
      if (kms && WRITE_OPERATIONS.has(op) && /kms|key ?id|encrypt/i.test(f.serverMessage ?? '')) {
        return config(`${op} of ${target} failed: the KMS key ${kms} is unknown to the store. Check kms_key_arn`);
      }
      if (kms && WRITE_OPERATIONS.has(op) && ctx.endpoint) {
        return config(
          `${op} of ${target} failed: the store does not know the access key, or (as S3-compatible stores such as Ceph report it) the KMS key ${kms}. Check ${credentialSource(ctx)}, and kms_key_arn`,
        );
      }
      return config(`${op} of ${target} failed: the access key ID is not known to ${where}. Check ${credentialSource(ctx)}`);
    case 'SignatureDoesNotMatch':
      return config(
        `${op} of ${target} failed: the request signature does not match. The secret access key is wrong (check ${credentialSource(ctx)}), ` +
          `or, less often, s3_bucket_region${ctx.endpoint ? ' or s3_endpoint' : ''} does not match the store or a proxy rewrote the request`,
      );
    case 'ExpiredToken':
    case 'TokenRefreshRequired':
    case 'ExpiredTokenException':
      return config(
        ctx.authType === 'access_key'
          ? `${op} of ${target} failed: the session token has expired. Supply fresh temporary credentials (access_key_id, secret_access_key, session_token), or use iam_role authentication, which renews them`
          : `${op} of ${target} failed: the temporary credentials have expired. Check that the machine's clock is right (NTP), and ${credentialSource(ctx)}`,
      );
    case 'InvalidToken':
      return config(`${op} of ${target} failed: the session token is malformed or does not belong to these keys. Check ${ctx.authType === 'access_key' ? 'session_token' : credentialSource(ctx)}`);
    case 'RequestTimeTooSkewed':
      return config(`${op} of ${target} failed: this machine's clock differs from ${where}'s by more than 15 minutes. Synchronise the clock (NTP)`);
    case 'PermanentRedirect':
    case 'AuthorizationHeaderMalformed':
    case 'IllegalLocationConstraintException':
    case 'TemporaryRedirect':
    case 'Redirect':
      return config(wrongRegion(op, target, ctx, f));
    case 'NotS3Answer':
      return config(
        `${op} of ${target} failed: ${where} answered with something that is not an S3 answer, so nothing can be taken as stored. ` +
          (ctx.endpoint
            ? 'Check s3_endpoint: it must be the URL of the store\'s S3 API, not of a web page, a console or another service'
            : 'Something on the network path (a proxy?) answered in S3\'s place: check the network path to Amazon S3'),
      );
    case 'NoSuchUpload':
      return new TransientError(`${op} of ${target} failed: the multipart upload was aborted on the server while it ran (by a lifecycle rule or another client?). Retry${detail}.`, opts);
    case 'QuotaExceeded':
    case 'TooManyBuckets':
      return config(`${op} of ${target} failed: the store's quota for this bucket or user is exhausted. Raise the quota or free space`);
    case 'NotImplemented':
    case 'InvalidArgument':
    case 'InvalidRequest':
    case 'InvalidEncryptionAlgorithmError':
    case 'UnsupportedArgument':
      if (ctx.encryption.mode !== 'bucket_default' && (op === 'PutObject' || op === 'CreateMultipartUpload' || op === 'Upload')) {
        return config(
          `${op} of ${target} was refused with the configured encryption (${describeEncryption(ctx.encryption)}). ` +
            `Check the encryption setting${kms ? ' and kms_key_arn' : ''}: the store may not support it (choose bucket_default for such a store)`,
        );
      }
      return new SystemError(`${op} of ${target} was refused by ${where} as invalid${detail}.`, opts);
  }
  if (f.status === 301 || f.status === 307) return config(wrongRegion(op, target, ctx, f));
  if (f.status === 403) return config(accessDenied(op, ctx, target));
  if (f.status === 404 && WRITE_OPERATIONS.has(op)) {
    return config(`${op} of ${target} failed: not found. The bucket ${ctx.bucket} probably does not exist at ${where}; check s3_bucket_name${ctx.endpoint ? ' and s3_endpoint' : ''}`);
  }
  if (f.name === 'AbortError') return new TransientError(`${op} of ${target} was aborted before it finished: the transfer is stopping (a signal, or another failure).`, opts);
  if (f.status !== undefined) return new SystemError(`${op} of ${target} failed: ${where} answered an unexpected error${detail}.`, opts);
  return new SystemError(`${op} of ${target} failed unexpectedly: ${err instanceof Error ? err.message : String(err)}`, opts);
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
