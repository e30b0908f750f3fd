DROP TABLE audit_system_chain;
DROP TABLE audit_events;
DROP FUNCTION audit_events_append_only();
