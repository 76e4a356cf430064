// The one narrow port between the connector and object storage. The S3 implementation
// (s3-store.ts) applies the configured encryption to every write; callers never see SDK types.

import type { Readable } from 'node:stream';

export interface PutOptions {
  contentType: string;
}

export interface UploadOptions extends PutOptions {
  /**
   * Aborts the upload: the body is destroyed, parts in flight finish, the multipart upload is
   * aborted on the server, and only then upload() rejects with the signal's reason. (When the
   * whole body was already sent, the upload may still complete and resolve.)
   */
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
  /**
   * Streams a body with a multipart upload (bounded part queue; one PutObject when the body fits
   * one part), aborted on failure. A body that errors fails the upload with the body's error.
   */
  upload(key: string, body: Readable, options: UploadOptions): Promise<UploadResult>;
  delete(key: string): Promise<void>;
  list(prefix: string): Promise<ObjectInfo[]>;
}

/** A multipart upload that was started and neither completed nor aborted. */
export interface OpenUpload {
  key: string;
  /** ISO-8601 UTC, when the store says. */
  initiated: string | undefined;
}

/** What `verify` reads (the connector itself reads nothing back): a separate port, so that stores that only write need not implement it. */
export interface ObjectReader {
  list(prefix: string): Promise<ObjectInfo[]>;
  /** The object's body as a stream (read it to the end or destroy it); undefined when no object has the key. */
  getStream(key: string): Promise<Readable | undefined>;
  /** Multipart uploads left open under a prefix. */
  listUploads(prefix: string): Promise<OpenUpload[]>;
}
