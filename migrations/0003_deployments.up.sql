-- Deployments: one run of a template version, its items (a snapshot of the
-- version's items), notes, comments and sign-offs.

CREATE TYPE deployment_status AS ENUM ('draft', 'in_progress', 'live', 'completed', 'aborted');

CREATE TABLE deployments (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    template_version_id bigint            NOT NULL REFERENCES template_versions (id),
    service             text              NOT NULL CHECK (service <> ''),
    environment         text              NOT NULL CHECK (environment <> ''),
    version             text              NOT NULL CHECK (version <> ''),
    planned_at          timestamptz,
    status              deployment_status NOT NULL DEFAULT 'draft',
    went_live_at        timestamptz,
    completed_at        timestamptz,
    aborted_at          timestamptz,
    -- The final approval locks the deployment; every write checks this.
    locked_at           timestamptz,
    created_by          bigint            NOT NULL REFERENCES users (id),
    created_at          timestamptz       NOT NULL DEFAULT now(),
    updated_at          timestamptz       NOT NULL DEFAULT now(),
    -- Bumped by every change to items or notes; a sign-off given at an older
    -- value is stale.
    checklist_rev       bigint            NOT NULL DEFAULT 0,
    -- Head of this deployment's audit hash chain.
    audit_seq           bigint            NOT NULL DEFAULT 0,
    audit_head          bytea             NOT NULL DEFAULT '\x',
    -- Time of the newest event: the next one is never earlier, so times
    -- rise with the chain even when transactions queue for the lock.
    audit_at            timestamptz       NOT NULL DEFAULT '-infinity'
);
CREATE INDEX deployments_status_idx ON deployments (status, created_at DESC);
CREATE INDEX deployments_service_idx ON deployments (service, environment);
CREATE INDEX deployments_created_idx ON deployments (created_at DESC);

CREATE TYPE item_state AS ENUM ('open', 'done', 'na');

CREATE TABLE deployment_items (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    deployment_id bigint      NOT NULL REFERENCES deployments (id),
    -- Stable position path, "phase.section.item[.child[.grandchild]]".
    path          text        NOT NULL,
    parent_path   text        NOT NULL DEFAULT '',
    position      integer     NOT NULL, -- document order
    phase         integer     NOT NULL,
    section       integer     NOT NULL,
    level         integer     NOT NULL CHECK (level BETWEEN 1 AND 3),
    text          text        NOT NULL,
    conditional   boolean     NOT NULL DEFAULT false,
    has_children  boolean     NOT NULL DEFAULT false,
    due_after     interval,
    state         item_state  NOT NULL DEFAULT 'open',
    na_reason     text        NOT NULL DEFAULT '',
    state_by      bigint      REFERENCES users (id),
    state_at      timestamptz,
    evidence      text        NOT NULL DEFAULT '',
    UNIQUE (deployment_id, path),
    CHECK (state <> 'na' OR na_reason <> '')
);
CREATE INDEX deployment_items_order_idx ON deployment_items (deployment_id, position);

CREATE TABLE item_comments (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    deployment_id bigint      NOT NULL REFERENCES deployments (id),
    item_id       bigint      NOT NULL REFERENCES deployment_items (id),
    author_id     bigint      REFERENCES users (id),
    author_name   text        NOT NULL,
    body          text        NOT NULL CHECK (body <> ''),
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX item_comments_item_idx ON item_comments (item_id, created_at);
CREATE INDEX item_comments_deployment_idx ON item_comments (deployment_id);

CREATE TABLE deployment_notes (
    deployment_id bigint      NOT NULL REFERENCES deployments (id),
    position      integer     NOT NULL,
    name          text        NOT NULL,
    long          boolean     NOT NULL DEFAULT false,
    value         text        NOT NULL DEFAULT '',
    updated_by    bigint      REFERENCES users (id),
    updated_at    timestamptz,
    PRIMARY KEY (deployment_id, position)
);

-- Sign-off slots are copied from the template version when the deployment is
-- created; signatures are rows in signoffs.
CREATE TABLE deployment_slots (
    deployment_id bigint NOT NULL REFERENCES deployments (id),
    position      integer NOT NULL,
    group_name    text    NOT NULL,
    role_name     text    NOT NULL,
    final         boolean NOT NULL DEFAULT false,
    PRIMARY KEY (deployment_id, position)
);

CREATE TABLE signoffs (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    deployment_id  bigint      NOT NULL REFERENCES deployments (id),
    slot           integer     NOT NULL,
    role_name      text        NOT NULL,
    signer_id      bigint      NOT NULL REFERENCES users (id),
    signer_name    text        NOT NULL,
    meaning        text        NOT NULL,
    signed_at      timestamptz NOT NULL,
    -- SHA-256 of the canonical checklist state the signature attests to.
    checklist_hash bytea       NOT NULL,
    checklist_rev  bigint      NOT NULL,
    audit_seq      bigint      NOT NULL,
    -- Set when revoked by a person (with a reason) or replaced by a new
    -- signature on the same slot.
    ended_at       timestamptz,
    ended_by       bigint      REFERENCES users (id),
    end_reason     text,
    FOREIGN KEY (deployment_id, slot) REFERENCES deployment_slots (deployment_id, position)
);
-- At most one standing signature per slot.
CREATE UNIQUE INDEX signoffs_standing_slot_key ON signoffs (deployment_id, slot) WHERE ended_at IS NULL;
CREATE INDEX signoffs_signer_idx ON signoffs (signer_id);
