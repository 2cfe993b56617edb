-- Player sessions in log order with log times (docs/persistence.md, "Sessions").
--
-- 1. events.ts becomes timestamptz: the parser now sends each line's date as an instant (read
--    in the server's log_timezone). Rows stored before hold the log's zone-less local time and
--    are taken as UTC, the default zone. With the session's zone at UTC, Postgres (12+) changes
--    the type without rewriting the table.
SET LOCAL TimeZone = 'UTC';
ALTER TABLE events ALTER COLUMN ts TYPE timestamptz;

-- 2. Session derivation reads a server's lifecycle events from a log position on. Partial: only
--    join, leave and server start/stop rows pay for it on insert. The type list is spelt exactly
--    as persistence.session_store.LIFECYCLE_SQL, so the planner matches its queries to it.
CREATE INDEX events_lifecycle_position ON events (server, generation, source_offset)
    WHERE type IN ('join', 'leave', 'server_start', 'server_stopped', 'server_stopping');

-- 3. A synthesised (reconciled) event's row holds the log position it is placed after (its
--    generation and source_offset; file_id stays NULL). Those stored before this migration get
--    the position of the latest logged lifecycle event of their server read at or before them:
--    where the old time order applied them. One with no such event keeps no position and takes
--    no part in sessions.
UPDATE events AS r
SET (generation, source_offset) = (
    SELECT l.generation, l.source_offset FROM events AS l
    WHERE l.server = r.server AND l.file_id IS NOT NULL AND l.generation IS NOT NULL
      AND l.type IN ('join', 'leave', 'server_start', 'server_stopped', 'server_stopping')
      AND l.observed_at <= r.observed_at
    ORDER BY l.observed_at DESC, l.generation DESC, l.source_offset DESC
    LIMIT 1
)
WHERE r.file_id IS NULL AND r.generation IS NULL AND 'reconciled' = ANY(r.flags)
  AND r.type IN ('join', 'leave');

-- 4. Re-derivation finds the sessions that the re-read events closed by their closing event.
CREATE INDEX player_sessions_leave_event ON player_sessions (leave_event_id)
    WHERE leave_event_id IS NOT NULL;

-- 5. The watermark's key is now the log position first (generation, offset, synthesised, time,
--    id). Watermarks of the old shape (time first) cannot be converted, so they are dropped:
--    each server re-derives once, from its next batch's earliest position, then continues.
DROP TABLE session_watermarks;
CREATE TABLE session_watermarks (
    server        text        PRIMARY KEY,
    generation    integer     NOT NULL,
    source_offset bigint      NOT NULL,
    synthesised   boolean     NOT NULL,
    at            timestamptz NOT NULL,
    event_id      text        NOT NULL
);
