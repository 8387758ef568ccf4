-- Visits remember the role they were made in, and staff changes get an
-- audit trail.
--
-- Invariant I1 is about keyholder visits: a facility with an open visit has
-- an open visit made as a keyholder. Keeping the role on the visit means a
-- role change takes effect in each facility when that facility's owner
-- applies it (flipping the flag, or closing the facility when its last
-- keyholder loses the role), in one transaction there, and I1 holds after
-- every commit.

ALTER TABLE visits ADD COLUMN as_keyholder boolean NOT NULL DEFAULT false;
UPDATE visits v SET as_keyholder = p.is_keyholder
  FROM participants p WHERE p.id = v.participant_id;

-- Who changed what, when, and how it looked before and after.
CREATE TABLE admin_audit (
  id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at      timestamptz NOT NULL DEFAULT now(),
  actor   text NOT NULL,
  action  text NOT NULL,
  target  text NOT NULL,
  before  jsonb,
  after   jsonb
);
CREATE INDEX admin_audit_by_target ON admin_audit (target, id);

-- record_scan gains the role of a check-in; otherwise as in 002.
DROP FUNCTION record_scan(text, numeric, text, text, bigint, bigint, text,
                          bigint, bigint, bigint[]);

CREATE FUNCTION record_scan(
  p_gateway           text,
  p_seq               numeric,
  p_reader            text,
  p_badge             text,
  p_facility          bigint,    -- null: unknown reader, no fence
  p_participant       bigint,    -- null: unknown badge
  p_outcome           text,
  p_keyholder        boolean,   -- the role the participant scans in
  p_expected_version  bigint,
  p_closes            bigint,    -- the visit a check-out closes
  p_force_closed      bigint[])  -- the visits a last keyholder closes
RETURNS TABLE (
  o_replayed     boolean,
  o_outcome      text,
  o_participant  bigint,
  o_visit        bigint,
  o_closed       integer,
  o_at_us        bigint,
  o_version      bigint)
LANGUAGE plpgsql AS $$
DECLARE
  v_now      timestamptz := now();
  v_prior    scans%ROWTYPE;
  v_version  bigint := 0;
  v_visit    bigint;
  v_closed   integer := 0;
BEGIN
  SELECT * INTO v_prior FROM scans s
   WHERE s.gateway_id = p_gateway AND s.gateway_seq = p_seq;
  IF FOUND THEN
    RETURN QUERY SELECT true, v_prior.outcome, v_prior.participant_id,
      v_prior.visit_id, v_prior.closed_count, epoch_us(v_prior.at), 0::bigint;
    RETURN;
  END IF;

  IF p_facility IS NOT NULL THEN
    UPDATE facilities f SET version = f.version + 1
     WHERE f.id = p_facility AND f.version = p_expected_version
    RETURNING f.version INTO v_version;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'facility % is no longer at version %',
        p_facility, p_expected_version USING ERRCODE = 'FD001';
    END IF;
  END IF;

  IF p_outcome = 'checked_in' THEN
    INSERT INTO visits (participant_id, facility_id, checked_in_at,
                        as_keyholder)
    VALUES (p_participant, p_facility, v_now, p_keyholder)
    RETURNING id INTO v_visit;
  ELSIF p_outcome IN ('checked_out', 'checked_out_closed') THEN
    UPDATE visits v SET checked_out_at = v_now, close_reason = 'checked_out'
     WHERE v.id = p_closes AND v.facility_id = p_facility
       AND v.participant_id = p_participant AND v.checked_out_at IS NULL;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'visit % is not open in facility %',
        p_closes, p_facility USING ERRCODE = 'FD002';
    END IF;
    v_visit := p_closes;
  END IF;

  IF p_outcome = 'checked_out_closed' THEN
    UPDATE visits v SET checked_out_at = v_now, close_reason = 'force_close'
     WHERE v.id = ANY (p_force_closed) AND v.facility_id = p_facility
       AND v.checked_out_at IS NULL;
    GET DIAGNOSTICS v_closed = ROW_COUNT;
    -- Invariant I1: a closed facility has no open visits left.
    IF v_closed <> coalesce(cardinality(p_force_closed), 0)
       OR EXISTS (SELECT 1 FROM visits v
                   WHERE v.facility_id = p_facility
                     AND v.checked_out_at IS NULL) THEN
      RAISE EXCEPTION 'open visits of facility % differ from the decision',
        p_facility USING ERRCODE = 'FD002';
    END IF;
  END IF;

  INSERT INTO scans (gateway_id, gateway_seq, reader_id, badge_uid,
                     facility_id, participant_id, outcome, visit_id,
                     closed_count, at)
  VALUES (p_gateway, p_seq, p_reader, p_badge, p_facility, p_participant,
          p_outcome, v_visit, v_closed, v_now);

  RETURN QUERY SELECT false, p_outcome, p_participant, v_visit, v_closed,
    epoch_us(v_now), v_version;
END
$$;

-- change_visits writes a visit_change (staff closing visits, a role change
-- reaching the people inside) in the caller's single statement: the
-- facility's version fence, the closes with their reasons, the role flips,
-- a check that I1 still holds, and the audit row.
CREATE FUNCTION change_visits(
  p_facility          bigint,
  p_expected_version  bigint,
  p_close             bigint[],
  p_close_reason      text[],    -- parallel to p_close
  p_role_visit        bigint[],
  p_role_keyholder    boolean[], -- parallel to p_role_visit
  p_actor             text,
  p_action            text,
  p_target            text,
  p_before            jsonb,
  p_after             jsonb)
RETURNS TABLE (o_version bigint, o_at_us bigint)
LANGUAGE plpgsql AS $$
DECLARE
  v_now      timestamptz := now();
  v_version  bigint;
  v_count    integer;
BEGIN
  UPDATE facilities f SET version = f.version + 1
   WHERE f.id = p_facility AND f.version = p_expected_version
  RETURNING f.version INTO v_version;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'facility % is no longer at version %',
      p_facility, p_expected_version USING ERRCODE = 'FD001';
  END IF;

  UPDATE visits v SET checked_out_at = v_now, close_reason = c.reason
    FROM unnest(p_close, p_close_reason) AS c (id, reason)
   WHERE v.id = c.id AND v.facility_id = p_facility
     AND v.checked_out_at IS NULL;
  GET DIAGNOSTICS v_count = ROW_COUNT;
  IF v_count <> coalesce(cardinality(p_close), 0) THEN
    RAISE EXCEPTION 'visits to close in facility % are not open',
      p_facility USING ERRCODE = 'FD002';
  END IF;

  UPDATE visits v SET as_keyholder = r.keyholder
    FROM unnest(p_role_visit, p_role_keyholder) AS r (id, keyholder)
   WHERE v.id = r.id AND v.facility_id = p_facility
     AND v.checked_out_at IS NULL;
  GET DIAGNOSTICS v_count = ROW_COUNT;
  IF v_count <> coalesce(cardinality(p_role_visit), 0) THEN
    RAISE EXCEPTION 'visits to change in facility % are not open',
      p_facility USING ERRCODE = 'FD002';
  END IF;

  -- Invariant I1.
  IF EXISTS (SELECT 1 FROM visits v WHERE v.facility_id = p_facility
               AND v.checked_out_at IS NULL)
     AND NOT EXISTS (SELECT 1 FROM visits v WHERE v.facility_id = p_facility
                       AND v.checked_out_at IS NULL AND v.as_keyholder) THEN
    RAISE EXCEPTION 'facility % would have visits but no keyholder',
      p_facility USING ERRCODE = 'FD002';
  END IF;

  IF p_action IS NOT NULL THEN
    INSERT INTO admin_audit (at, actor, action, target, before, after)
    VALUES (v_now, p_actor, p_action, p_target, p_before, p_after);
  END IF;

  RETURN QUERY SELECT v_version, epoch_us(v_now);
END
$$;
