import type { TestProject } from 'vitest/node';
import { startS3TestServer } from './s3Server.js';

/**
 * Starts one S3 API server for the whole integration run (about 3 s once Swift is installed; as
 * root the script installs it first) and hands its environment to the tests: `inject('s3Env')`.
 * A server that cannot start fails the run with the script's reason; tests are never skipped.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await startS3TestServer();
  project.provide('s3Env', server.env);
  return () => server.stop();
}
