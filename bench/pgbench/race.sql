-- One scan of a race round: the client's next entry of race_plan, through
-- the peer with the participant lock (lock = 2) or the facility lock
-- (lock = 1).
--
-- Client variables (pgbench -D): clients, lock, k (start at 0).

\set n :client_id + :clients * :k
\set k :k + 1
\if :lock = 2
SELECT peer_scan_participant_lock('race' || :client_id, :k, reader, badge)
  FROM race_plan WHERE n = :n;
\else
SELECT peer_scan('race' || :client_id, :k, reader, badge)
  FROM race_plan WHERE n = :n;
\endif
