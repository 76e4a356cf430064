// ObjectStore on S3: every write carries the configured encryption headers, uploads stream with
// a bounded part queue and are hashed on the way, and a failed or aborted upload leaves no
// multipart upload behind. SDK errors leave this module as ConfigError / TransientError /
// SystemError (s3-errors.ts).

import { createHash } from 'node:crypto';
import { pipeline, Transform, type Readable, type TransformCallback } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  ListMultipartUploadsCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCommand,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { AwsCredentialIdentityProvider } from '@smithy/types';
import type { Config } from '../config/config.js';
import { ConfigError, type ConnectorError, SystemError, TransientError } from '../errors.js';
import type { Redactor } from '../redact.js';
import { debug } from '../protocol/output.js';
import { credentialProviderFor, type CredentialOptions } from './credentials.js';
import type { ObjectInfo, ObjectReader, ObjectStore, OpenUpload, PutOptions, UploadOptions, UploadResult } from './port.js';
import { errorFacts } from './error-facts.js';
import { describePermission, permissionForStep, type Step } from './permissions.js';
import { createS3Client, encryptionHeaders, sendsFlexibleChecksums, type EncryptionHeaders } from './s3-client.js';
import { classifyS3Error } from './s3-errors.js';

const MiB = 1024 * 1024;
/** S3's smallest part (except the last). */
export const MIN_PART_SIZE = 5 * MiB;
/** lib-storage's part size: 8 MiB keeps part counts low for 256 MB files (write/resources.ts budgets it). */
export const DEFAULT_PART_SIZE = 8 * MiB;

export type StoreConfig = Pick<Config, 'bucket' | 'region' | 'endpoint' | 'encryption' | 'credentials' | 'uploadConcurrency'>;

export interface S3StoreOptions {
  /** Part size of multipart uploads (default 8 MiB, at least 5 MiB). */
  partSizeBytes?: number;
  /** Parts in flight per upload (default: the config's upload_concurrency). */
  queueSize?: number;
}

/** Counts and hashes the bytes that pass through it. */
class HashingStream extends Transform {
  private readonly hash = createHash('sha256');
  bytes = 0;

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    done(null, chunk);
  }

  hex(): string {
    return this.hash.digest('hex');
  }
}

/** Cuts a stream into parts of `size` bytes (the last smaller); yields at least one part. */
async function* partsOf(source: AsyncIterable<Buffer>, size: number): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let yielded = false;
  for await (const chunk of source) {
    pending.push(chunk);
    pendingBytes += chunk.length;
    while (pendingBytes >= size) {
      const all = Buffer.concat(pending);
      yield all.subarray(0, size);
      yielded = true;
      pending = [all.subarray(size)];
      pendingBytes = all.length - size;
    }
  }
  if (pendingBytes > 0 || !yielded) yield Buffer.concat(pending);
}

/** How many attempts the SDK's retries made for a command's result or error (1 without retries). */
function attemptsOf(value: unknown): number {
  const metadata = (value as { $metadata?: { attempts?: number } } | undefined)?.$metadata;
  return metadata?.attempts ?? 1;
}

function isNoSuchUpload(err: unknown): boolean {
  const e = err as { name?: string; Code?: string } | undefined;
  return e?.name === 'NoSuchUpload' || e?.Code === 'NoSuchUpload';
}

/** Commands whose retries the store watches, by the keys they were sent for. */
const WATCHED = ['CreateMultipartUploadCommand', 'CompleteMultipartUploadCommand'] as const;
type Watched = (typeof WATCHED)[number];

function abortError(signal: AbortSignal, what: string): Error {
  return signal.reason instanceof Error ? signal.reason : new TransientError(`${what} was aborted.`);
}

export class S3ObjectStore implements ObjectStore, ObjectReader {
  private readonly encryption: EncryptionHeaders;
  private readonly partSize: number;
  private readonly queueSize: number;
  /**
   * Keys whose CreateMultipartUpload (see abortStrayUploads) or CompleteMultipartUpload (see
   * completedAnyway) the SDK sent more than once.
   */
  private readonly retried: Record<Watched, Set<string>> = {
    CreateMultipartUploadCommand: new Set(),
    CompleteMultipartUploadCommand: new Set(),
  };

  /** Set by close(): every attempt after it (but AbortMultipartUpload) fails at once instead of being retried. */
  private closed = false;

  constructor(
    private readonly client: S3Client,
    private readonly config: StoreConfig,
    options: S3StoreOptions = {},
  ) {
    this.encryption = encryptionHeaders(config.encryption);
    this.partSize = Math.max(MIN_PART_SIZE, options.partSizeBytes ?? DEFAULT_PART_SIZE);
    this.queueSize = Math.max(1, options.queueSize ?? config.uploadConcurrency);
    // lib-storage sends CreateMultipartUpload and CompleteMultipartUpload itself: watch them
    // here for retries.
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const watched = WATCHED.find((name) => name === context.commandName);
        if (!watched) return next(args);
        const key = (args.input as { Key?: string }).Key;
        try {
          const result = await next(args);
          if (key !== undefined && attemptsOf(result.output) > 1) this.retried[watched].add(key);
          return result;
        } catch (err) {
          if (key !== undefined && attemptsOf(err) > 1) this.retried[watched].add(key);
          throw err;
        }
      },
      { step: 'initialize', name: 'destinationS3RetriedCommands' },
    );
    // Inside the SDK's retries (per attempt): once closed, a request whose socket close() cut is
    // not retried, so that nothing outlives the store (check's deadline relies on it). Except the
    // clean-up: an upload cut this way still tries once to abort its multipart upload.
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (this.closed && context.commandName !== 'AbortMultipartUploadCommand')
          throw new TransientError(`${context.commandName?.replace(/Command$/, '') ?? 'The request'} was stopped: the S3 client was closed.`);
        return next(args);
      },
      { step: 'finalizeRequest', priority: 'low', name: 'destinationS3Closed' },
    );
  }

  private fail(err: unknown, operation: string, key?: string): ConnectorError {
    const c = this.config;
    return classifyS3Error(err, {
      operation,
      bucket: c.bucket,
      ...(key === undefined ? {} : { key }),
      region: c.region,
      endpoint: c.endpoint,
      encryption: c.encryption,
      authType: c.credentials.authType,
    });
  }

  async put(key: string, body: string | Buffer, options: PutOptions): Promise<void> {
    const data = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.config.bucket,
          Key: key,
          Body: data,
          ContentLength: data.length,
          ContentType: options.contentType,
          ...this.encryption,
        }),
      );
    } catch (err) {
      throw this.fail(err, 'PutObject', key);
    }
  }

  async upload(key: string, body: Readable, options: UploadOptions): Promise<UploadResult> {
    const { signal } = options;
    if (signal?.aborted) {
      body.destroy();
      throw abortError(signal, `The upload of ${key}`);
    }
    const hashing = new HashingStream();
    // Errors of the body reach the upload through `hashing`; a failed upload destroys both.
    pipeline(body, hashing, () => undefined);
    const onAbort = (): void => {
      hashing.destroy(abortError(signal!, `The upload of ${key}`));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      if (options.forceMultipart) await this.multipartUpload(key, hashing, options.contentType, signal);
      else await this.streamingUpload(key, hashing, options.contentType);
    } catch (err) {
      hashing.destroy();
      if (signal?.aborted) throw abortError(signal, `The upload of ${key}`);
      if (!(this.retried.CompleteMultipartUploadCommand.has(key) && isNoSuchUpload(err) && (await this.completedAnyway(key, hashing.bytes)))) {
        throw this.fail(err, 'Upload', key);
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      this.retried.CompleteMultipartUploadCommand.delete(key);
      if (this.retried.CreateMultipartUploadCommand.delete(key)) await this.abortStrayUploads(key);
    }
    return { key, bytes: hashing.bytes, sha256: hashing.hex() };
  }

  /**
   * A CompleteMultipartUpload whose answer was lost (a reset after the store acted) is retried by
   * the SDK, and S3 may answer the retry NoSuchUpload: the upload is no longer open because it
   * was completed. Then the object is there with every byte sent (all parts were uploaded before
   * Complete): accept it when its size is what was uploaded. A size that differs, or a HeadObject
   * that fails (it needs s3:GetObject, which the connector otherwise does without), keeps the
   * original error: the sync fails as it would have.
   */
  private async completedAnyway(key: string, bytes: number): Promise<boolean> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.config.bucket, Key: key }));
      debug(
        `CompleteMultipartUpload of ${key} was retried and answered NoSuchUpload; the object has ${head.ContentLength} bytes, ${bytes} were uploaded`,
      );
      return head.ContentLength === bytes;
    } catch (err) {
      debug(`CompleteMultipartUpload of ${key} was retried and answered NoSuchUpload; HeadObject failed too: ${(err as Error).name}`);
      return false;
    }
  }

  /**
   * CreateMultipartUpload is not idempotent: when its answer is lost (a reset after the store
   * acted) and the SDK retries, the store holds a second upload whose id we never learnt, and
   * nothing would ever complete or abort it. So, only after a retried CreateMultipartUpload and
   * once our own upload is completed or aborted, the uploads still open on this exact key (keys
   * are written once) are strays: abort them. Best effort: it needs s3:ListBucketMultipartUploads,
   * and without it the bucket's lifecycle rule removes the parts later.
   */
  private async abortStrayUploads(key: string): Promise<void> {
    const Bucket = this.config.bucket;
    try {
      const listed = await this.client.send(new ListMultipartUploadsCommand({ Bucket, Prefix: key }));
      for (const u of listed.Uploads ?? []) {
        if (u.Key !== key || !u.UploadId) continue;
        await this.client.send(new AbortMultipartUploadCommand({ Bucket, Key: key, UploadId: u.UploadId }));
      }
    } catch (err) {
      debug(`Could not clean up stray multipart uploads of ${key} after a retried CreateMultipartUpload: ${(err as Error).name}`);
    }
  }

  /** lib-storage: at most queueSize parts of partSize in flight; aborts its multipart upload on failure. */
  private async streamingUpload(key: string, body: Readable, contentType: string): Promise<void> {
    const upload = new Upload({
      client: this.client,
      queueSize: this.queueSize,
      partSize: this.partSize,
      leavePartsOnError: false,
      params: { Bucket: this.config.bucket, Key: key, Body: body, ContentType: contentType, ...this.encryption },
    });
    await upload.done();
  }

  /** An explicit CreateMultipartUpload / UploadPart… / CompleteMultipartUpload, parts one at a time. */
  private async multipartUpload(key: string, body: AsyncIterable<Buffer>, contentType: string, signal: AbortSignal | undefined): Promise<void> {
    const Bucket = this.config.bucket;
    const checksum = sendsFlexibleChecksums(this.config) ? { ChecksumAlgorithm: 'CRC32' as const } : {};
    const call = signal ? { abortSignal: signal } : {};
    const created = await this.client.send(
      new CreateMultipartUploadCommand({ Bucket, Key: key, ContentType: contentType, ...this.encryption, ...checksum }),
      call,
    );
    const UploadId = created.UploadId;
    if (!UploadId) throw new SystemError(`CreateMultipartUpload of ${key} answered without an upload id.`);
    try {
      const parts: CompletedPart[] = [];
      for await (const data of partsOf(body, this.partSize)) {
        const PartNumber = parts.length + 1;
        const out = await this.client.send(
          new UploadPartCommand({ Bucket, Key: key, UploadId, PartNumber, Body: data, ContentLength: data.length, ...checksum }),
          call,
        );
        parts.push({ PartNumber, ETag: out.ETag, ...(out.ChecksumCRC32 ? { ChecksumCRC32: out.ChecksumCRC32 } : {}) });
      }
      await this.client.send(new CompleteMultipartUploadCommand({ Bucket, Key: key, UploadId, MultipartUpload: { Parts: parts } }), call);
    } catch (err) {
      // Not under the abort signal: the clean-up must run even when the upload was aborted.
      await this.client.send(new AbortMultipartUploadCommand({ Bucket, Key: key, UploadId })).catch(() => undefined);
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.config.bucket, Key: key }));
    } catch (err) {
      throw this.fail(err, 'DeleteObject', key);
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    const found: ObjectInfo[] = [];
    let ContinuationToken: string | undefined;
    try {
      do {
        const out = await this.client.send(
          new ListObjectsV2Command({ Bucket: this.config.bucket, Prefix: prefix, ...(ContinuationToken ? { ContinuationToken } : {}) }),
        );
        for (const o of out.Contents ?? []) if (o.Key !== undefined) found.push({ key: o.Key, size: o.Size ?? 0 });
        ContinuationToken = out.IsTruncated ? out.NextContinuationToken : undefined;
      } while (ContinuationToken);
    } catch (err) {
      throw this.fail(err, 'ListObjectsV2', prefix);
    }
    return found;
  }

  /**
   * A denied read names the permission of the table (permissions.ts) that grants it: the write
   * path's classification would name s3:PutObject.
   */
  private readFailure(err: unknown, operation: string, target: string, step: Step): ConnectorError {
    const f = errorFacts(err);
    if (f.code === 'AccessDenied' || f.status === 403) {
      const exportConfig = {
        bucket: this.config.bucket,
        folder: '',
        manifestLocation: 'bucket_root' as const,
        namespaceLayout: 'flat' as const,
        encryption: this.config.encryption,
      };
      const kms =
        this.config.encryption.mode === 'sse_kms' && step === 'verify-read-objects'
          ? ` With SSE-KMS, S3 also needs ${describePermission(permissionForStep('verify-decrypt'), exportConfig)}.`
          : '';
      return new ConfigError(
        `${operation} of ${target} was denied: grant ${permissionForStep(step).actions.join(' and ')} (statement ${permissionForStep(step).sid} of \`policy --reader\`).${kms}`,
        { cause: err, internal: `${operation} ${target}: ${f.name ?? 'Error'}` },
      );
    }
    return this.fail(err, operation, target.replace(`s3://${this.config.bucket}/`, ''));
  }

  async getStream(key: string): Promise<Readable | undefined> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.config.bucket, Key: key }));
      return out.Body as Readable;
    } catch (err) {
      const f = errorFacts(err);
      if (f.code === 'NoSuchKey' || (f.status === 404 && f.code !== 'NoSuchBucket')) return undefined;
      throw this.readFailure(err, 'GetObject', `s3://${this.config.bucket}/${key}`, 'verify-read-objects');
    }
  }

  async listUploads(prefix: string): Promise<OpenUpload[]> {
    const found: OpenUpload[] = [];
    let KeyMarker: string | undefined;
    let UploadIdMarker: string | undefined;
    try {
      do {
        const out = await this.client.send(
          new ListMultipartUploadsCommand({ Bucket: this.config.bucket, Prefix: prefix, ...(KeyMarker ? { KeyMarker, UploadIdMarker } : {}) }),
        );
        for (const u of out.Uploads ?? []) if (u.Key !== undefined) found.push({ key: u.Key, initiated: u.Initiated?.toISOString() });
        [KeyMarker, UploadIdMarker] = out.IsTruncated ? [out.NextKeyMarker, out.NextUploadIdMarker] : [undefined, undefined];
      } while (KeyMarker);
    } catch (err) {
      throw this.readFailure(err, 'ListMultipartUploads', `s3://${this.config.bucket}/${prefix}`, 'verify-list-uploads');
    }
    return found;
  }

  /** Closes the client's sockets; requests in flight fail (without retries) and later ones at once. */
  close(): void {
    this.closed = true;
    this.client.destroy();
  }
}

export interface CreateStoreOptions extends S3StoreOptions, CredentialOptions {
  /** Attempts per request (default WRITE_MAX_ATTEMPTS; check uses fewer). */
  maxAttempts?: number;

  /** A provider made earlier (e.g. by check, which calls it first to test the credentials). */
  credentials?: AwsCredentialIdentityProvider;
  redactor?: Redactor;
}

/** The ObjectStore for a config: credentials per `config.credentials`, client per region/endpoint. */
export function createS3Store(config: StoreConfig, options: CreateStoreOptions = {}): S3ObjectStore {
  const credentials = options.credentials ?? credentialProviderFor(config, options);
  const client = createS3Client(config, credentials, options.maxAttempts === undefined ? {} : { maxAttempts: options.maxAttempts });
  return new S3ObjectStore(client, config, options);
}
