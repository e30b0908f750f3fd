-- Evidence files (a screenshot, a log, a test report) attached to an item,
-- or to one of its comments. They live in PostgreSQL beside the record they
-- back, so a backup holds both and the bulk export can carry them; the
-- size limit (internal/signoff.MaxFileBytes) keeps rows within reason.
-- Append-only: the runtime role may insert and read them, never change
-- them (postgres.RuntimeGrantsSQL), and the audit event that added one
-- carries its SHA-256.
CREATE TABLE evidence_files (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    deployment_id bigint      NOT NULL REFERENCES deployments (id),
    item_id       bigint      NOT NULL REFERENCES deployment_items (id),
    comment_id    bigint      REFERENCES item_comments (id),
    name          text        NOT NULL CHECK (name <> ''),
    content_type  text        NOT NULL,
    size          integer     NOT NULL CHECK (size > 0),
    sha256        bytea       NOT NULL CHECK (length(sha256) = 32),
    data          bytea       NOT NULL,
    uploaded_by   bigint      REFERENCES users (id),
    uploader_name text        NOT NULL,
    created_at    timestamptz NOT NULL,
    CHECK (length(data) = size)
);
CREATE INDEX evidence_files_item_idx ON evidence_files (item_id, id);
CREATE INDEX evidence_files_deployment_idx ON evidence_files (deployment_id, id);

-- Who an item is assigned to: a person or a role (one at most). Assigning
-- a section writes every item in it.
ALTER TABLE deployment_items
    ADD COLUMN assigned_user_id bigint REFERENCES users (id),
    ADD COLUMN assigned_role_id bigint REFERENCES roles (id),
    ADD CONSTRAINT deployment_items_one_assignee CHECK (assigned_user_id IS NULL OR assigned_role_id IS NULL);
-- My work: the items assigned to a person or to one of their roles (the
-- query keeps the open ones). Not "WHERE state = 'open'": a column in an
-- index's predicate counts as indexed, so every tick (which changes state)
-- could no longer update its row in place (a HOT update) and would write
-- a new entry into every index of the table.
CREATE INDEX deployment_items_assigned_user_idx ON deployment_items (assigned_user_id) WHERE assigned_user_id IS NOT NULL;
CREATE INDEX deployment_items_assigned_role_idx ON deployment_items (assigned_role_id) WHERE assigned_role_id IS NOT NULL;
