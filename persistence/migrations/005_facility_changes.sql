-- Staff add, edit and remove facilities. A removed facility keeps its row,
-- as visits and scans point at it, but is no longer loaded.
ALTER TABLE facilities ADD COLUMN removed_at timestamptz;
-- Names need only be unique among facilities in use.
ALTER TABLE facilities DROP CONSTRAINT facilities_name_key;
CREATE UNIQUE INDEX facilities_name_in_use ON facilities (name)
  WHERE removed_at IS NULL;

-- Renames a facility or changes its capacity, fenced on its version like
-- a scan (the facility's actor owns its capacity), with the audit row.
CREATE FUNCTION edit_facility(
  p_facility          bigint,
  p_expected_version  bigint,
  p_name              text,      -- null: unchanged
  p_set_capacity      boolean,
  p_capacity          integer,   -- with p_set_capacity; null: no limit
  p_actor             text,
  p_action            text,
  p_target            text,
  p_before            jsonb,
  p_after             jsonb)
RETURNS TABLE (o_version bigint, o_at_us bigint)
LANGUAGE plpgsql AS $$
DECLARE
  v_version bigint;
BEGIN
  UPDATE facilities f
     SET name = coalesce(p_name, f.name),
         capacity = CASE WHEN p_set_capacity THEN p_capacity
                         ELSE f.capacity END,
         version = f.version + 1
   WHERE f.id = p_facility AND f.version = p_expected_version
     AND f.removed_at IS NULL
  RETURNING f.version INTO v_version;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'facility % is no longer at version %',
      p_facility, p_expected_version USING ERRCODE = 'FD001';
  END IF;
  INSERT INTO admin_audit (actor, action, target, before, after)
  VALUES (p_actor, p_action, p_target, p_before, p_after);
  RETURN QUERY SELECT v_version, epoch_us(now());
END
$$;

-- Removes a facility that nobody is in and no reader points at.
CREATE FUNCTION remove_facility(
  p_facility          bigint,
  p_expected_version  bigint,
  p_actor             text,
  p_action            text,
  p_target            text,
  p_before            jsonb)
RETURNS TABLE (o_version bigint, o_at_us bigint)
LANGUAGE plpgsql AS $$
DECLARE
  v_version bigint;
BEGIN
  IF EXISTS (SELECT 1 FROM readers r WHERE r.facility_id = p_facility) THEN
    RAISE EXCEPTION 'readers still belong to facility %', p_facility
      USING ERRCODE = 'FD003';
  END IF;
  IF EXISTS (SELECT 1 FROM visits v WHERE v.facility_id = p_facility
               AND v.checked_out_at IS NULL) THEN
    RAISE EXCEPTION 'people are still inside facility %', p_facility
      USING ERRCODE = 'FD003';
  END IF;
  UPDATE facilities f SET removed_at = now(), version = f.version + 1
   WHERE f.id = p_facility AND f.version = p_expected_version
     AND f.removed_at IS NULL
  RETURNING f.version INTO v_version;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'facility % is no longer at version %',
      p_facility, p_expected_version USING ERRCODE = 'FD001';
  END IF;
  INSERT INTO admin_audit (actor, action, target, before, after)
  VALUES (p_actor, p_action, p_target, p_before, NULL);
  RETURN QUERY SELECT v_version, epoch_us(now());
END
$$;
