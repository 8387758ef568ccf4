-- record_scan writes one decided scan in the caller's single statement, so a
-- scan costs one round trip and one transaction. The facility actor decides;
-- this function only checks that the decision still fits the database and
-- writes exactly it:
--
--  1. A scan already recorded under (gateway, seq) is a replay: return the
--     stored result and change nothing.
--  2. Advance the facility's version from the one the decision was made
--     against, or fail with SQLSTATE FD001 (the version fence).
--  3. Open or close the visits the decision names, or fail with FD002 if
--     they are not as the decision expects.
--  4. Insert the scan. A concurrent transaction recording the same scan
--     makes this fail with unique_violation; retrying returns the replay.

CREATE FUNCTION epoch_us(ts timestamptz) RETURNS bigint
  LANGUAGE sql IMMUTABLE STRICT
  AS $$ SELECT (extract(epoch FROM ts) * 1000000)::bigint $$;

CREATE FUNCTION record_scan(
  p_gateway           text,
  p_seq               numeric,
  p_reader            text,
  p_badge             text,
  p_facility          bigint,    -- null: unknown reader, no fence
  p_participant       bigint,    -- null: unknown badge
  p_outcome           text,
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
    INSERT INTO visits (participant_id, facility_id, checked_in_at)
    VALUES (p_participant, p_facility, v_now)
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
