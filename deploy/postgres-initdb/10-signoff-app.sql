-- The role the app serves as: it owns nothing, and the app grants it, as
-- the owner (MIGRATE_DATABASE_URL), only what it needs; it cannot change
-- the audit log. Runs once, when the database volume is first made; for an
-- older volume, run it by hand (docker compose exec db psql -U signoff).
CREATE ROLE signoff_app LOGIN PASSWORD 'signoff_app';
