-- The conventional design, as a peer for facilityd's figures: the scan rules
-- decided inside PostgreSQL by a function that takes an advisory lock, reads
-- the facility's open visits, decides and writes, all in the one transaction
-- of the caller's single statement. It writes what record_scan writes for
-- the same outcome: the visits, the facility's version and the scan row.
--
-- Applied after the real migrations, with search_path set to the peer's own
-- schema; every name below resolves through it at call time.
--
--   peer_scan(gateway, seq, reader, badge)
--       locks the facility: correct, and the design facilityd replaces.
--   peer_scan_participant_lock(gateway, seq, reader, badge)
--       locks only the participant. A member's check-in then holds a
--       different lock from the last keyholder's check-out that closes the
--       facility, so it can read "open", commit after the force-close has
--       taken its snapshot, and survive it: invariant I1 breaks.
--
-- Both return the outcome's name. READ COMMITTED, the default, as a
-- conventional application would run.

-- Advisory lock key spaces, so that facility 7 and participant 7 differ.
CREATE FUNCTION peer_facility_lock(p_facility bigint) RETURNS void
  LANGUAGE sql AS $$ SELECT pg_advisory_xact_lock(1, p_facility::integer) $$;

CREATE FUNCTION peer_participant_lock(p_participant bigint) RETURNS void
  LANGUAGE sql AS $$ SELECT pg_advisory_xact_lock(2, p_participant::integer) $$;

-- Decides and writes one scan of a known badge at a known reader. The
-- caller holds whichever lock its design takes.
CREATE FUNCTION peer_decide_and_write(
  p_gateway   text,
  p_seq       numeric,
  p_reader    text,
  p_badge     text,
  p_facility  bigint,
  p_who       participants)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  v_now        timestamptz := now();
  v_outcome    text;
  v_visit      bigint;
  v_keyholder  boolean;  -- the role the open visit was made in
  v_closed     integer := 0;
  v_capacity   integer;
BEGIN
  SELECT v.id, v.as_keyholder INTO v_visit, v_keyholder FROM visits v
   WHERE v.participant_id = p_who.id AND v.facility_id = p_facility
     AND v.checked_out_at IS NULL;

  IF p_who.suspended THEN
    v_outcome := 'denied_suspended';
    v_visit := NULL;
  ELSIF v_visit IS NOT NULL THEN
    UPDATE visits v SET checked_out_at = v_now, close_reason = 'checked_out'
     WHERE v.id = v_visit AND v.checked_out_at IS NULL;
    -- The last keyholder leaving takes everyone else out with them.
    IF v_keyholder AND NOT EXISTS (
         SELECT 1 FROM visits v
          WHERE v.facility_id = p_facility AND v.checked_out_at IS NULL
            AND v.as_keyholder) THEN
      UPDATE visits v SET checked_out_at = v_now, close_reason = 'force_close'
       WHERE v.facility_id = p_facility AND v.checked_out_at IS NULL;
      GET DIAGNOSTICS v_closed = ROW_COUNT;
      v_outcome := 'checked_out_closed';
    ELSE
      v_outcome := 'checked_out';
    END IF;
  ELSIF NOT p_who.is_keyholder AND NOT EXISTS (
          SELECT 1 FROM visits v
           WHERE v.facility_id = p_facility AND v.checked_out_at IS NULL
             AND v.as_keyholder) THEN
    v_outcome := 'denied_closed';
  ELSE
    SELECT f.capacity INTO v_capacity FROM facilities f WHERE f.id = p_facility;
    IF NOT p_who.is_keyholder AND v_capacity IS NOT NULL
       AND (SELECT count(*) FROM visits v
             WHERE v.facility_id = p_facility
               AND v.checked_out_at IS NULL) >= v_capacity THEN
      v_outcome := 'denied_full';
    ELSE
      INSERT INTO visits (participant_id, facility_id, checked_in_at,
                          as_keyholder)
      VALUES (p_who.id, p_facility, v_now, p_who.is_keyholder)
      RETURNING id INTO v_visit;
      v_outcome := 'checked_in';
    END IF;
  END IF;

  -- Counted after the change, as a conventional writer does. The row lock
  -- this takes comes after the decision, so it orders the commits without
  -- closing the race of the participant-lock design.
  UPDATE facilities f SET version = f.version + 1 WHERE f.id = p_facility;

  INSERT INTO scans (gateway_id, gateway_seq, reader_id, badge_uid,
                     facility_id, participant_id, outcome, visit_id,
                     closed_count, at)
  VALUES (p_gateway, p_seq, p_reader, p_badge, p_facility, p_who.id,
          v_outcome, v_visit, v_closed, v_now);
  RETURN v_outcome;
END
$$;

-- The part both designs share before taking their lock: the replay check
-- and the look-ups of reader and badge. Returns the outcome when the scan
-- is settled without a lock (a replay, an unknown reader or badge), else
-- null with the facility and participant filled in.
CREATE FUNCTION peer_prelude(
  p_gateway       text,
  p_seq           numeric,
  p_reader        text,
  p_badge         text,
  OUT o_outcome   text,
  OUT o_facility  bigint,
  OUT o_who       participants)
LANGUAGE plpgsql AS $$
BEGIN
  SELECT s.outcome INTO o_outcome FROM scans s
   WHERE s.gateway_id = p_gateway AND s.gateway_seq = p_seq;
  IF FOUND THEN
    RETURN;
  END IF;

  SELECT r.facility_id INTO o_facility FROM readers r WHERE r.id = p_reader;
  SELECT p.* INTO o_who FROM badges b JOIN participants p
      ON p.id = b.participant_id
   WHERE b.uid = p_badge;
  IF o_facility IS NULL OR o_who.id IS NULL THEN
    o_outcome := CASE WHEN o_facility IS NULL THEN 'denied_unknown_reader'
                      ELSE 'denied_unknown_badge' END;
    INSERT INTO scans (gateway_id, gateway_seq, reader_id, badge_uid,
                       facility_id, participant_id, outcome, at)
    VALUES (p_gateway, p_seq, p_reader, p_badge, o_facility, o_who.id,
            o_outcome, now());
  END IF;
END
$$;

CREATE FUNCTION peer_scan(
  p_gateway text, p_seq numeric, p_reader text, p_badge text)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  v  record;
BEGIN
  v := peer_prelude(p_gateway, p_seq, p_reader, p_badge);
  IF v.o_outcome IS NOT NULL THEN
    RETURN v.o_outcome;
  END IF;
  PERFORM peer_facility_lock(v.o_facility);
  RETURN peer_decide_and_write(p_gateway, p_seq, p_reader, p_badge,
                               v.o_facility, v.o_who);
END
$$;

CREATE FUNCTION peer_scan_participant_lock(
  p_gateway text, p_seq numeric, p_reader text, p_badge text)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  v  record;
BEGIN
  v := peer_prelude(p_gateway, p_seq, p_reader, p_badge);
  IF v.o_outcome IS NOT NULL THEN
    RETURN v.o_outcome;
  END IF;
  PERFORM peer_participant_lock((v.o_who).id);
  RETURN peer_decide_and_write(p_gateway, p_seq, p_reader, p_badge,
                               v.o_facility, v.o_who);
END
$$;
