import { defineConfig } from 'vitest/config';

// The AWS SDK versions are pinned and support Node 20; its notice about future releases is noise.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const core = 'packages/core';
// Starts the S3 API server (OpenStack Swift + s3api) once for the projects that need it.
const s3GlobalSetup = `${core}/test-support/s3GlobalSetup.ts`;

// One suite: `pnpm test` runs every project. Fast pure-logic tests and slow tests against real
// PostgreSQL clusters and a real S3 API server are separate projects. Real clusters are heavy on a
// 2-core machine, so the slow projects run one file at a time.
export default defineConfig({
  test: {
    projects: [
      { test: { name: 'core-unit', root: core, include: ['test/unit/**/*.test.ts'] } },
      {
        test: {
          name: 'core-integration',
          root: core,
          include: ['test/integration/**/*.test.ts'],
          globalSetup: [`../../${s3GlobalSetup}`],
          testTimeout: 180_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'cli-e2e',
          root: 'packages/cli',
          include: ['test/**/*.test.ts'],
          globalSetup: [`../../${s3GlobalSetup}`],
          testTimeout: 300_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
      {
        // The terminal UI: screens with ink-testing-library, and one run in a real terminal (tmux).
        test: {
          name: 'tui',
          root: 'packages/tui',
          include: ['test/**/*.test.{ts,tsx}'],
          // Ink renders only a final frame when CI is set; these tests watch every frame, as a person
          // at a terminal does (CI runs `bash .ci/run` with CI=true).
          env: { CI: 'false', CONTINUOUS_INTEGRATION: 'false' },
          testTimeout: 300_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'api',
          root: 'packages/api',
          include: ['test/**/*.test.ts'],
          globalSetup: [`../../${s3GlobalSetup}`],
          testTimeout: 300_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
