-- Who asked, as two parties saw it (issue 13, "who asked"): the rcon-poller writes one audit
-- record per game-changing operation it carries out, with `service` = the NATS identity of
-- the service that requested it (the caller token of isr.rcon.<server>.<caller>, which the
-- authorisation config lets no service forge) and `requested_by` = the user that service
-- names (e.g. discord:<user id>, its claim). `request_id` links it to the bot's own record of
-- the same action (id discord:<interaction id>). The poller knows no Discord id or name, so
-- actor_id and actor_name may be NULL; the bot's rows still fill them. Existing rows keep NULL
-- in the new columns.
ALTER TABLE audit_log
    ADD COLUMN service      text NULL,
    ADD COLUMN requested_by text NULL,
    ADD COLUMN request_id   text NULL,
    ALTER COLUMN actor_id   DROP NOT NULL,
    ALTER COLUMN actor_name DROP NOT NULL;
CREATE INDEX audit_log_service_time ON audit_log (service, at DESC) WHERE service IS NOT NULL;
