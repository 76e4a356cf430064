// The connector's own S3Client, with requests answered in-process (no network): for unit tests
// of the store and of check that exercise the real client, store and error classification.

import { S3ServiceException, type S3Client } from '@aws-sdk/client-s3';
import { createS3Client } from '../../../src/storage/s3-client.js';

export interface Call {
  op: string;
  input: Record<string, any>;
}

export interface FailOn {
  op: string;
  code: string;
  status: number;
  /** Calls of `op` that succeed before it starts failing. */
  afterCalls?: number;
}

/**
 * The connector's S3Client whose requests never leave the process: a middleware before
 * serialisation records each command and answers it, or fails the operation named in `failOn`.
 */
export function fakeS3(failOn?: FailOn): { client: S3Client; calls: Call[] } {
  const calls: Call[] = [];
  const client = createS3Client({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9' }, async () => ({ accessKeyId: 'AK', secretAccessKey: 'SK' }));
  client.middlewareStack.add(
    (_next, context) => async (args) => {
      const op = context.commandName!.replace(/Command$/, '');
      const input = args.input as Record<string, any>;
      calls.push({ op, input });
      if (failOn && failOn.op === op && calls.filter((c) => c.op === op).length > (failOn.afterCalls ?? 0)) {
        throw Object.assign(new S3ServiceException({ name: failOn.code, $fault: 'client', $metadata: { httpStatusCode: failOn.status } }), {
          Code: failOn.code,
        });
      }
      // What S3 answers (the client refuses a write answered otherwise: s3-client.ts notS3Answer).
      const outputs: Record<string, () => object> = {
        PutObject: () => ({ ETag: '"etag-put"' }),
        CreateMultipartUpload: () => ({ UploadId: 'upload-1' }),
        UploadPart: () => ({ ETag: `"etag-${input.PartNumber}"` }),
        CompleteMultipartUpload: () => ({ Bucket: input.Bucket, Key: input.Key, ETag: '"etag-complete-1"' }),
      };
      return { output: { $metadata: {}, ...(outputs[op]?.() ?? {}) }, response: {} };
    },
    { step: 'serialize', priority: 'high', name: 'fakeS3' },
  );
  return { client, calls };
}
