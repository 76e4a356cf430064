import { resolve } from 'node:path';
import { defineConfig } from 'vitest/config';

// The image tests (scripts/image-test.sh runs them after building the image): not part of
// `npm test`, whose projects are in the root vitest.config.ts. S3 comes from S3_TEST_ENDPOINT
// (the radosgw the script started), through the integration tests' global setup.
export default defineConfig({
  test: {
    root: resolve(import.meta.dirname, '../..'),
    include: ['scripts/image/*.test.ts'],
    globalSetup: ['integration_tests/support/global-setup.ts'],
    env: { AWS_EC2_METADATA_DISABLED: 'true', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 300_000,
  },
});
