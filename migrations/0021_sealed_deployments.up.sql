-- Ended deployments' audit chains, sealed (issue 15: storage that fits a
-- decade; docs/performance.md, "Bytes per deployment").
--
-- An event's row costs about 500 bytes with its two index entries, most of
-- it row and index overhead and a JSON payload that repeats its
-- neighbours'. A completed deployment's chain (191 events, 56 KB of
-- payloads) is 106 KB as rows, and under 8 KB as one row here: the
-- payloads one per line (canonical JSON holds no raw newline), which
-- PostgreSQL compresses to about 5 KB, each event's id and its leaf in the
-- transparency log (its rows of audit_log_entries, 24 KB with their four
-- indexes, leave too), and the last event's hash. The other hashes are not
-- kept: each is SHA-256 of the one before and its payload, which
-- seal_deployment checks of every event before it moves any.
--
-- Once a deployment is completed or aborted nothing can be appended to its
-- chain; once every event of it is in the transparency log, seal_deployment
-- moves the chain here and deletes the rows. Nothing is lost: the payloads
-- are the very bytes the hashes cover, and every column of an event's row
-- is a copy of a field of its payload (seal_deployment checks that they
-- agree before it moves anything).
--
-- Its items, which can no longer change either, go the same way: 222 rows
-- of deployment_items with their three indexes (53 KB) become one row of
-- deployment_items_sealed, the rows as a JSON array (88 KB that PostgreSQL
-- compresses to 12 KB); deployment_items_all reads both.
CREATE TABLE audit_sealed_chains (
    deployment_id bigint      PRIMARY KEY REFERENCES deployments (id),
    events        integer     NOT NULL CHECK (events > 0), -- seq 1 .. events
    ids           bigint[]    NOT NULL,                    -- each event's id, in seq order
    head          bytea       NOT NULL,                    -- the last event's hash
    payloads      text        NOT NULL,                    -- each event's payload, in seq order, one per line
    leaves        bigint[]    NOT NULL,                    -- each event's leaf index in the log, in seq order
    sealed_at     timestamptz NOT NULL DEFAULT now(),
    CHECK (cardinality(ids) = events AND length(head) = 32 AND cardinality(leaves) = events)
);
-- The log's leaves from first to last of each sealed chain: which chains
-- have leaves in a range of the log (its tiles, the heads since a
-- checkpoint) is a search of this index.
CREATE INDEX audit_sealed_chains_leaves_idx ON audit_sealed_chains
    USING gist (int8range(leaves[1], leaves[events], '[]'));

CREATE TRIGGER audit_sealed_chains_append_only BEFORE UPDATE OR DELETE ON audit_sealed_chains
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_sealed_chains_no_truncate BEFORE TRUNCATE ON audit_sealed_chains
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();

-- A log entry names its event by chain and seq, which outlive the row.
ALTER TABLE audit_log_entries DROP CONSTRAINT audit_log_entries_event_id_fkey;

-- A log entry may be deleted only when its chain's sealed row holds it.
CREATE FUNCTION audit_log_entries_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND EXISTS (
        SELECT 1 FROM audit_sealed_chains s
        WHERE s.deployment_id = OLD.chain AND OLD.seq <= s.events
          AND s.leaves[OLD.seq] = OLD.idx AND s.ids[OLD.seq] = OLD.event_id)
    THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_log_entries is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
DROP TRIGGER audit_log_entries_append_only ON audit_log_entries;
CREATE TRIGGER audit_log_entries_append_only BEFORE UPDATE OR DELETE ON audit_log_entries
    FOR EACH ROW EXECUTE FUNCTION audit_log_entries_append_only();

-- An ended deployment's items: a JSON array of its rows of
-- deployment_items as to_jsonb writes them, in position order (kept as
-- text: json_populate_recordset reads it in one pass, four times faster
-- than a jsonb value row by row).
CREATE TABLE deployment_items_sealed (
    deployment_id bigint PRIMARY KEY REFERENCES deployments (id),
    items         text   NOT NULL
);
-- Comments and files name their item by its id, which the sealed row
-- keeps.
ALTER TABLE item_comments DROP CONSTRAINT item_comments_item_id_fkey;
ALTER TABLE evidence_files DROP CONSTRAINT evidence_files_item_id_fkey;

-- Every item, sealed or not. The sealed branch takes deployment_id from
-- the sealed row, so that a query for one deployment probes its key
-- instead of unpacking every sealed deployment. A migration that adds a
-- column to deployment_items makes this view again.
CREATE VIEW deployment_items_all AS
    SELECT id, deployment_id, path, parent_path, position, phase, section, level, text, conditional,
           has_children, due_after, state, na_reason, state_by, state_at, evidence,
           assigned_user_id, assigned_role_id
    FROM deployment_items
    UNION ALL
    SELECT r.id, s.deployment_id, r.path, r.parent_path, r.position, r.phase, r.section, r.level, r.text,
           r.conditional, r.has_children, r.due_after, r.state, r.na_reason, r.state_by, r.state_at,
           r.evidence, r.assigned_user_id, r.assigned_role_id
    FROM deployment_items_sealed s
    CROSS JOIN LATERAL json_populate_recordset(NULL::deployment_items, s.items::json) AS r;

-- Items may be deleted only once their deployment's sealed row holds them
-- (the kept counts of deployment_progress stay as they are: no trigger
-- counts a delete).
CREATE FUNCTION deployment_items_delete_sealed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM deployment_items_sealed WHERE deployment_id = OLD.deployment_id) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'an item''s deployment, phase, section and children are fixed when it is created';
END
$$;
DROP TRIGGER deployment_items_no_delete ON deployment_items;
CREATE TRIGGER deployment_items_no_delete
    BEFORE DELETE ON deployment_items
    FOR EACH ROW EXECUTE FUNCTION deployment_items_delete_sealed();

-- When a deployment's chain was sealed; the partial index holds only the
-- ended deployments still waiting, so the sealer's look for work is a
-- probe of a handful of entries whatever the table's size.
ALTER TABLE deployments ADD COLUMN sealed_at timestamptz;
CREATE INDEX deployments_to_seal_idx ON deployments (id)
    WHERE sealed_at IS NULL AND (locked_at IS NOT NULL OR status = 'aborted');

-- An event's row may now be deleted, by anyone who may delete at all, only
-- when its chain's sealed row holds it: its id in its place. (The payloads
-- beside them are the rows' own, gathered by seal_deployment in the
-- statement before the delete; a payload changed afterwards changes every
-- hash from it on, which the transparency log's leaves and every
-- verification catch.)
CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND EXISTS (
        SELECT 1 FROM audit_sealed_chains s
        WHERE s.deployment_id = OLD.deployment_id AND OLD.seq <= s.events
          AND s.ids[OLD.seq] = OLD.id)
    THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

-- seal_deployment seals deployment's chain and items when it can: the
-- deployment ended, not sealed yet, every event of it in the transparency
-- log. It returns how many events it sealed, 0 when the deployment is not
-- ready. It runs as the tables' owner (the runtime role may not delete
-- events), and it can do nothing else: it only ever moves a whole chain
-- and all the items, unchanged. It refuses (an error) a chain that is not
-- whole: a gap, a broken link, a payload with a newline, or a row whose
-- columns disagree with its payload.
CREATE FUNCTION seal_deployment(deployment bigint) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    n integer;
    whole boolean;
    leaf_idx bigint[];
BEGIN
    -- The deployment's row is the head of its chain: locked, nothing is
    -- appended meanwhile.
    PERFORM 1 FROM deployments
    WHERE id = deployment AND sealed_at IS NULL AND (locked_at IS NOT NULL OR status = 'aborted')
    FOR UPDATE;
    IF NOT FOUND THEN
        RETURN 0;
    END IF;
    IF EXISTS (SELECT 1 FROM audit_log_pending p JOIN audit_events e ON e.id = p.event_id
               WHERE e.deployment_id = deployment) THEN
        RETURN 0;
    END IF;
    SELECT count(*),
           coalesce(count(*) = max(seq), false)
           AND bool_and(prev_hash = coalesce(prev, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea)
                        AND hash = sha256(prev_hash || convert_to(payload, 'UTF8')))
           AND bool_and(strpos(payload, E'\n') = 0)
           AND bool_and(p ->> 'chain' IS NOT DISTINCT FROM 'deployment/' || deployment
                        AND (p ->> 'seq')::bigint IS NOT DISTINCT FROM seq
                        AND (p ->> 'at')::timestamptz IS NOT DISTINCT FROM at
                        AND coalesce((p -> 'actor' ->> 'id')::bigint, 0) = coalesce(actor_id, 0)
                        AND coalesce(p -> 'actor' ->> 'name', '') IS NOT DISTINCT FROM actor_name
                        AND p ->> 'action' IS NOT DISTINCT FROM action
                        AND coalesce(p ->> 'target', '') IS NOT DISTINCT FROM target)
    INTO n, whole
    FROM (SELECT e.*, e.payload::jsonb AS p, lag(e.hash) OVER (ORDER BY e.seq) AS prev
          FROM audit_events e WHERE e.deployment_id = deployment) e;
    IF n = 0 THEN
        RETURN 0;
    END IF;
    IF NOT whole THEN
        RAISE EXCEPTION 'audit chain of deployment % is not whole: not sealed', deployment
            USING ERRCODE = 'data_corrupted';
    END IF;
    SELECT array_agg(idx ORDER BY seq), coalesce(count(*) = n AND max(seq) = n, false)
    INTO leaf_idx, whole
    FROM audit_log_entries WHERE chain = deployment;
    IF NOT whole THEN
        RAISE EXCEPTION 'the log does not hold the audit chain of deployment % whole: not sealed', deployment
            USING ERRCODE = 'data_corrupted';
    END IF;
    INSERT INTO audit_sealed_chains (deployment_id, events, ids, head, payloads, leaves)
    SELECT deployment, n, array_agg(id ORDER BY seq), (array_agg(hash ORDER BY seq DESC))[1],
           string_agg(payload, E'\n' ORDER BY seq), leaf_idx
    FROM audit_events WHERE deployment_id = deployment;
    DELETE FROM audit_log_entries WHERE chain = deployment;
    DELETE FROM audit_events WHERE deployment_id = deployment;
    INSERT INTO deployment_items_sealed (deployment_id, items)
    SELECT deployment, jsonb_agg(to_jsonb(i) ORDER BY i.position)::text
    FROM deployment_items i WHERE i.deployment_id = deployment
    HAVING count(*) > 0;
    DELETE FROM deployment_items WHERE deployment_id = deployment;
    UPDATE deployments SET sealed_at = now() WHERE id = deployment;
    RETURN n;
END;
$$;

-- The hash of event seq of a sealed chain: its head, or SHA-256 of the
-- hash before and the payload, from the first event on (NULL when there is
-- no such event).
CREATE FUNCTION audit_sealed_hash(chain bigint, seq bigint) RETURNS bytea
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    s record;
    h bytea := '\x0000000000000000000000000000000000000000000000000000000000000000';
    p record;
BEGIN
    -- The head without the payloads (which would have to be inflated).
    SELECT events, head INTO s FROM audit_sealed_chains WHERE deployment_id = chain;
    IF NOT FOUND OR seq < 1 OR seq > s.events THEN
        RETURN NULL;
    END IF;
    IF seq = s.events THEN
        RETURN s.head;
    END IF;
    FOR p IN SELECT x.payload, x.i
             FROM audit_sealed_chains c
             CROSS JOIN LATERAL string_to_table(c.payloads, E'\n') WITH ORDINALITY AS x (payload, i)
             WHERE c.deployment_id = chain ORDER BY x.i LOOP
        h := sha256(h || convert_to(p.payload, 'UTF8'));
        IF p.i = seq THEN
            RETURN h;
        END IF;
    END LOOP;
    RETURN NULL;
END;
$$;

-- An event's hash by chain and seq, sealed or not (NULL when there is no
-- such event): what the transparency log's reads of entries join.
CREATE FUNCTION audit_event_hash(chain bigint, seq bigint) RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    -- Each chain's rows by the unique index of its kind (migration 0009).
    SELECT coalesce(
        CASE WHEN audit_event_hash.chain = 0
             THEN (SELECT e.hash FROM audit_events e
                   WHERE e.deployment_id IS NULL AND e.seq = audit_event_hash.seq)
             ELSE (SELECT e.hash FROM audit_events e
                   WHERE e.deployment_id = audit_event_hash.chain AND e.seq = audit_event_hash.seq)
        END,
        audit_sealed_hash(audit_event_hash.chain, audit_event_hash.seq))
$$;

-- An event's leaf index in the log by chain and seq, sealed or not (NULL
-- when the log does not hold it).
CREATE FUNCTION audit_log_leaf(chain bigint, seq bigint) RETURNS bigint
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce(
        (SELECT l.idx FROM audit_log_entries l WHERE l.chain = audit_log_leaf.chain AND l.seq = audit_log_leaf.seq),
        (SELECT s.leaves[audit_log_leaf.seq] FROM audit_sealed_chains s
         WHERE s.deployment_id = audit_log_leaf.chain AND audit_log_leaf.seq BETWEEN 1 AND s.events))
$$;

-- The log's leaves first <= idx < last, sealed or not: what a tile of
-- entries holds, or what the heads moved by since a checkpoint.
CREATE FUNCTION audit_log_leaves(first bigint, last bigint) RETURNS TABLE (idx bigint, chain bigint, seq bigint)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT l.idx, l.chain, l.seq FROM audit_log_entries l
    WHERE l.idx >= audit_log_leaves.first AND l.idx < audit_log_leaves.last
    UNION ALL
    SELECT u.leaf, s.deployment_id, u.seq
    FROM audit_sealed_chains s
    CROSS JOIN LATERAL unnest(s.leaves) WITH ORDINALITY AS u (leaf, seq)
    WHERE int8range(s.leaves[1], s.leaves[s.events], '[]') && int8range(audit_log_leaves.first, audit_log_leaves.last)
      AND u.leaf >= audit_log_leaves.first AND u.leaf < audit_log_leaves.last
$$;

-- Every event, sealed or not, with its payload: for reading by hand (and
-- tests). The application reads sealed chains itself (internal/postgres/
-- sealed.go), hashes included.
CREATE VIEW audit_events_all AS
    SELECT id, deployment_id, seq, payload FROM audit_events
    UNION ALL
    SELECT s.ids[p.i], s.deployment_id, p.i, p.payload
    FROM audit_sealed_chains s
    CROSS JOIN LATERAL string_to_table(s.payloads, E'\n') WITH ORDINALITY AS p (payload, i);
