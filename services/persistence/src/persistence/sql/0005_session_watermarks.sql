-- Per server, the position of the latest join, leave or server start/stop event whose effect on
-- player_sessions is stored: its LifecycleEvent.sort_key (time; logged lines before synthesised
-- events at equal times; then log position; then id). A batch whose new lifecycle events all
-- come after it continues from the open sessions instead of re-reading the events it just
-- wrote (persistence.session_store, docs/persistence.md "Sessions"). Written only under the
-- server's advisory lock, in the transaction that stores the events.
CREATE TABLE session_watermarks (
    server        text        PRIMARY KEY,
    observed_at   timestamptz NOT NULL,
    synthesised   boolean     NOT NULL,
    generation    integer     NOT NULL,
    source_offset bigint      NOT NULL,
    event_id      text        NOT NULL
);
