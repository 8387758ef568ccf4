-- The plan of a race round, on the world of world.sql (without capacities):
-- every keyholder starts inside and scans once, so checks out; every member
-- starts outside and scans once, so tries to check in. A facility's
-- keyholders scan within the first 60 % of its scans and its members are
-- spread over all of them, so the last keyholder's check-out, which closes
-- the facility, runs while members keep checking in. Once all have scanned,
-- every facility is closed, and any open visit breaks invariant I1.
--
-- Plan entry n (0-based) is facility n % :facilities's slot n / :facilities,
-- so the facilities advance side by side. pgbench/race.sql hands entry
-- client_id + clients * k to a client's k-th scan.
--
-- psql variables: facilities.

CREATE TABLE race_plan (
  n       integer PRIMARY KEY,
  reader  text NOT NULL,
  badge   text NOT NULL
);

INSERT INTO race_plan (n, reader, badge)
WITH regulars AS (
  SELECT p.id, (p.id - 1) % :facilities + 1 AS f, p.is_keyholder,
         row_number() OVER (w ORDER BY p.id) AS rank, count(*) OVER w AS of
    FROM participants p
  WINDOW w AS (PARTITION BY (p.id - 1) % :facilities, p.is_keyholder)
), placed AS (
  SELECT id, f,
         CASE WHEN is_keyholder THEN 0.6 * rank / of
              ELSE (rank - 0.5) / of END AS at
    FROM regulars
)
SELECT (row_number() OVER (PARTITION BY f ORDER BY at, id) - 1) * :facilities
         + f - 1,
       'r' || f, 'b' || id
  FROM placed;

ANALYZE race_plan;
