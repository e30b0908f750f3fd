CREATE UNIQUE INDEX audit_events_chain_key ON audit_events (coalesce(deployment_id, 0), seq);
DROP INDEX audit_events_system_chain_key;
DROP INDEX audit_events_deployment_chain_key;
