-- The conventional design's scan: a random participant at their facility's
-- reader, decided and written by peer_scan under the facility's advisory
-- lock: one statement, so one round trip and one transaction.
--
-- Client variables (pgbench -D): facilities, participants, seq (start at 0).

\set seq :seq + 1
\set p random(1, :participants)
\set f (:p - 1) % :facilities + 1
SELECT peer_scan('peer' || :client_id, :seq, 'r' || :f, 'b' || :p);
