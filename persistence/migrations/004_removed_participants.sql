-- A participant is removed by marking them, not by deleting the row: their
-- visits and scans are history that must keep pointing at them. Removed
-- participants are not loaded into the directory and hold no badges.
ALTER TABLE participants ADD COLUMN removed_at timestamptz;
