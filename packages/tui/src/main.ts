/** `pnpm --filter @llm-analytics/tui start`: the TUI with the configuration from the environment (BACKUP_REPO, PG*, ...). */
import { asBackupError, LocalHost, openStorage, resolveConfig } from '@llm-analytics/core';
import { coreDeps } from './coreDeps.js';
import { runTui } from './launch.js';

try {
  const config = resolveConfig({});
  await runTui(coreDeps({ config, storage: openStorage(config.repository), host: new LocalHost({ pgBinDir: config.pgBinDir }) }));
} catch (caught) {
  const error = asBackupError(caught);
  process.stderr.write(`error [${error.code}]: ${error.message}\n${error.hint ? `hint: ${error.hint}\n` : ''}`);
  process.exitCode = error.exitCode;
}
