import { defineConfig } from 'vitest/config';

// Two projects: fast unit tests (no network, no S3), and integration tests that run the
// connector against a real S3 (Ceph radosgw on 127.0.0.1, started by integration_tests/setup).
export default defineConfig({
  test: {
    // The SDK's Node 20 end-of-support warning is for operators (docs/operations.md), not test logs.
    env: { AWS_EC2_METADATA_DISABLED: 'true', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'] },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['integration_tests/**/*.test.ts'],
          globalSetup: ['integration_tests/support/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
