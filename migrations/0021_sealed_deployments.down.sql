-- Unseal: every sealed item and chain back into rows, as it was (the
-- kept counts do not count the items again, the log's queue does not take
-- the events again).
ALTER TABLE deployment_items DISABLE TRIGGER deployment_items_progress_add;
INSERT INTO deployment_items (id, deployment_id, path, parent_path, position, phase, section, level, text, conditional,
                              has_children, due_after, state, na_reason, state_by, state_at, evidence,
                              assigned_user_id, assigned_role_id)
OVERRIDING SYSTEM VALUE
SELECT id, deployment_id, path, parent_path, position, phase, section, level, text, conditional,
       has_children, due_after, state, na_reason, state_by, state_at, evidence, assigned_user_id, assigned_role_id
FROM deployment_items_all i
WHERE EXISTS (SELECT 1 FROM deployment_items_sealed s WHERE s.deployment_id = i.deployment_id);
ALTER TABLE deployment_items ENABLE TRIGGER deployment_items_progress_add;

-- Each event's hash is SHA-256 of the hash before it and its payload.
DO $$
DECLARE
    s record;
    p record;
    prev bytea;
    h bytea;
BEGIN
    FOR s IN SELECT * FROM audit_sealed_chains LOOP
        prev := '\x0000000000000000000000000000000000000000000000000000000000000000';
        FOR p IN SELECT x.payload, x.i, x.payload::jsonb AS j
                 FROM string_to_table(s.payloads, E'\n') WITH ORDINALITY AS x (payload, i) ORDER BY x.i LOOP
            h := sha256(prev || convert_to(p.payload, 'UTF8'));
            INSERT INTO audit_events (id, deployment_id, seq, at, actor_id, actor_name, action, target, payload, prev_hash, hash)
            OVERRIDING SYSTEM VALUE
            VALUES (s.ids[p.i], s.deployment_id, p.i, (p.j ->> 'at')::timestamptz, nullif((p.j -> 'actor' ->> 'id')::bigint, 0),
                    coalesce(p.j -> 'actor' ->> 'name', ''), p.j ->> 'action', coalesce(p.j ->> 'target', ''), p.payload, prev, h);
            prev := h;
        END LOOP;
    END LOOP;
END;
$$;
DELETE FROM audit_log_pending WHERE event_id IN (SELECT unnest(ids) FROM audit_sealed_chains);
INSERT INTO audit_log_entries (idx, event_id, chain, seq)
SELECT u.leaf, s.ids[u.seq], s.deployment_id, u.seq
FROM audit_sealed_chains s CROSS JOIN LATERAL unnest(s.leaves) WITH ORDINALITY AS u (leaf, seq);
DROP TRIGGER audit_log_entries_append_only ON audit_log_entries;
CREATE TRIGGER audit_log_entries_append_only BEFORE UPDATE OR DELETE ON audit_log_entries
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
DROP FUNCTION audit_log_entries_append_only();
DROP FUNCTION audit_log_leaves(bigint, bigint);
DROP FUNCTION audit_log_leaf(bigint, bigint);

DROP VIEW audit_events_all;
DROP FUNCTION audit_event_hash(bigint, bigint);
DROP FUNCTION audit_sealed_hash(bigint, bigint);
DROP FUNCTION seal_deployment(bigint);
DROP VIEW deployment_items_all;
DROP TRIGGER deployment_items_no_delete ON deployment_items;
CREATE TRIGGER deployment_items_no_delete
    BEFORE DELETE ON deployment_items
    FOR EACH ROW EXECUTE FUNCTION deployment_items_fixed_place();
DROP FUNCTION deployment_items_delete_sealed();
DROP TABLE deployment_items_sealed;
ALTER TABLE item_comments ADD CONSTRAINT item_comments_item_id_fkey
    FOREIGN KEY (item_id) REFERENCES deployment_items (id);
ALTER TABLE evidence_files ADD CONSTRAINT evidence_files_item_id_fkey
    FOREIGN KEY (item_id) REFERENCES deployment_items (id);
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
