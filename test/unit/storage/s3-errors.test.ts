import { describe, expect, it } from 'vitest';
import { S3ServiceException } from '@aws-sdk/client-s3';
import { STSServiceException } from '@aws-sdk/client-sts';
import { ConfigError, SystemError, TransientError } from '../../../src/errors.js';
import { OPERATION_TAG } from '../../../src/storage/error-facts.js';
import { classifyS3Error, type S3ErrorContext } from '../../../src/storage/s3-errors.js';
import { classifyDefaultChainError, classifyStsError, type StsErrorContext } from '../../../src/storage/sts-errors.js';

/** An error as the SDK throws it for an S3 answer; radosgw's messages are empty ("UnknownError"). */
function s3Error(code: string, status: number, extra: Record<string, unknown> = {}): S3ServiceException {
  const err = new S3ServiceException({
    name: code,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status, attempts: 1 },
    message: 'UnknownError',
  });
  return Object.assign(err, { Code: code }, extra);
}

function netError(code: string): Error {
  return Object.assign(new Error(`connect ${code} 127.0.0.1:1`), { code });
}

const base: S3ErrorContext = {
  operation: 'PutObject',
  bucket: 'acme-exports',
  key: 'exports/product/_connection_check_1.txt',
  region: 'eu-west-1',
  endpoint: undefined,
  encryption: { mode: 'bucket_default' },
  authType: 'iam_role',
};
const kms = { mode: 'sse_kms', kmsKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/abcd' } as const;

describe('classifyS3Error', () => {
  it('reports a denied DeleteObject as s3:DeleteObject, needed for the connection test only', () => {
    const e = classifyS3Error(s3Error('AccessDenied', 403), { ...base, operation: 'DeleteObject' });
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toContain('s3:DeleteObject on arn:aws:s3:::acme-exports/exports/product/*');
    expect(e.message).toContain('needed for the connection test only');
    expect(e.message).toContain('write never deletes');
    expect(e.message).toContain('a later check will then fail; syncs will not');
  });

  it('names s3:PutObject, kms:GenerateDataKey and kms:Decrypt as candidates for a denied SSE-KMS write', () => {
    const e = classifyS3Error(s3Error('AccessDenied', 403), { ...base, operation: 'CreateMultipartUpload', encryption: kms });
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toMatch(/^CreateMultipartUpload of s3:\/\/acme-exports\/exports\/product\/_connection_check_1\.txt was denied/);
    for (const needed of ['s3:PutObject', 'kms:GenerateDataKey', 'kms:Decrypt', kms.kmsKeyArn, 'bucket policy']) expect(e.message).toContain(needed);
  });

  it('does not mention KMS for a denied write without SSE-KMS', () => {
    const e = classifyS3Error(s3Error('AccessDenied', 403), base);
    expect(e.message).toContain('s3:PutObject');
    expect(e.message).not.toContain('kms:');
  });

  it('takes the failing operation from the tag the client sets, over the context', () => {
    const err = s3Error('AccessDenied', 403);
    Object.defineProperty(err, OPERATION_TAG, { value: 'UploadPart' });
    expect(classifyS3Error(err, { ...base, operation: 'Upload' }).message).toMatch(/^UploadPart of /);
  });

  it('treats a bare HTTP 403 without an error code (radosgw) as a denial', () => {
    const err = new S3ServiceException({ name: 'Unknown', $fault: 'client', $metadata: { httpStatusCode: 403 }, message: 'UnknownError' });
    const e = classifyS3Error(err, base);
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toContain('was denied');
  });

  it('reports a missing bucket with the setting to fix', () => {
    const e = classifyS3Error(s3Error('NoSuchBucket', 404), { ...base, endpoint: 'http://127.0.0.1:7480' });
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toContain('the bucket acme-exports does not exist at the S3 endpoint http://127.0.0.1:7480');
    expect(e.message).toContain('s3_bucket_name and s3_endpoint');
  });

  it('reports an unknown access key and a wrong secret as credential problems', () => {
    const unknown = classifyS3Error(s3Error('InvalidAccessKeyId', 403), { ...base, authType: 'access_key' });
    expect(unknown).toBeInstanceOf(ConfigError);
    expect(unknown.message).toContain('the access key ID is not known');
    expect(unknown.message).toContain('access_key_id');
    const wrong = classifyS3Error(s3Error('SignatureDoesNotMatch', 403), { ...base, authType: 'access_key' });
    expect(wrong).toBeInstanceOf(ConfigError);
    expect(wrong.message).toContain('secret access key is wrong');
    expect(wrong.message).toContain('(SignatureDoesNotMatch, HTTP 403)');
  });

  it("reads Ceph's InvalidAccessKeyId for an unknown KMS key as a KMS problem", () => {
    const err = s3Error('InvalidAccessKeyId', 403, { message: 'Failed to retrieve the actual key, kms-keyid: nokey' });
    const e = classifyS3Error(err, { ...base, endpoint: 'http://127.0.0.1:7480', encryption: kms, operation: 'CreateMultipartUpload' });
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toContain(`the KMS key ${kms.kmsKeyArn} is unknown to the store`);
    expect(e.message).toContain('kms_key_arn');
  });

  it('names both candidates when InvalidAccessKeyId of an SSE-KMS write comes without a message', () => {
    const e = classifyS3Error(s3Error('InvalidAccessKeyId', 403), {
      ...base,
      endpoint: 'http://127.0.0.1:7480',
      encryption: kms,
      authType: 'access_key',
    });
    expect(e.message).toContain('does not know the access key');
    expect(e.message).toContain(`the KMS key ${kms.kmsKeyArn}`);
  });

  it('reports KMS error codes as config errors naming the key, and KMS throttling as transient', () => {
    const e = classifyS3Error(s3Error('KMS.NotFoundException', 400), { ...base, encryption: kms });
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toContain(kms.kmsKeyArn);
    expect(e.message).toContain('kms:GenerateDataKey and kms:Decrypt');
    expect(classifyS3Error(s3Error('KMS.ThrottlingException', 400), { ...base, encryption: kms })).toBeInstanceOf(TransientError);
  });

  it('reports a bucket in another region with the region S3 names', () => {
    const e = classifyS3Error(s3Error('PermanentRedirect', 301, { Region: 'us-west-2' }), base);
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toContain('not in region eu-west-1 but in us-west-2');
    expect(e.message).toContain('Set s3_bucket_region to us-west-2');
    expect(classifyS3Error(s3Error('AuthorizationHeaderMalformed', 400), base).message).toContain('s3_bucket_region');
  });

  it('reports expired and invalid session tokens and clock skew as config errors', () => {
    const expired = classifyS3Error(s3Error('ExpiredToken', 400), { ...base, authType: 'access_key' });
    expect(expired).toBeInstanceOf(ConfigError);
    expect(expired.message).toContain('session token has expired');
    expect(classifyS3Error(s3Error('InvalidToken', 400), { ...base, authType: 'access_key' }).message).toContain('session_token');
    expect(classifyS3Error(s3Error('RequestTimeTooSkewed', 403), base).message).toContain('clock');
  });

  it('classifies throttling, 5xx and timeouts as transient', () => {
    for (const err of [
      s3Error('SlowDown', 503),
      s3Error('InternalError', 500),
      s3Error('ServiceUnavailable', 503),
      s3Error('Whatever', 502),
      s3Error('RequestTimeout', 400),
    ]) {
      expect(classifyS3Error(err, base), err.name).toBeInstanceOf(TransientError);
    }
    const timeout = Object.assign(new Error('Socket timed out'), { name: 'TimeoutError' });
    expect(classifyS3Error(timeout, base)).toBeInstanceOf(TransientError);
    expect(classifyS3Error(netError('ECONNRESET'), base)).toBeInstanceOf(TransientError);
  });

  it('names the endpoint when the connection is refused, and sees the network error under a cause', () => {
    const wrapped = Object.assign(new Error('request failed'), { cause: netError('ECONNREFUSED') });
    const e = classifyS3Error(wrapped, { ...base, endpoint: 'http://127.0.0.1:1' });
    expect(e).toBeInstanceOf(TransientError);
    expect(e.message).toContain('Could not connect to the S3 endpoint http://127.0.0.1:1: connection refused');
    expect(e.message).toContain('s3_endpoint');
  });

  it('reports an unresolvable host and an untrusted certificate as config errors', () => {
    expect(classifyS3Error(netError('ENOTFOUND'), { ...base, endpoint: 'https://minio.invalid' })).toBeInstanceOf(ConfigError);
    const tls = classifyS3Error(netError('SELF_SIGNED_CERT_IN_CHAIN'), { ...base, endpoint: 'https://minio.internal' });
    expect(tls).toBeInstanceOf(ConfigError);
    expect(tls.message).toContain('NODE_EXTRA_CA_CERTS');
  });

  it('reports an encryption mode the store refuses as a config error naming the setting', () => {
    const e = classifyS3Error(s3Error('NotImplemented', 501), { ...base, encryption: { mode: 'sse_s3' } });
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toContain('SSE-S3');
    expect(e.message).toContain('bucket_default');
  });

  it('reports an unexplained client error as a system error with its code, and passes connector errors through', () => {
    const e = classifyS3Error(s3Error('EntityTooSmall', 400), { ...base, operation: 'CompleteMultipartUpload' });
    expect(e).toBeInstanceOf(SystemError);
    expect(e.message).toContain('EntityTooSmall, HTTP 400');
    const own = new ConfigError('already classified');
    expect(classifyS3Error(own, base)).toBe(own);
  });
});

function stsError(name: string, status: number): STSServiceException {
  return new STSServiceException({
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status },
    message: 'UnknownError',
  });
}

const assume: StsErrorContext = {
  operation: 'AssumeRole',
  roleArn: 'arn:aws:iam:::role/S3Writer',
  region: 'us-east-1',
  stsEndpoint: 'http://127.0.0.1:7481',
  hasExternalId: false,
};
const webIdentity: StsErrorContext = {
  operation: 'AssumeRoleWithWebIdentity',
  roleArn: 'arn:aws:iam:::role/Fed',
  region: 'us-east-1',
  stsEndpoint: undefined,
  tokenFile: '/var/run/token',
};

describe('classifyStsError', () => {
  it('reports an unknown role (radosgw: 404 NotFound; AWS: NoSuchEntity)', () => {
    for (const err of [stsError('NotFound', 404), stsError('NoSuchEntity', 404), stsError('Unknown', 404)]) {
      const e = classifyStsError(err, assume);
      expect(e).toBeInstanceOf(ConfigError);
      expect(e.message).toContain('the role arn:aws:iam:::role/S3Writer does not exist');
      expect(e.message).toContain('role_arn');
    }
  });

  it('names the trust policy and the missing external id when AssumeRole is denied', () => {
    const e = classifyStsError(stsError('Unknown', 403), assume);
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toContain("trust policy does not allow the connector's base identity");
    expect(e.message).toContain('set external_id');
    expect(classifyStsError(stsError('AccessDenied', 403), { ...assume, hasExternalId: true }).message).toContain('external_id does not match');
  });

  it('names the token file and the trust policy for web identity failures', () => {
    const denied = classifyStsError(stsError('AccessDenied', 403), webIdentity);
    expect(denied.message).toContain('Federated principal');
    expect(denied.message).toContain('/var/run/token');
    const expired = classifyStsError(stsError('ExpiredTokenException', 400), webIdentity);
    expect(expired).toBeInstanceOf(ConfigError);
    expect(expired.message).toContain('the token in /var/run/token has expired');
    expect(classifyStsError(stsError('InvalidIdentityToken', 400), webIdentity).message).toContain('registered as an IAM OIDC identity provider');
    expect(classifyStsError(stsError('IDPCommunicationError', 400), webIdentity)).toBeInstanceOf(TransientError);
  });

  it("names Google's condition keys for web identity, where no provider is registered (docs/setup.md, option B)", () => {
    for (const e of [classifyStsError(stsError('AccessDenied', 403), webIdentity), classifyStsError(stsError('Unknown', 403), webIdentity)]) {
      expect(e.message).toContain('"accounts.google.com" for a Google token');
      expect(e.message).toContain('accounts.google.com:sub');
      expect(e.message).toContain('accounts.google.com:oaud');
      expect(e.message).toContain('for an issuer other than Google, it is not registered');
    }
    expect(classifyStsError(stsError('Unknown', 400), webIdentity).message).toContain('accounts.google.com:sub and :oaud for Google');
    expect(classifyStsError(stsError('InvalidIdentityToken', 400), webIdentity).message).toContain("Google's (accounts.google.com) is built in");
  });

  it('reports missing base credentials as a config error that says where they are looked for', () => {
    const err = Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' });
    const e = classifyStsError(err, assume);
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toContain('AWS_ACCESS_KEY_ID');
    expect(classifyDefaultChainError(err)).toBeInstanceOf(ConfigError);
  });

  it('classifies STS throttling, 5xx and refused connections as transient, naming AWS_ENDPOINT_URL_STS', () => {
    expect(classifyStsError(stsError('Throttling', 400), assume)).toBeInstanceOf(TransientError);
    expect(classifyStsError(stsError('InternalFailure', 500), assume)).toBeInstanceOf(TransientError);
    const refused = classifyStsError(netError('ECONNREFUSED'), assume);
    expect(refused).toBeInstanceOf(TransientError);
    expect(refused.message).toContain('AWS_ENDPOINT_URL_STS');
  });
});
