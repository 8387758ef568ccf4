-- Invariant I1: a facility with an open visit has an open visit made as a
-- keyholder. Prints the open visits that break it and how many facilities
-- they are in, as "visits|facilities".

SELECT count(*), count(DISTINCT v.facility_id)
  FROM visits v
 WHERE v.checked_out_at IS NULL
   AND NOT EXISTS (
         SELECT 1 FROM visits k
          WHERE k.facility_id = v.facility_id AND k.checked_out_at IS NULL
            AND k.as_keyholder);
