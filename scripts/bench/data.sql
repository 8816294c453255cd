-- Benchmark data: psql -v rows=N. About 130 bytes on disk per row (indexes included), so
-- rows=7600000 is about 1 GB. Values are cheap functions of the row number, with some entropy
-- (md5 text) so the data compresses like real telemetry, not like zeros.
CREATE TABLE metrics (time timestamptz NOT NULL, device_id int NOT NULL, cpu double precision, memory double precision, note text)
  PARTITION BY RANGE (time);
SELECT format('CREATE TABLE metrics_%s PARTITION OF metrics FOR VALUES FROM (%L) TO (%L)', d, timestamptz '2026-01-01' + d * interval '1 day', timestamptz '2026-01-01' + (d + 1) * interval '1 day')
  FROM generate_series(0, 6) d \gexec
INSERT INTO metrics
  SELECT timestamptz '2026-01-01' + (i * (604800.0 / :rows)) * interval '1 second', i % 500,
         (i::bigint * 7919 % 1000) / 10.0, (i::bigint * 104729 % 1000) / 10.0,
         CASE WHEN i % 4 = 0 THEN left(md5(i::text), 12) END
  FROM generate_series(0, :rows - 1) i;
CREATE INDEX ON metrics (device_id, time DESC);
CHECKPOINT;
