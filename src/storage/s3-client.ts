// The S3 client built from a Config, and the encryption headers of every write (pure, tested).

import { S3Client, type S3ClientConfig, type ServerSideEncryption } from '@aws-sdk/client-s3';
import type { AwsCredentialIdentityProvider } from '@smithy/types';
import type { Config, Encryption } from '../config/config.js';
import { OPERATION_TAG } from './error-facts.js';
import { awsHttpHandler, RETRY_MODE, WRITE_MAX_ATTEMPTS } from './http.js';

export interface EncryptionHeaders {
  ServerSideEncryption?: ServerSideEncryption;
  SSEKMSKeyId?: string;
}

/** The headers sent with every PutObject and CreateMultipartUpload (DESIGN §2 `encryption`). */
export function encryptionHeaders(encryption: Encryption): EncryptionHeaders {
  switch (encryption.mode) {
    case 'bucket_default':
      // No header: the bucket's default encryption (SSE-S3 at least, on AWS) applies.
      return {};
    case 'sse_s3':
      return { ServerSideEncryption: 'AES256' };
    case 'sse_kms':
      return { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: encryption.kmsKeyArn };
  }
}

export interface S3ClientOptions {
  maxAttempts?: number;
}

/** The S3 client settings for a config (separate from the client so that tests can read them). */
export function s3ClientConfig(
  config: Pick<Config, 'region' | 'endpoint'>,
  credentials: AwsCredentialIdentityProvider,
  options: S3ClientOptions = {},
): S3ClientConfig {
  const custom = config.endpoint !== undefined;
  return {
    region: config.region,
    credentials,
    // Only a custom endpoint may be http:// (spec pattern); without one the SDK uses https.
    ...(custom
      ? {
          endpoint: config.endpoint,
          // S3-compatible stores rarely serve virtual-hosted bucket names.
          forcePathStyle: true,
          // The SDK's default flexible checksums (aws-chunked CRC32 trailers) break most
          // S3-compatible stores (radosgw: 411 MissingContentLength; others store the framing).
          requestChecksumCalculation: 'WHEN_REQUIRED' as const,
          responseChecksumValidation: 'WHEN_REQUIRED' as const,
        }
      : {}),
    retryMode: RETRY_MODE,
    maxAttempts: options.maxAttempts ?? WRITE_MAX_ATTEMPTS,
    requestHandler: awsHttpHandler(),
    // A bucket in another region is a config error to report, not a redirect to follow quietly.
    followRegionRedirects: false,
  };
}

/** Whether the SDK adds CRC32 checksums to uploads (AWS) or only where required (custom endpoints). */
export function sendsFlexibleChecksums(config: Pick<Config, 'endpoint'>): boolean {
  return config.endpoint === undefined;
}

export function createS3Client(config: Pick<Config, 'region' | 'endpoint'>, credentials: AwsCredentialIdentityProvider, options: S3ClientOptions = {}): S3Client {
  const client = new S3Client(s3ClientConfig(config, credentials, options));
  // Tag every failure with its command, so that an error from inside lib-storage's Upload still
  // says whether CreateMultipartUpload, UploadPart or CompleteMultipartUpload failed.
  client.middlewareStack.add(
    (next, context) => async (args) => {
      try {
        return await next(args);
      } catch (err) {
        if (err !== null && typeof err === 'object' && !(OPERATION_TAG in err) && context.commandName) {
          Object.defineProperty(err, OPERATION_TAG, { value: context.commandName.replace(/Command$/, ''), enumerable: false });
        }
        throw err;
      }
    },
    { step: 'initialize', name: 'destinationS3OperationTag' },
  );
  return client;
}
