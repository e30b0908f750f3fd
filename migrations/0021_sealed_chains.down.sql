-- Unseal: every sealed chain back into rows, as it was (the log's queue
-- does not take them again: they are in the log already).
INSERT INTO audit_events (id, deployment_id, seq, at, actor_id, actor_name, action, target, payload, prev_hash, hash)
OVERRIDING SYSTEM VALUE
SELECT s.ids[p.i], s.deployment_id, p.i, (j ->> 'at')::timestamptz, nullif((j -> 'actor' ->> 'id')::bigint, 0),
       coalesce(j -> 'actor' ->> 'name', ''), j ->> 'action', coalesce(j ->> 'target', ''), p.payload,
       CASE WHEN p.i = 1 THEN '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea
            ELSE substring(s.hashes FROM p.i::int * 32 - 63 FOR 32) END,
       substring(s.hashes FROM p.i::int * 32 - 31 FOR 32)
FROM audit_sealed_chains s
CROSS JOIN LATERAL string_to_table(s.payloads, E'\n') WITH ORDINALITY AS p (payload, i)
CROSS JOIN LATERAL (SELECT p.payload::jsonb) AS x (j);
DELETE FROM audit_log_pending WHERE event_id IN (SELECT unnest(ids) FROM audit_sealed_chains);

DROP VIEW audit_events_all;
DROP FUNCTION audit_event_hash(bigint, bigint);
DROP FUNCTION audit_seal(bigint);
CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
DROP INDEX deployments_to_seal_idx;
ALTER TABLE deployments DROP COLUMN sealed_at;
ALTER TABLE audit_log_entries ADD CONSTRAINT audit_log_entries_event_id_fkey
    FOREIGN KEY (event_id) REFERENCES audit_events (id);
DROP TABLE audit_sealed_chains;
