-- Notifications: mail to people and webhooks to other systems, sent in the
-- background from River's job queue (its tables come from River's own
-- migrations, run right after these). The tables here record what was
-- decided and what was delivered, so that deciding twice never tells twice.
-- See docs/notifications.md.

-- How far each deployment's audit chain has been turned into notifications:
-- events up to seq are done. status is the deployment's status as of seq,
-- replayed from the events, so a status change is noticed exactly once.
CREATE TABLE notification_cursors (
    deployment_id bigint            PRIMARY KEY REFERENCES deployments (id),
    seq           bigint            NOT NULL DEFAULT 0,
    status        deployment_status
);
-- Deployments that predate notifications start from where they are.
INSERT INTO notification_cursors (deployment_id, seq, status)
SELECT id, audit_seq, status FROM deployments;

-- Conditions that were told: a slot became signable, a signature went
-- stale, an item fell overdue. One open row per condition; when it stops
-- holding the row is cleared, and its coming back is a new row.
CREATE TABLE notifications (
    id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    deployment_id bigint      NOT NULL REFERENCES deployments (id),
    kind          text        NOT NULL CHECK (kind IN ('signable', 'stale', 'overdue')),
    subject       text        NOT NULL CHECK (subject <> ''),
    created_at    timestamptz NOT NULL DEFAULT now(),
    cleared_at    timestamptz
);
CREATE UNIQUE INDEX notifications_open_key ON notifications (deployment_id, kind, subject) WHERE cleared_at IS NULL;

-- One mail to one person. message_id is fixed when the mail is decided, so
-- every attempt carries the same Message-ID.
CREATE TABLE notification_emails (
    id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    deployment_id bigint      NOT NULL REFERENCES deployments (id),
    kind          text        NOT NULL,
    user_id       bigint      REFERENCES users (id),
    address       text        NOT NULL,
    subject       text        NOT NULL,
    body          text        NOT NULL,
    message_id    text        NOT NULL UNIQUE,
    status        text        NOT NULL DEFAULT 'pending'
                              CHECK (status IN ('pending', 'delivered', 'failed', 'skipped')),
    attempts      integer     NOT NULL DEFAULT 0,
    last_error    text        NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now(),
    sent_at       timestamptz
);
CREATE INDEX notification_emails_created_idx ON notification_emails (created_at DESC);
CREATE INDEX notification_emails_deployment_idx ON notification_emails (deployment_id);

-- Outgoing webhooks. The secret keys the HMAC signature of each delivery,
-- so it is kept as is. A deleted webhook keeps its row for the delivery log.
CREATE TABLE webhooks (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    url        text        NOT NULL CHECK (url ~ '^https?://'),
    secret     text        NOT NULL CHECK (secret <> ''),
    format     text        NOT NULL DEFAULT 'json' CHECK (format IN ('json', 'slack')),
    events     text[]      NOT NULL DEFAULT '{}', -- empty: every event
    active     boolean     NOT NULL DEFAULT true,
    created_by bigint      REFERENCES users (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz
);

-- The delivery log: one event for one webhook. payload is the exact body
-- that is signed and sent on every attempt; delivery_id is its idempotency
-- key (the X-Signoff-Delivery header). source names what caused it, so a
-- second decision about the same cause inserts nothing.
CREATE TABLE webhook_deliveries (
    id               bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    webhook_id       bigint      NOT NULL REFERENCES webhooks (id),
    delivery_id      text        NOT NULL UNIQUE,
    source           text        NOT NULL,
    event            text        NOT NULL,
    deployment_id    bigint      REFERENCES deployments (id),
    payload          text        NOT NULL,
    status           text        NOT NULL DEFAULT 'pending'
                                 CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         integer     NOT NULL DEFAULT 0,
    last_status_code integer,
    last_error       text        NOT NULL DEFAULT '',
    created_at       timestamptz NOT NULL DEFAULT now(),
    delivered_at     timestamptz,
    UNIQUE (webhook_id, source, event)
);
CREATE INDEX webhook_deliveries_created_idx ON webhook_deliveries (created_at DESC, id DESC);
