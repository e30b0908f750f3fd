-- A section's counts move once per statement, not once per item: a batch
-- of ticks (tick_line.go) or a parent's N/A changes several items in one
-- UPDATE, and each item ran its own trigger and its own UPDATE of
-- deployment_progress. Now the statement's changed rows, old and new, are
-- counted together and each section touched is updated once.
--
-- Transition tables cannot be named by a trigger on a column list, so it
-- fires after every UPDATE of deployment_items; one that changes no state
-- (an assignment) joins its rows and updates nothing. Items never move
-- between deployments or sections, nor gain or lose children
-- (deployment_items_fixed_place), so the new row's place is the old one's.
DROP TRIGGER deployment_items_progress_move ON deployment_items;

CREATE OR REPLACE FUNCTION deployment_progress_move() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE deployment_progress p
    SET done = p.done + m.done,
        na   = p.na + m.na
    FROM (
        SELECT n.deployment_id, n.phase, n.section,
               sum((n.state = 'done')::int - (o.state = 'done')::int) AS done,
               sum((n.state = 'na')::int - (o.state = 'na')::int) AS na
        FROM moved_new n
        JOIN moved_old o ON o.id = n.id
        WHERE o.state IS DISTINCT FROM n.state AND NOT n.has_children
        GROUP BY n.deployment_id, n.phase, n.section
    ) m
    WHERE p.deployment_id = m.deployment_id AND p.phase = m.phase AND p.section = m.section;
    RETURN NULL;
END
$$;

CREATE TRIGGER deployment_items_progress_move
    AFTER UPDATE ON deployment_items
    REFERENCING OLD TABLE AS moved_old NEW TABLE AS moved_new
    FOR EACH STATEMENT EXECUTE FUNCTION deployment_progress_move();
