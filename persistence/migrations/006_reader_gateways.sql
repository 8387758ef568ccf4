-- Each reader is wired to one gateway, and only that gateway's scans at it
-- count: a gateway whose token leaks cannot open doors it does not serve.
-- A reader wired to no gateway (gateway_id null) takes no scans at all.
ALTER TABLE readers ADD COLUMN gateway_id text REFERENCES gateways (id);
CREATE INDEX readers_by_gateway ON readers (gateway_id);

-- Readers that were in use keep working: each is wired to the gateway that
-- scanned at it last, if that gateway still exists...
UPDATE readers r
   SET gateway_id = last.gateway_id
  FROM (SELECT DISTINCT ON (reader_id) reader_id, gateway_id
          FROM scans
         ORDER BY reader_id, id DESC) last
 WHERE last.reader_id = r.id
   AND EXISTS (SELECT 1 FROM gateways g WHERE g.id = last.gateway_id);

-- ...or, where there is only one gateway, to that one.
UPDATE readers
   SET gateway_id = (SELECT min(id) FROM gateways)
 WHERE gateway_id IS NULL
   AND (SELECT count(*) FROM gateways) = 1;
