-- Checklist templates. A version is immutable: its Markdown source is the
-- definition, and editing a template inserts a new version.

CREATE TABLE templates (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug       text        NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    title      text        NOT NULL CHECK (title <> ''),
    -- Small teams may let one person sign several slots (rule 4 relaxed).
    allow_multiple_slots boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE template_versions (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    template_id bigint      NOT NULL REFERENCES templates (id),
    version     integer     NOT NULL CHECK (version > 0),
    source      text        NOT NULL,
    source_hash bytea       NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    created_by  bigint      REFERENCES users (id),
    UNIQUE (template_id, version)
);
