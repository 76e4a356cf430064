import { describe, expect, it } from 'vitest';
import { HeadBucketCommand } from '@aws-sdk/client-s3';
import { adminClient, freshBucket } from './support/server.js';

describe('the test S3 server', () => {
  it('serves buckets on loopback', async () => {
    const bucket = await freshBucket('smoke');
    const res = await adminClient().send(new HeadBucketCommand({ Bucket: bucket }));
    expect(res.$metadata.httpStatusCode).toBe(200);
  });
});
