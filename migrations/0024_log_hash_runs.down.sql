CREATE TABLE audit_log_hash_rows (
    idx  bigint PRIMARY KEY CHECK (idx >= 0),
    hash bytea  NOT NULL CHECK (length(hash) = 32)
);
INSERT INTO audit_log_hash_rows (idx, hash)
SELECT r.first_idx + i, substring(r.hashes FROM i::int * 32 + 1 FOR 32)
FROM audit_log_hashes r CROSS JOIN LATERAL generate_series(0, length(r.hashes) / 32 - 1) i;
DROP TABLE audit_log_hashes;
ALTER TABLE audit_log_hash_rows RENAME TO audit_log_hashes;
ALTER INDEX audit_log_hash_rows_pkey RENAME TO audit_log_hashes_pkey;
CREATE TRIGGER audit_log_hashes_append_only BEFORE UPDATE OR DELETE ON audit_log_hashes
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_log_hashes_no_truncate BEFORE TRUNCATE ON audit_log_hashes
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
