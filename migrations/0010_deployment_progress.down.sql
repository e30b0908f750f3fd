DROP TRIGGER deployment_items_no_delete ON deployment_items;
DROP TRIGGER deployment_items_fixed_place ON deployment_items;
DROP TRIGGER deployment_items_progress_move ON deployment_items;
DROP TRIGGER deployment_items_progress_add ON deployment_items;
DROP FUNCTION deployment_items_fixed_place();
DROP FUNCTION deployment_progress_move();
DROP FUNCTION deployment_progress_add();
DROP INDEX deployment_items_due_idx;
DROP TABLE deployment_progress;
