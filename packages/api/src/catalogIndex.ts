import { BACKUPS_PREFIX, compareIdsNewestFirst, isBackupId, parseBackupId, parseMetadata, readAll, metadataKey, type BackupMetadata, type Storage } from '@llm-analytics/core';

/**
 * A read-through index of the catalog for the API. The repository stays the only source of truth
 * (the CLI writes to it too), so nothing is trusted for long:
 *
 * - the LIST of `backups/` is shared by concurrent requests and reused for `listTtlMs` (default
 *   2 s): a burst of 50 clients costs one LIST, and a backup written by the CLI shows up within
 *   that time;
 * - each backup.json is cached under its id together with the size and modification time the
 *   LIST reported: when the CLI rewrites it (InProgress → Completed/Failed/Verified) the listing
 *   changes and the object is read again; an id that disappears from the LIST (expired) leaves
 *   the cache;
 * - the API's own writes (its jobs) call invalidate(), so a client sees its backup at once.
 *
 * A page of `GET /v1/backups?limit=50` over 1,000 backups thus costs at most one LIST per TTL and
 * only the metadata objects that changed, instead of 1,000 GETs per request.
 */
export interface CatalogIndexOptions {
  listTtlMs?: number;
  now?: () => number;
}

interface Listing {
  at: number;
  /** Newest first. */
  ids: string[];
  versions: Map<string, string>;
}

export class CatalogIndex {
  private listing: Listing | undefined;
  private pendingListing: Promise<Listing> | undefined;
  private readonly metadata = new Map<string, { version: string; value: Promise<BackupMetadata> }>();
  private readonly listTtlMs: number;
  private readonly now: () => number;

  constructor(private readonly storage: Storage, options: CatalogIndexOptions = {}) {
    this.listTtlMs = options.listTtlMs ?? 2000;
    this.now = options.now ?? Date.now;
  }

  private generation = 0;

  /** The next request waits for a LIST started after now (after this server's own writes). */
  invalidate(): void {
    this.generation++;
    this.listing = undefined;
    this.pendingListing = undefined;
  }

  /** Ids of every backup, newest first. */
  async ids(): Promise<string[]> {
    return (await this.currentListing()).ids;
  }

  /** The metadata of one backup (a damaged object reads as METADATA_INVALID, like core). */
  async get(id: string): Promise<BackupMetadata | undefined> {
    const listing = await this.currentListing();
    const version = listing.versions.get(id);
    if (version === undefined) return undefined;
    return this.read(id, version);
  }

  /** All metadata, newest first; each object is fetched only when it is new or changed. */
  async all(): Promise<BackupMetadata[]> {
    const listing = await this.currentListing();
    const results: BackupMetadata[] = [];
    // Bounded fan-out for the first load of a large catalog.
    const ids = listing.ids;
    for (let start = 0; start < ids.length; start += 32) {
      const batch = ids.slice(start, start + 32);
      const values = await Promise.all(batch.map((id) => this.read(id, listing.versions.get(id)!).catch((error) => failedEntry(id, error))));
      results.push(...values);
    }
    return results;
  }

  private read(id: string, version: string): Promise<BackupMetadata> {
    const cached = this.metadata.get(id);
    if (cached && cached.version === version) return cached.value;
    const value = readAll(this.storage, metadataKey(id)).then((bytes) => parseMetadata(bytes.toString('utf8'), `${this.storage.location}/${metadataKey(id)}`));
    this.metadata.set(id, { version, value });
    value.catch(() => this.metadata.delete(id));
    return value;
  }

  /**
   * A listing older than the TTL is refreshed in the background while requests keep using the
   * previous one (stale-while-revalidate): a LIST of a large repository never stalls requests;
   * only the very first request (or one after invalidate()) waits for it.
   */
  private async currentListing(): Promise<Listing> {
    const listing = this.listing;
    if (listing && this.now() - listing.at < this.listTtlMs) return listing;
    if (!this.pendingListing) {
      const pending = this.list().finally(() => {
        if (this.pendingListing === pending) this.pendingListing = undefined;
      });
      this.pendingListing = pending;
    }
    if (listing) {
      this.pendingListing.catch(() => {});
      return listing;
    }
    return this.pendingListing;
  }

  /** Resolves when a LIST in progress has finished (tests, after the TTL). */
  async settled(): Promise<void> {
    await this.pendingListing?.catch(() => {});
  }

  /** Changes whenever the listing does: lets callers cache what they derive from it. */
  async version(): Promise<object> {
    return this.currentListing();
  }

  private async list(): Promise<Listing> {
    const at = this.now();
    const generation = this.generation;
    const versions = new Map<string, string>();
    for await (const object of this.storage.list(BACKUPS_PREFIX)) {
      const match = /^backups\/([^/]+)\/backup\.json$/.exec(object.key);
      if (match && isBackupId(match[1]!)) versions.set(match[1]!, `${object.size}:${object.lastModified?.getTime() ?? 0}`);
    }
    for (const id of this.metadata.keys()) if (!versions.has(id)) this.metadata.delete(id);
    const listing = { at, ids: [...versions.keys()].sort(compareIdsNewestFirst), versions };
    // A LIST that started before an invalidate() may miss the write that caused it.
    if (generation === this.generation) this.listing = listing;
    return listing;
  }
}

/** A damaged metadata object does not hide the others: it lists as Failed with its error. */
function failedEntry(id: string, error: unknown): BackupMetadata {
  const message = error instanceof Error ? error.message : String(error);
  const { database, time } = parseBackupId(id);
  return {
    formatVersion: 1,
    id,
    database,
    type: 'Full',
    status: 'Failed',
    startTime: time.toISOString(),
    location: '',
    compression: 'none',
    encrypted: false,
    sizeBytes: 0,
    storedSizeBytes: 0,
    objects: [],
    retentionDays: 1,
    error: { code: (error as { code?: string }).code ?? 'METADATA_INVALID', message },
  };
}
