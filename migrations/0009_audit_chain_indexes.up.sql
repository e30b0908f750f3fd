-- Each chain's sequence numbers stay unique, now under two partial indexes
-- instead of one on (coalesce(deployment_id, 0), seq). That expression
-- index could not serve "deployment_id = $1", so reading one deployment's
-- events (notifications, exports) scanned every event of every deployment.
CREATE UNIQUE INDEX audit_events_deployment_chain_key
    ON audit_events (deployment_id, seq) WHERE deployment_id IS NOT NULL;
CREATE UNIQUE INDEX audit_events_system_chain_key
    ON audit_events (seq) WHERE deployment_id IS NULL;
DROP INDEX audit_events_chain_key;
