"""The authorisation model as data: who may publish and subscribe to what (pure).

The same refusals are proven against a real nats-server in tests/test_nats_permissions.py; here
the model itself is checked with a NATS subject matcher, so a widened allow list fails at once.
"""

from __future__ import annotations

import pytest

from common import access
from common.topology import Topology

TOPO = Topology("isr")
SERVERS = ["beta", "alpha"]
MODEL = {a.identity: a for a in access.access_model(TOPO, SERVERS)}


def matches(pattern: str, subject: str) -> bool:
    """NATS subject matching: ``*`` is one token, a final ``>`` one or more."""
    p, s = pattern.split("."), subject.split(".")
    for i, token in enumerate(p):
        if token == ">":
            return len(s) > i
        if i >= len(s) or (token not in ("*", s[i])):
            return False
    return len(p) == len(s)


def may_publish(identity: str, subject: str) -> bool:
    """What nats-server decides: allowed by some allow entry and by no deny entry."""
    perms = MODEL[identity].publish
    return any(matches(a, subject) for a in perms.allow) and not any(
        matches(d, subject) for d in perms.deny
    )


def may_subscribe(identity: str, subject: str) -> bool:
    """Subscribing to ``subject`` (a literal or a wildcard) is covered by an allow entry."""
    perms = MODEL[identity].subscribe
    covered = any(a == subject or matches(a, subject) for a in perms.allow)
    return covered and not any(matches(d, subject) or d == subject for d in perms.deny)


def test_identities_are_a_tailer_per_server_then_the_services():
    """Tailers sorted by server, then parser, persistence, rcon-poller, bot, web and watch."""
    assert list(MODEL) == [
        "tailer-alpha",
        "tailer-beta",
        "parser",
        "persistence",
        "rcon-poller",
        "bot",
        "web",
        "watch",
    ]
    assert access.identities(SERVERS) == list(MODEL)


def test_the_parser_cannot_publish_anything_privileged():
    """RCON, raw lines, audit, metrics and queries are refused; events and its DLQ allowed."""
    for subject in (
        "isr.rcon.alpha.bot",
        "isr.rcon.alpha",
        "isr.raw.alpha",
        "isr.audit.alpha",
        "isr.metrics.alpha",
        "isr.query.last_seen.bot",
        "isr.dlq.bot",
        "$KV.isr_offsets.alpha",
    ):
        assert not may_publish("parser", subject), subject
    assert may_publish("parser", "isr.events.alpha.chat")
    assert may_publish("parser", "isr.events.alpha.alert.ups_low")
    assert may_publish("parser", "isr.dlq.parser")


@pytest.mark.parametrize("identity", list(MODEL))
def test_only_the_bot_and_web_request_rcon_and_queries_each_as_itself(identity):
    """``<prefix>.rcon.<server>.<caller>``: a caller's token is publishable by that caller only."""
    for caller in ("bot", "web", "parser", "watch"):
        expected = identity == caller and caller in access.CALLERS
        assert may_publish(identity, f"isr.rcon.alpha.{caller}") is expected
        assert may_publish(identity, f"isr.query.history.{caller}") is expected


@pytest.mark.parametrize("identity", list(MODEL))
def test_only_persistence_serves_queries_and_only_the_poller_serves_rcon(identity):
    """Subscribing to the request subjects is theirs alone, and they may answer them."""
    assert may_subscribe(identity, "isr.query.*.*") is (identity == "persistence")
    assert may_subscribe(identity, "isr.rcon.*.*") is (identity == "rcon-poller")
    assert MODEL[identity].allow_responses is (identity in ("persistence", "rcon-poller"))


@pytest.mark.parametrize("identity", list(MODEL))
def test_only_a_servers_own_tailer_publishes_its_raw_lines_and_checkpoint(identity):
    """tailer-alpha: alpha's raw subject and its checkpoint key; nobody else either."""
    assert may_publish(identity, "isr.raw.alpha") is (identity == "tailer-alpha")
    assert may_publish(identity, "$KV.isr_offsets.alpha") is (identity == "tailer-alpha")
    assert may_publish(identity, "isr.raw.beta") is (identity == "tailer-beta")


@pytest.mark.parametrize("identity", list(MODEL))
def test_everyone_reads_its_own_replies_and_never_changes_streams(identity):
    """Own inbox only; no STREAM.UPDATE, DELETE or PURGE, and no consumer deletion."""
    assert may_subscribe(identity, f"_INBOX.{identity}.>")
    other = "web" if identity != "web" else "bot"
    assert not may_subscribe(identity, f"_INBOX.{other}.>")
    assert not may_subscribe(identity, "_INBOX.>")
    for call in ("STREAM.UPDATE", "STREAM.DELETE", "STREAM.PURGE", "CONSUMER.DELETE"):
        assert not may_publish(identity, f"$JS.API.{call}.ISR_EVENTS"), call


def test_durables_are_pulled_and_acked_by_their_service_only():
    """The parser's durable: created, pulled and acked by the parser; the bot cannot ack it."""
    for subject in (
        "$JS.API.CONSUMER.DURABLE.CREATE.ISR_RAW.parser",
        "$JS.API.CONSUMER.CREATE.ISR_RAW.parser",
        "$JS.API.CONSUMER.MSG.NEXT.ISR_RAW.parser",
        "$JS.ACK.ISR_RAW.parser.1.2.3.4.5",
    ):
        assert may_publish("parser", subject), subject
        assert not may_publish("bot", subject), subject
    assert may_publish("bot", "$JS.ACK.ISR_EVENTS.bot.1.2.3.4.5")
    assert not may_publish("bot", "$JS.ACK.ISR_EVENTS.persistence-events.1.2.3.4.5")


def test_watch_only_reads_events():
    """Watch creates ordered consumers on the events stream; no stream, no durable, no write."""
    allowed = set(MODEL["watch"].publish.allow)
    assert allowed == {
        "$JS.API.STREAM.INFO.ISR_EVENTS",
        "$JS.API.STREAM.NAMES",
        "$JS.API.CONSUMER.CREATE.ISR_EVENTS",
        "$JS.FC.ISR_EVENTS.>",
    }
    assert MODEL["watch"].streams == ()


def test_each_service_sets_up_the_streams_and_buckets_it_uses():
    """Streams and buckets per identity: what ServiceRuntime creates and checks."""
    t = TOPO
    assert MODEL["tailer-alpha"].streams == (t.raw_stream,)
    assert MODEL["tailer-alpha"].buckets == ("offsets",)
    assert set(MODEL["parser"].streams) == {t.raw_stream, t.events_stream, t.dead_letter_stream}
    assert set(MODEL["persistence"].streams) == {
        t.events_stream,
        t.metrics_stream,
        t.audit_stream,
        t.dead_letter_stream,
    }
    assert set(MODEL["rcon-poller"].buckets) == {"leases", "alert_state"}
    assert set(MODEL["bot"].buckets) == {"relay", "user_context"}
    for entry in MODEL.values():  # STREAM.CREATE is allowed exactly for what it sets up
        creates = {
            s.removeprefix("$JS.API.STREAM.CREATE.")
            for s in entry.publish.allow
            if s.startswith("$JS.API.STREAM.CREATE.")
        }
        assert creates == {*entry.streams, *(f"KV_{t.bucket(b)}" for b in entry.buckets)}


def test_access_for_derives_a_tailer_from_its_name_and_knows_no_stranger():
    """A tailer's entry needs no server list; an unknown identity has none."""
    assert access.access_for(TOPO, "tailer-gamma") == access.access_model(TOPO, ["gamma"])[0]
    assert access.access_for(TOPO, "parser") == MODEL["parser"]
    assert access.access_for(TOPO, "test-service") is None
    assert access.access_for(TOPO, "tailer-") is None


def test_every_name_follows_the_prefix():
    """Another prefix gives another installation's subjects and streams, no overlap."""
    other = {a.identity: a for a in access.access_model(Topology("prod"), ["alpha"])}
    assert "prod.raw.alpha" in other["tailer-alpha"].publish.allow
    assert "$JS.API.STREAM.CREATE.PROD_RAW" in other["tailer-alpha"].publish.allow
    everything = [s for a in other.values() for s in (*a.publish.allow, *a.subscribe.allow)]
    assert not any(".isr." in f".{s}" or "ISR_" in s or "isr_" in s for s in everything)


class TestServerConfig:
    """The nats-server ``authorization`` block."""

    def test_every_identity_needs_a_user(self):
        """A model entry without a user is an error, not a user left out (or let in)."""
        model = access.access_model(TOPO, ["alpha"])
        with pytest.raises(ValueError, match="no user for parser"):
            access.render_server_config(model, {"tailer-alpha": access.NkeyUser("UA")})

    def test_users_permissions_and_responses(self):
        """NKey variables are unquoted (resolved by the server), subjects quoted."""
        model = access.access_model(TOPO, ["alpha"])
        text = access.render_server_config(model, access.env_nkey_users(model), header="hi")
        assert text.startswith("# hi\nauthorization {\n  users: [\n")
        assert "nkey: $ISR_NKEY_TAILER_ALPHA\n" in text
        assert "nkey: $ISR_NKEY_RCON_POLLER\n" in text
        assert '"isr.raw.alpha"' in text
        assert text.count("allow_responses: true") == 2
        assert "no_auth_user" not in text
        assert "default_permissions" not in text

    def test_password_users(self):
        """User and password; a literal password is quoted, a variable is not."""
        model = access.access_model(TOPO, [])
        text = access.render_server_config(model, access.env_password_users(model))
        assert 'user: "parser"\n      password: $ISR_PASSWORD_PARSER\n' in text
        users = dict.fromkeys(MODEL, access.PasswordUser("u", 'p"w'))
        text = access.render_server_config(model, users)
        assert 'password: "p\\"w"' in text


def test_nsc_script_adds_one_user_per_identity():
    """``nsc add user`` per identity, subjects single-quoted, responses for the responders."""
    model = access.access_model(TOPO, ["alpha"])
    script = access.render_nsc_script(model, account="ACME")
    assert script.startswith("#!/bin/sh\n")
    assert "ACCOUNT=${ACCOUNT:-ACME}" in script
    assert script.count("nsc add user") == len(model)
    assert "--name 'tailer-alpha'" in script
    assert "--allow-pub 'isr.raw.alpha,$JS.API.STREAM.INFO.ISR_RAW," in script
    assert script.count("--allow-pub-response=1") == 2


def test_the_security_page_explains_every_identity():
    """docs/security.md has a row and a reason for each identity of the model."""
    from pathlib import Path  # noqa: PLC0415

    page = (Path(__file__).resolve().parents[3] / "docs" / "security.md").read_text()
    for identity in ("tailer-<server>", *access.SERVICE_IDENTITIES):
        assert f"| `{identity}`" in page, identity
