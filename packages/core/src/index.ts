/** The public surface of core: what the CLI, TUI and API call. */
export * from './errors.js';
export * from './progress.js';
export * from './types/metadata.js';
export * from './config/defaults.js';
export * from './config/resolve.js';
export * from './config/secret.js';
export * from './catalog/backupId.js';
export * from './catalog/catalog.js';
export * from './catalog/layout.js';
export * from './catalog/stats.js';
export * from './storage/index.js';
export * from './host/index.js';
export * from './backup/backup.js';
export * from './restore/restore.js';
export type { RestoreValidation } from './restore/validate.js';
export * from './wal/walKeys.js';
export * from './catalog/lock.js';
