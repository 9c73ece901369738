-- bench/reconcile/pg_floor.sh: one pgbench transaction pair = 16 reconcile jobs' rows, written
-- as few and as cheap statements as SQL allows (set-based, the ids known by range): the lease
-- (job rows) with the snapshot join and the insert intents (meeting rows, audit), then the
-- results (job rows gone, meeting rows ready, the call's and the state's audit, the outbox event
-- and its delivery job): the rows a job of bench_reconcile writes, with values of their sizes.
SELECT nextval('floor_batch') - 1 AS b \gset
\set a1 :a0 + :b * 16 + 1
\set a2 :a0 + :b * 16 + 16
\set k1 :j0 + :b * 16 + 1
\set k2 :j0 + :b * 16 + 16
BEGIN READ WRITE;
UPDATE jobs SET lease_owner = 'floor', lease_seq = lease_seq + 1, run_at = '2026-12-07T04:20:11.983414Z' WHERE id BETWEEN :k1 AND :k2;
SELECT a.*, s.*, d.*, p.*, g.*, m.* FROM appointments a JOIN services s ON s.id = a.service_id JOIN doctors d ON d.id = a.doctor_id JOIN patients p ON p.id = a.patient_id LEFT JOIN google_grants g ON g.doctor_id = a.doctor_id LEFT JOIN meetings m ON m.appointment_id = a.id WHERE a.id BETWEEN :a1 AND :a2;
INSERT INTO meetings (appointment_id, doctor_id, calendar_id, state, event_id, conference_id, join_url, event_url, etag, synced_revision, synced_start, synced_end, conference_attempt, attempts, last_error, updated_at) SELECT a.id, a.doctor_id, 'primary', 'creating', md5(a.uid) || 'e0123456789abcdefghijklmn', '', '', '', '', 0, NULL, NULL, 1, 0, '', '2026-12-07T03:20:12.020583Z' FROM appointments a WHERE a.id BETWEEN :a1 AND :a2;
INSERT INTO audit_entries (appointment_id, at, actor, action, detail) SELECT g, '2026-12-07T03:20:12.008528Z', 'worker', 'meeting.state', '{"action":"insert","from":"not_needed","revision":1,"to":"creating"}' FROM generate_series(:a1::bigint, :a2::bigint) g;
COMMIT;
BEGIN READ WRITE;
DELETE FROM jobs WHERE id BETWEEN :k1 AND :k2;
UPDATE meetings SET state = 'ready', conference_id = 'ogu-htei-xqd', join_url = 'https://meet.google.com/ogu-htei-xqd', event_url = 'https://www.google.com/calendar/event?eid=ZWhtamFvOWljb3BqMG9qNDZjbzZhY3BtNmhoajBkcjY3NWg2NGRobmM4czY2YzM1Y2NvajBlOCBkb2N0b3IxQGJlbmNoLmV4YW1wbGU', etag = '"1796613612011195"', synced_revision = 1, synced_start = '2026-05-04T08:00:00.000000Z', synced_end = '2026-05-04T08:30:00.000000Z', updated_at = '2026-12-07T03:20:12.020583Z', attendees_fingerprint = '', reminders_fingerprint = '' WHERE appointment_id BETWEEN :a1 AND :a2;
INSERT INTO audit_entries (appointment_id, at, actor, action, detail) SELECT g, '2026-12-07T03:20:12.008528Z', 'worker', x.action, x.detail FROM generate_series(:a1::bigint, :a2::bigint) g, (VALUES ('google.events.insert', '{"attempt":1,"latency_ms":0.412,"method":"POST","outcome":"ok","path":"/calendar/v3/calendars/primary/events?conferenceDataVersion=1","status":200}'), ('meeting.state', '{"action":"insert","from":"creating","revision":1,"to":"ready"}')) x(action, detail);
WITH o AS (INSERT INTO outbox_events (topic, appointment_id, doctor_id, payload, created_at) SELECT 'meeting.ready', a.id, a.doctor_id, '{"appointment_id":22,"appointment_uid":"5a2f30bd30e364c07f9bb67b8c0ec109","doctor_id":2,"end":"2026-05-04T08:30:00Z","event_url":"https://www.google.com/calendar/event?eid=ZWhtamFvOWljb3BqMG9qNDZjbzZhY3BtNmhoajBkcjY3NWg2NGRobmM4czY2YzM1Y2NvajBlOCBkb2N0b3IxQGJlbmNoLmV4YW1wbGU","join_url":"https://meet.google.com/ogu-htei-xqd","start":"2026-05-04T08:00:00Z","state":"ready","time_zone":"UTC"}', '2026-12-07T03:20:12.022131Z' FROM appointments a WHERE a.id BETWEEN :a1 AND :a2 RETURNING id, doctor_id) INSERT INTO jobs (kind, key, doctor_id, payload, state, run_at, attempts, last_error, lease_owner, lease_seq, rerun, created_at) SELECT 'deliver', 'outbox:' || o.id, NULL, o.id::text, 'ready', '2026-12-07T03:20:12.022131Z', 0, '', NULL, 0, 0, '2026-12-07T03:20:12.022131Z' FROM o;
COMMIT;
