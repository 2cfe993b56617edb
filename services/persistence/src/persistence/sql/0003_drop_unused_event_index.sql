-- events_server_order (server, generation, source_offset) came with 0001 for reading a server's
-- events in log order, but no query does: recent_events orders by observed_at and reads
-- events_server_time / events_server_type_time / events_player, sessions read
-- events_server_type_time, retention the BRIN index. Every insert paid for it all the same
-- (about 15 % of Postgres' CPU per inserted event, docs/performance.md).
DROP INDEX IF EXISTS events_server_order;
