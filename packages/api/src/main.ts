#!/usr/bin/env node
/**
 * `pnpm --filter @llm-analytics/api start [--host H] [--port P] [--token-file F]`: the API on its
 * own; `llm-analytics serve` is the same with every repository/database flag of the CLI.
 */
import { parseArgs } from 'node:util';
import { isBackupError } from '@llm-analytics/core';
import { runServer } from './server.js';

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '8080' },
    'token-file': { type: 'string' },
    repo: { type: 'string' },
    database: { type: 'string' },
    'shutdown-timeout': { type: 'string', default: '30' },
  },
});

try {
  const server = await runServer({
    host: values.host,
    port: Number(values.port),
    tokenFile: values['token-file'],
    config: { repo: values.repo, database: values.database },
    shutdownTimeoutMs: Number(values['shutdown-timeout']) * 1000,
  });
  await server.closed;
  process.exit(0);
} catch (error) {
  const message = isBackupError(error) ? `${error.message}${error.hint ? `\n${error.hint}` : ''}` : String(error);
  process.stderr.write(`Error: ${message}\n`);
  process.exit(isBackupError(error) ? error.exitCode : 1);
}
