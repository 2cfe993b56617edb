-- Game events parsed from console logs. One row per event; the id is the stable source id
-- (<server>:<file-id>:<offset>), so redelivered events are skipped, never doubled.
CREATE TABLE events (
    id            text PRIMARY KEY,
    server        text        NOT NULL,
    type          text        NOT NULL,
    ts            timestamp   NULL,       -- the game's own date prefix: local time, no zone
    observed_at   timestamptz NOT NULL,   -- when the pipeline read the line
    player        text        NULL,
    message       text        NULL,
    data          jsonb       NOT NULL DEFAULT '{}'::jsonb,
    raw           text        NOT NULL DEFAULT '',
    file_id       text        NULL,
    generation    integer     NULL,
    source_offset bigint      NULL,
    pattern       text        NULL,
    flags         text[]      NOT NULL DEFAULT '{}'
);

-- History queries read one server's events in exact log order.
CREATE INDEX events_server_order ON events (server, generation, source_offset);
CREATE INDEX events_server_type_time ON events (server, type, observed_at DESC);
CREATE INDEX events_player ON events (lower(player), observed_at DESC) WHERE player IS NOT NULL;
