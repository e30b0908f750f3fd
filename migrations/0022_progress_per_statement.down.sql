DROP TRIGGER deployment_items_progress_move ON deployment_items;

CREATE OR REPLACE FUNCTION deployment_progress_move() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE deployment_progress
    SET done = done + (NEW.state = 'done')::int - (OLD.state = 'done')::int,
        na   = na   + (NEW.state = 'na')::int   - (OLD.state = 'na')::int
    WHERE deployment_id = NEW.deployment_id AND phase = NEW.phase AND section = NEW.section;
    RETURN NULL;
END
$$;

CREATE TRIGGER deployment_items_progress_move
    AFTER UPDATE OF state ON deployment_items
    FOR EACH ROW
    WHEN (OLD.state IS DISTINCT FROM NEW.state AND NOT NEW.has_children)
    EXECUTE FUNCTION deployment_progress_move();
