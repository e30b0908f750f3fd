-- Each section's task counts, kept by triggers on deployment_items, so that
-- a tick's answer reads one short row per section instead of counting every
-- item of the deployment (222 for the seed checklist) after every change.
-- Triggers rather than the application keep them, so that every statement
-- that changes an item's state, now or later, keeps them right.
-- No item may change state from here until the counts below are taken
-- and the triggers keep them (the migration is one transaction).
LOCK TABLE deployment_items IN SHARE ROW EXCLUSIVE MODE;

CREATE TABLE deployment_progress (
    deployment_id bigint  NOT NULL REFERENCES deployments (id),
    phase         integer NOT NULL,
    section       integer NOT NULL,
    tasks         integer NOT NULL, -- leaves: the items one ticks
    done          integer NOT NULL,
    na            integer NOT NULL,
    PRIMARY KEY (deployment_id, phase, section),
    CHECK (done >= 0 AND na >= 0 AND done + na <= tasks)
);

-- Overdue tasks depend on the clock, so they are counted when read, from
-- the few tasks that have a deadline.
CREATE INDEX deployment_items_due_idx ON deployment_items (deployment_id)
    WHERE due_after IS NOT NULL AND NOT has_children;

-- Items are added in bulk when a deployment is created: one statement, one
-- trigger call.
CREATE FUNCTION deployment_progress_add() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO deployment_progress AS p (deployment_id, phase, section, tasks, done, na)
    SELECT deployment_id, phase, section, count(*),
           count(*) FILTER (WHERE state = 'done'),
           count(*) FILTER (WHERE state = 'na')
    FROM added
    WHERE NOT has_children
    GROUP BY deployment_id, phase, section
    ON CONFLICT (deployment_id, phase, section) DO UPDATE
    SET tasks = p.tasks + excluded.tasks,
        done  = p.done + excluded.done,
        na    = p.na + excluded.na;
    RETURN NULL;
END
$$;

CREATE TRIGGER deployment_items_progress_add
    AFTER INSERT ON deployment_items
    REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION deployment_progress_add();

-- A change of state moves one task between counts. An item's deployment,
-- section and children never change after it is created (the trigger
-- below refuses it), so only its state is looked at.
CREATE FUNCTION deployment_progress_move() RETURNS trigger
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

CREATE FUNCTION deployment_items_fixed_place() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'an item''s deployment, phase, section and children are fixed when it is created';
END
$$;

CREATE TRIGGER deployment_items_fixed_place
    BEFORE UPDATE OF deployment_id, phase, section, has_children ON deployment_items
    FOR EACH ROW
    WHEN ((OLD.deployment_id, OLD.phase, OLD.section, OLD.has_children)
          IS DISTINCT FROM (NEW.deployment_id, NEW.phase, NEW.section, NEW.has_children))
    EXECUTE FUNCTION deployment_items_fixed_place();

CREATE TRIGGER deployment_items_no_delete
    BEFORE DELETE ON deployment_items
    FOR EACH ROW EXECUTE FUNCTION deployment_items_fixed_place();

-- Count what is there (no item has changed since the lock above).
INSERT INTO deployment_progress (deployment_id, phase, section, tasks, done, na)
SELECT deployment_id, phase, section, count(*),
       count(*) FILTER (WHERE state = 'done'),
       count(*) FILTER (WHERE state = 'na')
FROM deployment_items
WHERE NOT has_children
GROUP BY deployment_id, phase, section;
