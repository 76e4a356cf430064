// The one narrow port between the connector and object storage. The S3 implementation
// (s3-store.ts) applies the configured encryption to every write; callers never see SDK types.

import type { Readable } from 'node:stream';

export interface PutOptions {
  contentType: string;
}

export interface UploadOptions extends PutOptions {
  /** Aborts the upload (and its multipart upload on the server). */
  signal?: AbortSignal;
  /** Always use a multipart upload, even for a body that fits one part (check does this). */
  forceMultipart?: boolean;
}

export interface UploadResult {
  key: string;
  bytes: number;
  /** Hex SHA-256 of the bytes uploaded, computed on the way. */
  sha256: string;
}

export interface ObjectInfo {
  key: string;
  size: number;
}

export interface ObjectStore {
  /** One PutObject of a small body (manifests, check's test object). */
  put(key: string, body: string | Buffer, options: PutOptions): Promise<void>;
  /** Streams a body with a multipart upload (bounded part queue), aborted on failure. */
  upload(key: string, body: Readable, options: UploadOptions): Promise<UploadResult>;
  delete(key: string): Promise<void>;
  list(prefix: string): Promise<ObjectInfo[]>;
}
