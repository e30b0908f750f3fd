-- The transparency log's stored hashes as runs (issue 15: storage that
-- fits a decade). One row per hash cost about 90 bytes for 32 of hash,
-- two hashes per event: 35 KB per completed deployment. The hashes an
-- integration stores are consecutive (golang.org/x/mod/sumdb/tlog's
-- StoredHashIndex grows with the tree), so each integration now writes
-- them as one row: first_idx, and the hashes from there on, 32 bytes
-- each. Reading hash i is a probe for the run that starts at or before it
-- and a substring.
CREATE TABLE audit_log_hash_runs (
    first_idx bigint PRIMARY KEY CHECK (first_idx >= 0),
    hashes    bytea  NOT NULL CHECK (length(hashes) > 0 AND length(hashes) % 32 = 0)
);
-- Hashes do not compress; stored as they are, a substring reads only the
-- chunk that holds it.
ALTER TABLE audit_log_hash_runs ALTER COLUMN hashes SET STORAGE EXTERNAL;

DO $$
BEGIN
    IF (SELECT count(*) FROM audit_log_hashes) <> (SELECT coalesce(max(idx) + 1, 0) FROM audit_log_hashes) THEN
        RAISE EXCEPTION 'audit_log_hashes has gaps: not converted' USING ERRCODE = 'data_corrupted';
    END IF;
END;
$$;
INSERT INTO audit_log_hash_runs (first_idx, hashes)
SELECT min(idx), string_agg(hash, ''::bytea ORDER BY idx)
FROM audit_log_hashes
GROUP BY idx / 4096;

DROP TABLE audit_log_hashes;
ALTER TABLE audit_log_hash_runs RENAME TO audit_log_hashes;
ALTER INDEX audit_log_hash_runs_pkey RENAME TO audit_log_hashes_pkey;

CREATE TRIGGER audit_log_hashes_append_only BEFORE UPDATE OR DELETE ON audit_log_hashes
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_log_hashes_no_truncate BEFORE TRUNCATE ON audit_log_hashes
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
