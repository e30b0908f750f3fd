DELETE FROM notifications WHERE kind = 'rejected';
ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check,
    ADD CONSTRAINT notifications_kind_check CHECK (kind IN ('signable', 'stale', 'overdue'));
ALTER TABLE deployments DROP COLUMN abort_reason, DROP COLUMN aborted_by;
DROP TABLE signoff_rejections;
ALTER TABLE deployment_slots DROP COLUMN go_no_go, DROP COLUMN above;
