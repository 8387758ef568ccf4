-- A large world for timing facilityd's start-up, written straight into a
-- migrated schema:
--
--  * :facilities facilities, every tenth with a capacity, two readers each
--  * :participants participants with one badge each (8 hex digits, as
--    readers send them), every tenth a keyholder, a few suspended
--  * :open_visits open visits spread evenly over the facilities, each
--    facility's first visitor a keyholder, so that each facility with open
--    visits has an open keyholder visit (invariant I1); nobody is inside
--    more than once (I2)
--  * 100 gateways
--
-- psql variables: facilities, participants, open_visits. Needs
-- open_visits <= participants, and open_visits a multiple of facilities
-- with at least one visitor per facility.

\set per_facility (:open_visits / :facilities)

-- Foreign keys are not checked row by row while loading (each check would
-- lock, and so rewrite, the participant it points at); the rows are made
-- consistent here and checked as a whole at the end.
SET session_replication_role = replica;

INSERT INTO facilities (id, name, capacity)
SELECT f, 'room ' || f, CASE WHEN f % 10 = 0 THEN :per_facility + 10 END
  FROM generate_series(1, :facilities) f;

INSERT INTO readers (id, facility_id)
SELECT 'room-' || f || '-' || door, f
  FROM generate_series(1, :facilities) f, (VALUES ('front'), ('back')) d (door);

-- Visitor s (0-based) of facility f is participant (f - 1) * per_facility
-- + s + 1.
INSERT INTO participants (id, name, is_keyholder, suspended)
SELECT p, 'Participant ' || p,
       p % 10 = 1 OR (p <= :open_visits AND (p - 1) % :per_facility = 0),
       p > :open_visits AND p % 1000 = 500
  FROM generate_series(1, :participants) p;

INSERT INTO badges (uid, participant_id)
SELECT upper(lpad(to_hex(p * 2654435761 % 4294967296), 8, '0')), p
  FROM generate_series(1, :participants) p;

INSERT INTO gateways (id, token_hash)
SELECT 'gw-' || g, 'sha256:' || encode(sha256(convert_to('token-' || g,
                                                         'UTF8')), 'hex')
  FROM generate_series(1, 100) g;

INSERT INTO visits (participant_id, facility_id, checked_in_at, as_keyholder)
SELECT p.id, (p.id - 1) / :per_facility + 1,
       now() - (p.id % 7200) * interval '1 second', p.is_keyholder
  FROM participants p
 WHERE p.id <= :open_visits;

RESET session_replication_role;

DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM badges b
              WHERE NOT EXISTS (SELECT 1 FROM participants p
                                 WHERE p.id = b.participant_id))
     OR EXISTS (SELECT 1 FROM visits v
                 WHERE NOT EXISTS (SELECT 1 FROM participants p
                                    WHERE p.id = v.participant_id)
                    OR NOT EXISTS (SELECT 1 FROM facilities f
                                    WHERE f.id = v.facility_id))
     OR EXISTS (SELECT 1 FROM readers r
                 WHERE NOT EXISTS (SELECT 1 FROM facilities f
                                    WHERE f.id = r.facility_id)) THEN
    RAISE EXCEPTION 'the start-up world has dangling references';
  END IF;
END
$$;

-- Ids were given explicitly; what is added later comes after them.
SELECT setval(pg_get_serial_sequence('facilities', 'id'), :facilities),
       setval(pg_get_serial_sequence('participants', 'id'), :participants)
\g /dev/null

VACUUM ANALYZE;
