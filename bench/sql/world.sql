-- The world the floor and the peers run on, shaped like facility-sim's:
--
--  * :facilities facilities, each with one reader: r1, r2, ...; with
--    :capacities true, every second one has a capacity of 1 to 12.
--  * :participants participants with one badge each: b1, b2, ...
--    Participant p goes to facility (p - 1) % :facilities + 1 only, so each
--    facility has its own regulars and opens and closes often.
--  * About 15 % keyholders: the first participant of every facility and
--    then every seventh of its regulars, so that every facility can open.
--  * Nobody suspended, nobody inside.
--
-- psql variables: facilities, participants, capacities (true or false).

INSERT INTO facilities (id, name, capacity)
SELECT f, 'facility ' || f,
       CASE WHEN :capacities AND f % 2 = 0 THEN 1 + (f * 5) % 12 END
  FROM generate_series(1, :facilities) f;

INSERT INTO readers (id, facility_id)
SELECT 'r' || f, f FROM generate_series(1, :facilities) f;

INSERT INTO participants (id, name, is_keyholder)
SELECT p, 'participant ' || p, ((p - 1) / :facilities) % 7 = 0
  FROM generate_series(1, :participants) p;

INSERT INTO badges (uid, participant_id)
SELECT 'b' || p, p FROM generate_series(1, :participants) p;

ANALYZE;
