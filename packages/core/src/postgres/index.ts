export * from './lsn.js';
export * from './backupLabel.js';
export * from './manifest.js';
export * from './basebackup.js';
export * from './connection.js';
export * from './controlFile.js';
export * from './sql.js';
export { quoteIdent, quoteLiteral, USER_TABLE_CONDITION } from './sqlText.js';
