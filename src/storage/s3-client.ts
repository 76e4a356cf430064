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

/** The headers sent with every PutObject and CreateMultipartUpload (the `encryption` setting, docs/setup.md). */
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

/** The name (and code) of the error a write gets when its answer is not S3's (s3-errors.ts classifies it). */
export const NOT_S3_ANSWER = 'NotS3Answer';

/**
 * What the success answer of each write must carry to be S3's: PutObject and UploadPart an ETag,
 * CreateMultipartUpload an upload id, CompleteMultipartUpload its result document (the object's
 * key or location: radosgw sends an empty ETag there). Any server answering 200 (a web server or
 * console behind a wrong s3_endpoint, a captive proxy) would otherwise be taken as a store that
 * wrote the object, and its states echoed.
 */
const S3_ANSWER_NEEDS: Readonly<Record<string, { anyOf: readonly string[]; missing: string }>> = {
  PutObjectCommand: { anyOf: ['ETag'], missing: 'no ETag' },
  UploadPartCommand: { anyOf: ['ETag'], missing: 'no ETag' },
  CreateMultipartUploadCommand: { anyOf: ['UploadId'], missing: 'no upload id' },
  CompleteMultipartUploadCommand: { anyOf: ['ETag', 'Key', 'Location'], missing: 'no CompleteMultipartUploadResult' },
};

/**
 * Why a write's successful answer is not S3's ("an HTML page", "no upload id", …), or undefined
 * when it looks like S3's. S3 answers writes with an empty body or XML, never an HTML page (a
 * static web server sends an ETag too, so the ETag alone does not tell them apart).
 */
export function notS3Answer(commandName: string, output: Record<string, unknown> | undefined, contentType: string | undefined): string | undefined {
  const needs = S3_ANSWER_NEEDS[commandName];
  if (!needs) return undefined;
  const reasons: string[] = [];
  if (contentType !== undefined && /^\s*text\/html\b/i.test(contentType)) reasons.push('an HTML page');
  const present = (field: string): boolean => typeof output?.[field] === 'string' && (output[field] as string).length > 0;
  if (!needs.anyOf.some(present)) reasons.push(needs.missing);
  return reasons.length ? reasons.join(', ') : undefined;
}

function headerOf(response: unknown, name: string): string | undefined {
  const headers = (response as { headers?: Record<string, unknown> } | undefined)?.headers ?? {};
  const found = Object.entries(headers).find(([k]) => k.toLowerCase() === name);
  return typeof found?.[1] === 'string' ? found[1] : undefined;
}

export function createS3Client(
  config: Pick<Config, 'region' | 'endpoint'>,
  credentials: AwsCredentialIdentityProvider,
  options: S3ClientOptions = {},
): S3Client {
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
  // A write whose answer is not S3's fails (after the SDK's retries: retrying would not change
  // the server), so that no file is taken as uploaded and no state is echoed for it.
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      const commandName = context.commandName ?? '';
      const response = result.response as { statusCode?: number } | undefined;
      const reason = notS3Answer(commandName, result.output as unknown as Record<string, unknown> | undefined, headerOf(response, 'content-type'));
      if (reason === undefined) return result;
      const err = Object.assign(new Error(reason), { name: NOT_S3_ANSWER, Code: NOT_S3_ANSWER, $metadata: { httpStatusCode: response?.statusCode } });
      Object.defineProperty(err, OPERATION_TAG, { value: commandName.replace(/Command$/, ''), enumerable: false });
      throw err;
    },
    { step: 'initialize', name: 'destinationS3NotS3Answer' },
  );
  return client;
}
