-- History beyond events: metric samples and their per-minute and per-hour roll-ups, alerts,
-- player sessions and the audit log; indexes on events for the query API and retention.
--
-- High-volume tables (metric_samples, metric_minute) are range-partitioned by UTC day; the
-- service creates each day's partition before writing to it and retention drops whole
-- partitions. The other tables are small enough that retention deletes in bounded chunks.
-- events keeps its single-column primary key on the source id (see docs/persistence.md, "Why
-- events are not partitioned").

-- Recent events of a server, newest first; and time-ordered scans for retention.
CREATE INDEX events_server_time ON events (server, observed_at DESC);
CREATE INDEX events_observed_brin ON events USING brin (observed_at);

-- One row per sample. The sample id is <server>:metric:<sampled_at ms>, so the key
-- (server, sampled_at) is the source id; redelivered samples are skipped.
CREATE TABLE metric_samples (
    server         text             NOT NULL,
    sampled_at     timestamptz      NOT NULL,
    id             text             NOT NULL,
    player_count   integer          NOT NULL,
    players_online text[]           NOT NULL DEFAULT '{}',
    ups            double precision NULL,      -- NULL while paused, unknown or RCON down
    ups_target     double precision NOT NULL,
    is_paused      boolean          NOT NULL,
    rcon_up        boolean          NOT NULL,
    game_time_s    double precision NULL,
    tick           bigint           NULL,
    evolution      jsonb            NULL,      -- {"nauvis": 0.42, ...}
    version        text             NULL,
    PRIMARY KEY (server, sampled_at)
) PARTITION BY RANGE (sampled_at);

-- Roll-ups keep sums and counts (not averages) so that adding newly inserted samples is exact.
-- Only samples taken while RCON was up are rolled up.
CREATE TABLE metric_minute (
    server         text             NOT NULL,
    bucket         timestamptz      NOT NULL,  -- start of the UTC minute
    samples        integer          NOT NULL,
    ups_samples    integer          NOT NULL,  -- samples that had a UPS value
    ups_sum        double precision NOT NULL,
    ups_min        double precision NULL,
    ups_max        double precision NULL,
    players_sum    bigint           NOT NULL,
    players_max    integer          NOT NULL,
    paused_samples integer          NOT NULL,
    PRIMARY KEY (server, bucket)
) PARTITION BY RANGE (bucket);

-- Same columns and key; small enough (24 rows per server per day) to stay unpartitioned.
CREATE TABLE metric_hour (LIKE metric_minute INCLUDING ALL);
CREATE INDEX metric_hour_bucket ON metric_hour (bucket);

CREATE TABLE alerts (
    id         text        PRIMARY KEY,
    server     text        NOT NULL,
    type       text        NOT NULL,
    severity   text        NOT NULL,
    raised_at  timestamptz NOT NULL,
    summary    text        NOT NULL,
    details    jsonb       NOT NULL DEFAULT '{}'::jsonb,
    stored_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX alerts_server_time ON alerts (server, raised_at DESC);
CREATE INDEX alerts_time ON alerts (raised_at DESC);

-- Derived from join, leave and server start/stop events (persistence.sessions). The id is the
-- id of the join event that opened the session.
CREATE TABLE player_sessions (
    id              text        PRIMARY KEY,
    server          text        NOT NULL,
    player          text        NOT NULL,
    joined_at       timestamptz NOT NULL,
    left_at         timestamptz NULL,           -- NULL while the session is open
    duration_s      double precision GENERATED ALWAYS AS
                        (extract(epoch FROM (left_at - joined_at))::double precision) STORED,
    ended_by        text        NULL,
    join_reconciled boolean     NOT NULL DEFAULT false,
    leave_event_id  text        NULL,
    CONSTRAINT player_sessions_ended_by CHECK
        (ended_by IN ('logged', 'reconciled', 'server_stopped', 'server_restarted')),
    CONSTRAINT player_sessions_open_or_ended CHECK ((left_at IS NULL) = (ended_by IS NULL)),
    CONSTRAINT player_sessions_order CHECK (left_at IS NULL OR left_at >= joined_at)
);
CREATE INDEX player_sessions_server_joined ON player_sessions (server, joined_at);
CREATE INDEX player_sessions_player ON player_sessions (lower(player), joined_at DESC);
CREATE INDEX player_sessions_open ON player_sessions (server) WHERE left_at IS NULL;
CREATE INDEX player_sessions_age ON player_sessions ((coalesce(left_at, joined_at)));

CREATE TABLE audit_log (
    id          text        PRIMARY KEY,
    at          timestamptz NOT NULL,
    actor_id    bigint      NOT NULL,
    actor_name  text        NOT NULL,
    guild_id    bigint      NULL,
    channel_id  bigint      NULL,
    server      text        NOT NULL,
    operation   text        NOT NULL,
    parameters  jsonb       NOT NULL DEFAULT '{}'::jsonb,
    result      text        NOT NULL,
    detail      text        NULL,
    stored_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_server_time ON audit_log (server, at DESC);
CREATE INDEX audit_log_actor_time ON audit_log (actor_id, at DESC);
CREATE INDEX audit_log_time ON audit_log (at);
