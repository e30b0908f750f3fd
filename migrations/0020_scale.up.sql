-- Searches that cost the same at 100,000 deployments as at 100, and a
-- smaller footprint per deployment (issue 15; docs/performance.md, "At
-- scale"). None of these indexes holds a column a tick changes, so a
-- tick's update of its deployment row stays a HOT update.

-- Substring search on the service ("service contains …") and on a
-- standing signature's signer: trigram indexes. pg_trgm ships with
-- PostgreSQL and is a trusted extension: the database's owner, who runs
-- the migrations, may create it. Without a pending list (fastupdate) each
-- row goes straight into the index: rows come a few at a time, and a
-- pending list left these indexes ten times their size.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX deployments_service_trgm_idx ON deployments USING gin (service gin_trgm_ops) WITH (fastupdate = off);
CREATE INDEX signoffs_signer_trgm_idx ON signoffs USING gin (signer_name gin_trgm_ops) WITH (fastupdate = off)
    WHERE ended_at IS NULL;

-- Every list is newest first, ties broken by id: one index per way of
-- narrowing it, each in that order, so a page is a short index range
-- whatever the table's size. The environment index also gives the
-- filter menu its few distinct values by skipping from one to the next.
CREATE INDEX deployments_newest_idx ON deployments (created_at DESC, id DESC);
CREATE INDEX deployments_status_newest_idx ON deployments (status, created_at DESC, id DESC);
CREATE INDEX deployments_environment_newest_idx ON deployments (environment, created_at DESC, id DESC);
DROP INDEX deployments_created_idx;
DROP INDEX deployments_status_idx;
-- (service, environment) served no query: the service is searched by
-- substring.
DROP INDEX deployments_service_idx;

-- "My sign-offs" looks only at deployments that can still be signed, and
-- the overdue sweep only at live ones: both few, however many are done.
CREATE INDEX deployments_open_idx ON deployments (created_at DESC) WHERE locked_at IS NULL AND status <> 'aborted';
CREATE INDEX deployments_live_idx ON deployments (id) WHERE status = 'live' AND locked_at IS NULL;

-- A record's signatures, ended ones too (the partial key on standing
-- signatures cannot serve that): an export read every signature of every
-- deployment, 100 ms at 100,000.
CREATE INDEX signoffs_deployment_idx ON signoffs (deployment_id, audit_seq);

-- The templates page counts each template's deployments: an index-only
-- scan of this, where it read every deployment.
CREATE INDEX deployments_template_version_idx ON deployments (template_version_id);

-- No query reads events by time (a chain is read by its own index):
-- 8 bytes and an index entry per event for nothing.
DROP INDEX audit_events_at_idx;
