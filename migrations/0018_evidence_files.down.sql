DROP INDEX deployment_items_assigned_role_idx;
DROP INDEX deployment_items_assigned_user_idx;
ALTER TABLE deployment_items
    DROP CONSTRAINT deployment_items_one_assignee,
    DROP COLUMN assigned_role_id,
    DROP COLUMN assigned_user_id;
DROP TABLE evidence_files;
