import type { Host, ResolvedConfig, Storage } from '@llm-analytics/core';
import type { CatalogIndex } from './catalogIndex.js';
import type { JobRegistry } from './jobs.js';
import type { Engines } from './types.js';

/** What every route reads: built once by createApp from the injected dependencies. */
export interface AppContext {
  config: ResolvedConfig;
  storage: Storage;
  host: Host;
  engines: Engines;
  jobs: JobRegistry;
  catalog: CatalogIndex;
  now: () => Date;
  walFetchCommand?: readonly string[];
}
