-- Who is looking at which deployment, across all app instances. Each
-- instance refreshes its rows; rows it stops refreshing (a crash) age out.
CREATE UNLOGGED TABLE live_viewers (
    instance      text        NOT NULL,
    connection    bigint      NOT NULL,
    deployment_id bigint      NOT NULL,
    user_id       bigint      NOT NULL,
    user_name     text        NOT NULL,
    seen_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (instance, connection)
);
CREATE INDEX live_viewers_deployment_idx ON live_viewers (deployment_id, seen_at);
