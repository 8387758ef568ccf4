-- After a race round every facility should be closed and empty; this tells
-- the invariant I1 violations apart by how they came about. Prints
-- "open visits|facilities|open visits that survived a force-close": the
-- last are member check-ins that read "open" while the last keyholder's
-- check-out was closing the facility; the others are in facilities whose
-- last keyholders checked out side by side, each seeing the other still
-- inside, so that nobody closed the facility at all.

SELECT count(*), count(DISTINCT v.facility_id),
       count(*) FILTER (WHERE EXISTS (
         SELECT 1 FROM scans s
          WHERE s.facility_id = v.facility_id
            AND s.outcome = 'checked_out_closed'))
  FROM visits v
 WHERE v.checked_out_at IS NULL
   AND NOT EXISTS (
         SELECT 1 FROM visits k
          WHERE k.facility_id = v.facility_id AND k.checked_out_at IS NULL
            AND k.as_keyholder);
