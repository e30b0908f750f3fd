-- The write floor of the load generator (docs/performance.md): one
-- single-row INSERT per request, the cheapest durable write there is, so
-- every other figure can be read as a ratio to it. Only written to when
-- LOAD_FLOORS=true.
CREATE TABLE load_floor (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id bigint      NOT NULL,
    at      timestamptz NOT NULL DEFAULT now()
);
