-- bench/reconcile/pg_floor.sh's data: :M confirmed appointments (on the doctors, service and
-- patient bench_reconcile made) and a due reconcile job each, with consecutive ids from
-- floor_base's a0 + 1 and j0 + 1. Runs again on the same database (fresh uids, fresh ids).
SET client_min_messages = warning;
DROP SEQUENCE IF EXISTS floor_batch;
DROP TABLE IF EXISTS floor_base;
DELETE FROM jobs WHERE kind = 'reconcile';
CREATE SEQUENCE floor_batch;
CREATE TABLE floor_base AS
  SELECT (SELECT coalesce(max(id), 0) FROM appointments) AS a0,
         (SELECT coalesce(max(id), 0) FROM jobs) AS j0;
INSERT INTO appointments (uid, doctor_id, service_id, patient_id, start_at, end_at, time_zone,
                          status, revision, notes, created_at, updated_at)
SELECT md5(clock_timestamp()::text || g), d.ids[1 + g % array_length(d.ids, 1)],
       (SELECT min(id) FROM services), (SELECT min(id) FROM patients),
       to_char(timestamp '2030-01-01' + g * interval '1 hour', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
       to_char(timestamp '2030-01-01' + g * interval '1 hour' + interval '30 min',
               'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
       'UTC', 'confirmed', 1, '', '2026-12-07T03:20:11.983414Z', '2026-12-07T03:20:11.983414Z'
FROM generate_series(1, :M) g, (SELECT array_agg(id ORDER BY id) AS ids FROM doctors) d
ORDER BY g;
INSERT INTO jobs (kind, key, doctor_id, payload, state, run_at, attempts, last_error,
                  lease_owner, lease_seq, rerun, created_at)
SELECT 'reconcile', 'reconcile:' || a.id, a.doctor_id, a.id::text, 'ready',
       '2026-12-07T03:20:11.983414Z', 0, '', NULL, 0, 0, '2026-12-07T03:20:11.983414Z'
FROM appointments a, floor_base f WHERE a.id > f.a0 ORDER BY a.id;
