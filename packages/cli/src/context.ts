import { LocalHost, openStorage, resolveConfig, type ConfigInput, type ResolvedConfig } from '@llm-analytics/core';

/** Everything a command needs from core, built from its flags once. */
export function commandContext(input: ConfigInput) {
  const config: ResolvedConfig = resolveConfig(input);
  const storage = openStorage(config.repository);
  const host = new LocalHost({ pgBinDir: config.pgBinDir });
  return { config, storage, host };
}
