-- Sample TimescaleDB-shaped data for the demo: a time-partitioned metrics table (like a
-- hypertable with daily chunks), an events table, and a plain reference table.
CREATE TABLE devices (device_id int PRIMARY KEY, name text NOT NULL, site text NOT NULL);
INSERT INTO devices SELECT i, 'device-' || i, 'site-' || (i % 7) FROM generate_series(1, 200) i;

CREATE TABLE metrics (time timestamptz NOT NULL, device_id int NOT NULL, cpu double precision, memory double precision)
  PARTITION BY RANGE (time);
DO $$
BEGIN
  FOR d IN 0..6 LOOP
    EXECUTE format('CREATE TABLE metrics_%s PARTITION OF metrics FOR VALUES FROM (%L) TO (%L)',
      to_char(date '2026-11-01' + d, 'YYYYMMDD'), date '2026-11-01' + d, date '2026-11-01' + d + 1);
  END LOOP;
END $$;
CREATE INDEX ON metrics (device_id, time DESC);
INSERT INTO metrics
  SELECT timestamptz '2026-11-01' + (i * interval '6 seconds'), i % 200, (i::bigint * 7919 % 1000) / 10.0, (i::bigint * 104729 % 1000) / 10.0
  FROM generate_series(0, 100799) i;

CREATE TABLE events (id bigserial PRIMARY KEY, time timestamptz NOT NULL, kind text NOT NULL, payload jsonb NOT NULL);
INSERT INTO events (time, kind, payload)
  SELECT timestamptz '2026-11-01' + i * interval '1 minute', (ARRAY['deploy','alert','scale'])[1 + i % 3],
         jsonb_build_object('n', i, 'note', repeat('x', i % 50))
  FROM generate_series(1, 10000) i;
