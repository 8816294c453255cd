import { tableDigests, type TableDigest } from '../src/postgres/sql.js';
import { quoteIdent, quoteLiteral } from '../src/postgres/sqlText.js';
import type { Cluster } from './pgCluster.js';

export { tableDigests, type TableDigest } from '../src/postgres/sql.js';

export interface SampleDataOptions {
  /** Database to create (it must not exist). Default llm_analytics. */
  db?: string;
  /** Rows of `metrics`; `events` gets a tenth of that. Default 10 000. */
  rows?: number;
  /** Daily partitions of `metrics`, starting at startTime. Default 7. */
  days?: number;
  /** Default 2025-01-01T00:00:00Z. */
  startTime?: string;
}

export interface SampleDataSummary {
  db: string;
  metricsRows: number;
  eventsRows: number;
  devices: number;
  /** Daily partitions of metrics. */
  partitions: number;
  /** User tables created: devices, events, metrics and its partitions. */
  tableCount: number;
  /** [from, to) of the metrics and events times. */
  timeRange: { from: string; to: string };
}

/**
 * Creates a database shaped like a TimescaleDB analytics schema, on plain PostgreSQL: `metrics`
 * range-partitioned by day on time (what a hypertable's chunks are), `events` with jsonb and text,
 * a `devices` dimension table, indexes and a sequence. Every value is a function of the row
 * number, so content, digests and size depend only on `rows`. Rows are generated server-side
 * (INSERT ... SELECT generate_series) so a gigabyte loads in minutes, not hours.
 */
export async function loadSampleData(cluster: Cluster, options: SampleDataOptions = {}): Promise<SampleDataSummary> {
  const db = options.db ?? 'llm_analytics';
  const rows = Math.max(1, Math.floor(options.rows ?? 10_000));
  const days = Math.max(1, Math.floor(options.days ?? 7));
  const start = new Date(options.startTime ?? '2025-01-01T00:00:00Z');
  const end = new Date(start.getTime() + days * 86_400_000);
  const eventsRows = Math.max(1, Math.floor(rows / 10));
  const from = quoteLiteral(start.toISOString());
  const secondsPerMetric = (days * 86_400) / rows;
  const secondsPerEvent = (days * 86_400) / eventsRows;

  await cluster.psql(`CREATE DATABASE ${quoteIdent(db)}`);
  await cluster.psql(
    `SET timezone = 'UTC';
     CREATE TABLE devices (
       id int PRIMARY KEY,
       name text NOT NULL,
       location text NOT NULL,
       installed_at timestamptz NOT NULL
     );
     INSERT INTO devices
       SELECT i, 'device-' || i, (ARRAY['eu-west', 'us-east', 'ap-south'])[1 + i % 3], ${from}::timestamptz - i * interval '1 day'
       FROM generate_series(1, 100) i;

     CREATE TABLE metrics (
       time timestamptz NOT NULL,
       device_id int NOT NULL,
       value double precision NOT NULL,
       temperature real,
       status smallint NOT NULL,
       tags text
     ) PARTITION BY RANGE (time);
     DO $$
     BEGIN
       FOR d IN 0..${days - 1} LOOP
         EXECUTE format('CREATE TABLE %I PARTITION OF metrics FOR VALUES FROM (%L) TO (%L)',
           'metrics_' || to_char(${from}::timestamptz + d * interval '1 day', 'YYYYMMDD'),
           ${from}::timestamptz + d * interval '1 day',
           ${from}::timestamptz + (d + 1) * interval '1 day');
       END LOOP;
     END $$;
     INSERT INTO metrics (time, device_id, value, temperature, status, tags)
       SELECT ${from}::timestamptz + (i * ${secondsPerMetric}::float8) * interval '1 second',
              1 + i % 100,
              ((i::bigint * 7919) % 100000) / 100.0,
              15 + (i % 200) / 10.0,
              i % 5,
              CASE WHEN i % 10 = 0 THEN 'maintenance' ELSE 'sensor-' || (i % 37) END
       FROM generate_series(0, ${rows - 1}) i;

     CREATE SEQUENCE events_id_seq;
     CREATE TABLE events (
       id bigint PRIMARY KEY DEFAULT nextval('events_id_seq'),
       time timestamptz NOT NULL,
       device_id int NOT NULL REFERENCES devices (id),
       kind text NOT NULL,
       payload jsonb NOT NULL,
       message text
     );
     ALTER SEQUENCE events_id_seq OWNED BY events.id;
     INSERT INTO events (time, device_id, kind, payload, message)
       SELECT ${from}::timestamptz + (i * ${secondsPerEvent}::float8) * interval '1 second',
              1 + i % 100,
              (ARRAY['alert', 'info', 'debug', 'audit'])[1 + i % 4],
              jsonb_build_object('code', i % 500, 'severity', i % 7, 'ok', i % 3 = 0,
                                 'labels', jsonb_build_array('a' || (i % 13), 'b' || (i % 17))),
              'event ' || i || ': ' || md5(i::text) || md5((i + 1)::text)
       FROM generate_series(0, ${eventsRows - 1}) i
       ORDER BY i;

     -- Indexes after the load: building them once is faster than maintaining them per row.
     CREATE INDEX metrics_device_time_idx ON metrics (device_id, time DESC);
     CREATE INDEX events_time_idx ON events (time);
     CREATE INDEX events_payload_idx ON events USING gin (payload jsonb_path_ops);
     ANALYZE;`,
    db,
  );
  return {
    db,
    metricsRows: rows,
    eventsRows,
    devices: 100,
    partitions: days,
    tableCount: 3 + days,
    timeRange: { from: start.toISOString(), to: end.toISOString() },
  };
}

/** Digests of every user table of a harness cluster's database (see tableDigests). */
export function clusterTableDigests(cluster: Cluster, db = 'llm_analytics'): Promise<TableDigest[]> {
  return tableDigests(cluster.osHost, cluster.connection, db);
}
