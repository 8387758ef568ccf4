-- PostgreSQL's floor for one scan: the writes record_scan makes for a
-- check-in or a check-out, in one transaction sent as one pipeline, so one
-- round trip, with nothing decided on the server side. Each client is one
-- participant (client_id + 1) that checks in at a random facility and out
-- again on its next scan, so the visits alternate between INSERT and UPDATE.
--
-- Client variables (pgbench -D, kept from one transaction to the next):
--   facilities  how many facilities the world has
--   seq         the client's last sequence number (start at 0)
--   phase       1 after a check-in, 0 after a check-out (start at 0)
--
-- The client chooses the visit id itself, as the server's memory knows the
-- id of the visit it closes. The fence's compare always holds here because
-- a client cannot read the version inside a pipeline; the row is updated
-- and locked all the same, which is the cost that matters.

\set seq :seq + 1
\set phase 1 - :phase
\set p :client_id + 1
\if :phase = 1
\set f random(1, :facilities)
\set visit :seq * 1000 + :client_id
\endif
\startpipeline
BEGIN;
UPDATE facilities SET version = version + 1 WHERE id = :f AND version >= 0;
\if :phase = 1
INSERT INTO visits (id, participant_id, facility_id, checked_in_at,
                    as_keyholder)
  VALUES (:visit, :p, :f, now(), false);
INSERT INTO scans (gateway_id, gateway_seq, reader_id, badge_uid, facility_id,
                   participant_id, outcome, visit_id, closed_count, at)
  VALUES ('floor' || :client_id, :seq, 'r' || :f, 'b' || :p, :f, :p,
          'checked_in', :visit, 0, now());
\else
UPDATE visits SET checked_out_at = now(), close_reason = 'checked_out'
  WHERE id = :visit AND facility_id = :f AND participant_id = :p
    AND checked_out_at IS NULL;
INSERT INTO scans (gateway_id, gateway_seq, reader_id, badge_uid, facility_id,
                   participant_id, outcome, visit_id, closed_count, at)
  VALUES ('floor' || :client_id, :seq, 'r' || :f, 'b' || :p, :f, :p,
          'checked_out', :visit, 0, now());
\endif
COMMIT;
\endpipeline
