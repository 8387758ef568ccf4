-- Empties the state a run leaves (visits, scans, versions) and starts a
-- fresh checkpoint, so that every measured run begins alike: the same table
-- sizes and the same full-page writes after the checkpoint.

TRUNCATE scans, visits RESTART IDENTITY;
UPDATE facilities SET version = 0;
VACUUM ANALYZE facilities, visits, scans;
CHECKPOINT;
