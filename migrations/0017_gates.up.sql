-- Gates, rejections and who moved a deployment (issue 12).
--
-- A sign-off group may stand anywhere in a template: it attests to the
-- items above it (above: how many, in document order; 0 means all, as
-- for the sign-off block at the end) and, when its heading says
-- Go/No-Go, is signed before the deployment goes live.
ALTER TABLE deployment_slots
    ADD COLUMN above    integer NOT NULL DEFAULT 0 CHECK (above >= 0),
    ADD COLUMN go_no_go boolean NOT NULL DEFAULT false;

-- The final approval is the template's last group, declared by where it
-- stands; it used to be guessed from a name holding "final". Deployments
-- still open take the declared rule: the slots of their last group.
UPDATE deployment_slots ds SET final = NOT EXISTS (
    SELECT 1 FROM deployment_slots o
    WHERE o.deployment_id = ds.deployment_id AND o.position > ds.position
      AND o.group_name <> ds.group_name)
FROM deployments d
WHERE d.id = ds.deployment_id AND d.locked_at IS NULL AND d.status <> 'aborted';

-- A role holder's refusal of their slot, with what they want changed. It
-- stands (ended_at NULL) until the same person withdraws it or signs;
-- one stands per slot at most. audit_seq is its signoff.reject event.
CREATE TABLE signoff_rejections (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    deployment_id bigint      NOT NULL,
    slot          integer     NOT NULL,
    user_id       bigint      NOT NULL REFERENCES users (id),
    user_name     text        NOT NULL,
    comment       text        NOT NULL CHECK (comment <> ''),
    created_at    timestamptz NOT NULL,
    audit_seq     bigint      NOT NULL,
    ended_at      timestamptz,
    end_reason    text CHECK (end_reason IN ('withdrawn', 'signed')),
    FOREIGN KEY (deployment_id, slot) REFERENCES deployment_slots (deployment_id, position),
    CHECK ((ended_at IS NULL) = (end_reason IS NULL))
);
CREATE UNIQUE INDEX signoff_rejections_standing ON signoff_rejections (deployment_id, slot)
    WHERE ended_at IS NULL;
CREATE INDEX signoff_rejections_deployment ON signoff_rejections (deployment_id);

-- Who aborted a deployment and why, for the page; the audit event has
-- said so all along, and fills them in for deployments aborted before.
ALTER TABLE deployments
    ADD COLUMN aborted_by   bigint REFERENCES users (id),
    ADD COLUMN abort_reason text;
UPDATE deployments d SET aborted_by = e.actor_id, abort_reason = e.payload::jsonb #>> '{after,reason}'
FROM audit_events e
WHERE e.deployment_id = d.id AND d.status = 'aborted' AND e.action = 'deployment.status'
  AND e.payload::jsonb #>> '{after,status}' = 'aborted';

-- A request for changes is news to the deployment's owner.
ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check,
    ADD CONSTRAINT notifications_kind_check CHECK (kind IN ('signable', 'stale', 'overdue', 'rejected'));
