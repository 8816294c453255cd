import type { BackupOptions, BackupResult, BackupDeps, ErrorCode, Host, ProgressEvent, ResolvedConfig, RestoreDeps, RestoreOptions, RestoreResult, Storage, VerificationCheck } from '@llm-analytics/core';
import type { CatalogIndex } from './catalogIndex.js';
import type { JobRegistry } from './jobs.js';

export type Role = 'read' | 'operate';

/** Hono context variables set by the middleware. */
export type ApiEnv = {
  Variables: {
    requestId: string;
    role: Role | undefined;
    errorCode: ErrorCode | undefined;
    internalError: string | undefined;
  };
};

/** The core engines the API calls; injectable so tests can stand in for PostgreSQL. */
export interface Engines {
  backup(options: BackupOptions, deps: BackupDeps): Promise<BackupResult>;
  restore(options: RestoreOptions, deps: RestoreDeps): Promise<RestoreResult>;
  /** Absent when core has no verify engine yet: the route answers 501. */
  verify?: (
    options: { config: ResolvedConfig; backupId: string; testRestore: boolean; signal?: AbortSignal },
    deps: { storage: Storage; host: Host; progress?: (event: ProgressEvent) => void; onCheck?: (check: VerificationCheck) => void },
  ) => Promise<unknown>;
  /** Whether restore() understands a PITR target. */
  restoreSupportsPitr?: boolean;
  /** Checks a restore before it becomes a job (PITR window 422, busy target 409); optional. */
  planRestore?: (options: RestoreOptions, deps: RestoreDeps) => Promise<void>;
  /** Absent when core has no WAL archive status yet: the route answers 501. */
  walStatus?: (options: { config: ResolvedConfig }, deps: { storage: Storage; host: Host }) => Promise<unknown>;
}

export interface ApiDeps {
  /** The server's resolved configuration: repository, default database, connection, key. */
  config: ResolvedConfig;
  storage: Storage;
  host: Host;
  /** token → role; empty means no authentication (only allowed on loopback). */
  tokens: Map<string, Role>;
  engines?: Partial<Engines>;
  jobs?: JobRegistry;
  catalog?: CatalogIndex;
  /**
   * argv of this tool's `wal-fetch` (without %f %p) for restore_command: what lets a restore
   * replay archived WAL (PITR). The CLI's `serve` supplies it; without it PITR answers 501.
   */
  walFetchCommand?: readonly string[];
  /** Largest accepted request body. Default 64 KiB. */
  maxBodyBytes?: number;
  /** Where the JSON access log goes. Default stderr. */
  log?: (line: string) => void;
  now?: () => Date;
}
