import { Flags } from '@oclif/core';

/** Flags every command that touches a repository shares (names from the specification). */
export const repositoryFlags = {
  repo: Flags.string({ description: 'Repository: s3://bucket/prefix, file:///abs/path or a directory [env: BACKUP_REPO]' }),
  's3-bucket': Flags.string({ description: 'S3 bucket (default llm-analytics-backups when S3 is used) [env: BACKUP_S3_BUCKET]' }),
  's3-prefix': Flags.string({ description: 'Key prefix in the bucket (default timescaledb) [env: BACKUP_S3_PREFIX]' }),
  'aws-region': Flags.string({ description: 'AWS region (default us-east-1) [env: AWS_REGION]' }),
  's3-endpoint': Flags.string({ description: 'Custom S3 endpoint URL, path-style [env: AWS_ENDPOINT_URL]' }),
};

export const databaseFlag = {
  database: Flags.string({ char: 'd', description: 'Database name (default llm_analytics)' }),
};

export const encryptionKeyFlag = {
  'encryption-key-file': Flags.string({ description: 'File holding the encryption passphrase [or env: BACKUP_ENCRYPTION_PASSPHRASE]' }),
};

export const connectionFlags = {
  'pg-host': Flags.string({ description: 'PostgreSQL host [env: PGHOST]' }),
  'pg-port': Flags.integer({ description: 'PostgreSQL port [env: PGPORT]' }),
  'pg-user': Flags.string({ description: 'PostgreSQL user [env: PGUSER; password from PGPASSWORD]' }),
  'pg-bin-dir': Flags.string({ description: 'Directory of the PostgreSQL client programs [env: PG_BIN_DIR]' }),
};

export const outputFlags = {
  json: Flags.boolean({ description: 'Print one JSON document on stdout' }),
};

/** The flags above, as the core's ConfigInput. */
export function configInput(flags: Record<string, unknown>) {
  return {
    repo: flags.repo as string | undefined,
    s3Bucket: flags['s3-bucket'] as string | undefined,
    s3Prefix: flags['s3-prefix'] as string | undefined,
    awsRegion: flags['aws-region'] as string | undefined,
    s3Endpoint: flags['s3-endpoint'] as string | undefined,
    database: flags.database as string | undefined,
    encryptionKeyFile: flags['encryption-key-file'] as string | undefined,
    pgHost: flags['pg-host'] as string | undefined,
    pgPort: flags['pg-port'] as number | undefined,
    pgUser: flags['pg-user'] as string | undefined,
    pgBinDir: flags['pg-bin-dir'] as string | undefined,
  };
}

/**
 * Where PostgreSQL runs when it is in Kubernetes. Giving any of these selects the pod (through the
 * exec API) instead of this machine; the defaults are the specification's.
 */
export const kubernetesFlags = {
  namespace: Flags.string({ char: 'n', description: 'Kubernetes namespace of the database pod (default llm-analytics-hub); selects Kubernetes' }),
  pod: Flags.string({ description: 'Database pod (default timescaledb-0); selects Kubernetes' }),
  'pod-selector': Flags.string({ description: 'Find the pod by labels instead, e.g. app=timescaledb; selects Kubernetes' }),
  container: Flags.string({ description: 'Container of the pod (default: its default container)' }),
  context: Flags.string({ description: 'kubeconfig context (default: the current one)' }),
  kubeconfig: Flags.string({ description: 'kubeconfig file [env: KUBECONFIG; default ~/.kube/config, or in-cluster]' }),
};

/** The Kubernetes flags as host options; undefined when none was given (the local host). */
export function kubernetesInput(flags: Record<string, unknown>) {
  const names = ['namespace', 'pod', 'pod-selector', 'container', 'context', 'kubeconfig'];
  if (!names.some((name) => flags[name] !== undefined)) return undefined;
  return {
    namespace: flags.namespace as string | undefined,
    pod: flags.pod as string | undefined,
    labelSelector: flags['pod-selector'] as string | undefined,
    container: flags.container as string | undefined,
    context: flags.context as string | undefined,
    kubeconfig: flags.kubeconfig as string | undefined,
  };
}
