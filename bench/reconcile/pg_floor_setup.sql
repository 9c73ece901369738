-- bench/reconcile/pg_floor.sh's data, afresh for every floor run: a last run's rows gone, so
-- it starts from the tables bench_reconcile left (a few thousand meetings, their audit and
-- outbox rows: PostgreSQL plans for tables of that size, not for empty ones), then :M confirmed
-- appointments on the doctors, service and patient bench_reconcile made, with a due reconcile
-- job each, at ids a0 + 1 .. a0 + M and j0 + 1 .. j0 + M (floor_base).
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
DROP SEQUENCE IF EXISTS floor_batch;
DROP TABLE IF EXISTS floor_base;
CREATE TEMPORARY TABLE floor_old AS SELECT id FROM appointments WHERE uid LIKE 'floor-%';
DELETE FROM audit_entries WHERE appointment_id IN (SELECT id FROM floor_old);
DELETE FROM outbox_events WHERE appointment_id IN (SELECT id FROM floor_old);
DELETE FROM meetings WHERE appointment_id IN (SELECT id FROM floor_old);
DELETE FROM appointments WHERE id IN (SELECT id FROM floor_old);
DELETE FROM jobs;
CREATE SEQUENCE floor_batch;
CREATE TABLE floor_base AS
  SELECT (SELECT coalesce(max(id), 0) FROM appointments) AS a0,
         coalesce(pg_sequence_last_value(pg_get_serial_sequence('jobs', 'id')::regclass), 0) AS j0;
INSERT INTO appointments (id, uid, doctor_id, service_id, patient_id, start_at, end_at, time_zone,
                          status, revision, notes, created_at, updated_at)
SELECT f.a0 + g, 'floor-' || md5(g::text), d.ids[1 + g % array_length(d.ids, 1)],
       (SELECT min(id) FROM services), (SELECT min(id) FROM patients),
       to_char(timestamp '2030-01-01' + g * interval '1 hour', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
       to_char(timestamp '2030-01-01' + g * interval '1 hour' + interval '30 min',
               'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
       'UTC', 'confirmed', 1, '', '2026-12-07T03:20:11.983414Z', '2026-12-07T03:20:11.983414Z'
FROM generate_series(1, :M) g, floor_base f,
     (SELECT array_agg(id ORDER BY id) AS ids FROM doctors) d;
INSERT INTO jobs (id, kind, key, doctor_id, payload, state, run_at, attempts, last_error,
                  lease_owner, lease_seq, rerun, created_at)
SELECT f.j0 + (a.id - f.a0), 'reconcile', 'reconcile:' || a.id, a.doctor_id, a.id::text, 'ready',
       '2026-12-07T03:20:11.983414Z', 0, '', NULL, 0, 0, '2026-12-07T03:20:11.983414Z'
FROM appointments a, floor_base f WHERE a.id > f.a0;
-- The delivery jobs pgbench adds take their ids from the sequence: past ours.
SELECT setval(pg_get_serial_sequence('jobs', 'id'), (SELECT max(id) FROM jobs));
SELECT setval(pg_get_serial_sequence('appointments', 'id'), (SELECT max(id) FROM appointments));
