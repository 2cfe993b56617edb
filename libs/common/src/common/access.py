"""The authorisation model as data: who may publish and subscribe to what on NATS.

One :class:`Access` per identity (the NATS user a service connects as): the subjects it may
publish and subscribe to, whether it may answer requests (``allow_responses``), and the streams
and KV buckets it creates and checks at start. Everything derives from a
:class:`~common.topology.Topology` (the prefix) and the list of servers, so two installations
on one NATS account never overlap. This module is pure: the renderers return text, the
``isr nats-auth`` command prints it, and ``isr up`` feeds it to its own nats-server.

Identities: ``tailer-<server>`` (one per server), ``parser``, ``persistence``, ``rcon-poller``,
``bot``, ``web`` (the future dashboard: the bot's RCON, query and event-read rights under its
own caller token) and ``watch`` (``isr watch``: read-only events). Why each subject is needed
is told in ``docs/security.md``.

The JetStream API subjects are exactly those nats-py 2.16 uses for each call:

- stream creation / check: ``$JS.API.STREAM.INFO.<s>``, ``$JS.API.STREAM.CREATE.<s>`` (never
  UPDATE or DELETE: services create what is missing and leave the rest to the operator);
- a durable pull consumer: ``CONSUMER.INFO.<s>.<d>``, ``CONSUMER.DURABLE.CREATE.<s>.<d>``
  (first creation), ``CONSUMER.CREATE.<s>.<d>`` and ``CONSUMER.CREATE.<s>.<d>.>`` (the
  convergence of ack wait / max deliver sends the server's config back, which carries a name),
  ``CONSUMER.MSG.NEXT.<s>.<d>`` (pull requests), ``$JS.ACK.<s>.<d>.>`` (acks, naks, in-progress);
- an ordered (ephemeral push) consumer, as ``js.subscribe(..., ordered_consumer=True)`` makes
  it: ``STREAM.NAMES`` (the stream is looked up by subject), ``CONSUMER.CREATE.<s>`` and
  ``$JS.FC.<s>.>`` (flow-control replies);
- the last message of a subject: ``STREAM.MSG.GET.<s>``;
- a KV bucket ``b``: ``STREAM.INFO.KV_b`` / ``STREAM.CREATE.KV_b``, reads through
  ``STREAM.MSG.GET.KV_b`` (and ``DIRECT.GET.KV_b.$KV.b.<key>`` should an operator enable direct
  gets), writes by publishing ``$KV.b.<key>`` (put, create, update, delete are all publishes).

Replies to every request (JetStream API answers, pull deliveries, RCON and query answers) come
to ``_INBOX.<identity>.>``: :func:`common.runtime.inbox_prefix` sets that prefix on the
connection, so an identity can read its own replies only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from common.topology import Topology
from common.vocabulary import Caller

TAILER_PREFIX = "tailer-"
"""A tailer's identity is ``tailer-<server>``."""
BOT = Caller.BOT.value
WEB = Caller.WEB.value
WATCH = "watch"
CALLERS = (BOT, WEB)
"""The identities that may request RCON operations and history queries (the caller token
that ends an RCON or query subject)."""

SERVICE_IDENTITIES = ("parser", "persistence", "rcon-poller", BOT, WEB, WATCH)
"""Every identity besides the tailers, in the order they are rendered."""

DEFAULT_DURABLES: Mapping[str, Mapping[str, str]] = {
    "parser": {"raw": "parser"},
    "persistence": {
        "events": "persistence-events",
        "metrics": "persistence-metrics",
        "audit": "persistence-audit",
    },
    BOT: {"events": "bot"},
}
"""The durable consumers of each service, by stream (the services' default durable names;
renaming one through ``ISR_*_DURABLE`` needs a matching change here)."""


@dataclass(frozen=True, slots=True)
class Permissions:
    """One direction's subjects: allowed, and explicitly denied (deny wins in nats-server)."""

    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Access:
    """What one identity may do on NATS, and which streams and buckets it sets up."""

    identity: str
    purpose: str
    publish: Permissions
    subscribe: Permissions
    allow_responses: bool = False
    """It answers requests it received (the reply subject is allowed for one response)."""
    streams: tuple[str, ...] = ()
    """Streams it creates when missing and reports in its readiness check."""
    buckets: tuple[str, ...] = ()
    """KV buckets (short names, see :data:`common.topology.BUCKETS`) it creates when missing."""


@dataclass(slots=True)
class _Builder:
    """Collects one identity's subjects while the model is derived (keeps them unique)."""

    topology: Topology
    identity: str
    pub: list[str] = field(default_factory=list)
    sub: list[str] = field(default_factory=list)
    streams: list[str] = field(default_factory=list)
    buckets: list[str] = field(default_factory=list)

    def publish(self, *subjects: str) -> None:
        self.pub.extend(s for s in subjects if s not in self.pub)

    def subscribe(self, *subjects: str) -> None:
        self.sub.extend(s for s in subjects if s not in self.sub)

    def api(self, *calls: str) -> None:
        self.publish(*(f"$JS.API.{call}" for call in calls))

    def stream(self, stream: str, *, create: bool = True) -> None:
        """Check (and create when missing) one stream."""
        self.api(f"STREAM.INFO.{stream}")
        if create:
            self.api(f"STREAM.CREATE.{stream}")
            if stream not in self.streams:
                self.streams.append(stream)

    def durable(self, stream: str, durable: str) -> None:
        """Create, converge, pull from and acknowledge one durable pull consumer."""
        self.api(
            f"CONSUMER.INFO.{stream}.{durable}",
            f"CONSUMER.DURABLE.CREATE.{stream}.{durable}",
            f"CONSUMER.CREATE.{stream}.{durable}",
            f"CONSUMER.CREATE.{stream}.{durable}.>",
            f"CONSUMER.MSG.NEXT.{stream}.{durable}",
        )
        self.publish(f"$JS.ACK.{stream}.{durable}.>")

    def ordered(self, stream: str) -> None:
        """Read a stream through ordered (ephemeral push) consumers."""
        self.api("STREAM.NAMES", f"CONSUMER.CREATE.{stream}")
        self.publish(f"$JS.FC.{stream}.>")

    def last_message(self, stream: str) -> None:
        self.api(f"STREAM.MSG.GET.{stream}")

    def bucket(self, name: str, keys: Sequence[str] | None = None) -> None:
        """Create and use one KV bucket; writes only to ``keys`` when given (else any key)."""
        bucket = self.topology.bucket(name)
        self.stream(f"KV_{bucket}", create=False)
        self.api(f"STREAM.CREATE.KV_{bucket}", f"STREAM.MSG.GET.KV_{bucket}")
        # `>`: keys may have several tokens (the relay's are `<server>.<channel>`).
        wanted = [">"] if keys is None else list(keys)
        self.api(*(f"DIRECT.GET.KV_{bucket}.$KV.{bucket}.{key}" for key in wanted))
        self.publish(*(f"$KV.{bucket}.{key}" for key in wanted))
        if name not in self.buckets:
            self.buckets.append(name)

    def build(self, purpose: str, *, allow_responses: bool = False) -> Access:
        self.subscribe(f"_INBOX.{self.identity}.>")
        return Access(
            identity=self.identity,
            purpose=purpose,
            publish=Permissions(tuple(self.pub), _denied(self.topology, self.pub, publish=True)),
            subscribe=Permissions(tuple(self.sub), _denied(self.topology, self.sub, publish=False)),
            allow_responses=allow_responses,
            streams=tuple(self.streams),
            buckets=tuple(self.buckets),
        )


def _families(topology: Topology, *, publish: bool) -> list[str]:
    p = topology.prefix
    mine = [
        f"{p}.{kind}.>" for kind in ("raw", "events", "metrics", "audit", "dlq", "rcon", "query")
    ]
    if publish:
        return [
            *mine,
            "$KV.>",
            "$JS.API.STREAM.UPDATE.>",
            "$JS.API.STREAM.DELETE.>",
            "$JS.API.STREAM.PURGE.>",
            "$JS.API.CONSUMER.DELETE.>",
        ]
    # A subscription to the API or KV subjects would see other clients' requests and writes.
    return [*mine, "$KV.>", "$JS.>"]


def _denied(topology: Topology, allowed: Iterable[str], *, publish: bool) -> tuple[str, ...]:
    """The pipeline's subject families none of ``allowed`` falls in: denied outright.

    Redundant with the allow list (nats-server refuses whatever is not allowed), but it states
    the required refusals in the config itself and survives an operator widening ``allow``.
    A family that overlaps an allowed subject is left out, because deny wins over allow.
    """
    allowed = list(allowed)
    return tuple(
        family
        for family in _families(topology, publish=publish)
        if not any(subject.startswith(family[:-1]) for subject in allowed)
    )


def tailer_identity(server: str) -> str:
    """The identity of one server's tailer."""
    return f"{TAILER_PREFIX}{server}"


def _tailer(topology: Topology, server: str) -> Access:
    b = _Builder(topology, tailer_identity(server))
    b.publish(topology.raw_subject(server))
    b.stream(topology.raw_stream)
    b.last_message(topology.raw_stream)  # resume after the last batch the stream holds
    b.bucket("offsets", keys=[server])  # the checkpoint key is the server tag
    return b.build(f"publishes the raw log lines of server {server} and its checkpoint")


def _parser(topology: Topology) -> Access:
    b = _Builder(topology, "parser")
    b.publish(topology.events_filter(), topology.dead_letter_subject("parser"))
    for stream in (topology.raw_stream, topology.events_stream, topology.dead_letter_stream):
        b.stream(stream)
    b.durable(topology.raw_stream, DEFAULT_DURABLES["parser"]["raw"])
    return b.build("turns raw lines into events and alerts")


def _persistence(topology: Topology) -> Access:
    b = _Builder(topology, "persistence")
    durables = DEFAULT_DURABLES["persistence"]
    b.publish(topology.dead_letter_subject("persistence"))
    for stream in (topology.events_stream, topology.metrics_stream, topology.audit_stream):
        b.stream(stream)
    b.stream(topology.dead_letter_stream)
    b.durable(topology.events_stream, durables["events"])
    b.durable(topology.metrics_stream, durables["metrics"])
    b.durable(topology.audit_stream, durables["audit"])
    b.subscribe(f"{topology.prefix}.query.*.*")  # serves every query of every caller
    return b.build(
        "writes events, metrics and audit records to Postgres; serves queries",
        allow_responses=True,
    )


def _poller(topology: Topology) -> Access:
    b = _Builder(topology, "rcon-poller")
    # Audit: the poller's own record of each game-changing operation, naming the caller
    # from the request subject (the one the caller cannot forge).
    b.publish(
        topology.events_filter(), f"{topology.prefix}.metrics.*", f"{topology.prefix}.audit.*"
    )
    b.stream(topology.events_stream)
    b.stream(topology.metrics_stream)
    b.stream(topology.audit_stream)
    b.last_message(topology.events_stream)  # presence: where the history ends
    b.ordered(topology.events_stream)  # presence: joins, leaves, server restarts
    b.bucket("leases")
    b.bucket("alert_state")
    b.subscribe(f"{topology.prefix}.rcon.*.*")  # serves every server's operations, any caller
    return b.build(
        "polls servers over RCON; serves the allow-listed RCON operations",
        allow_responses=True,
    )


def _caller(topology: Topology, identity: str) -> _Builder:
    """The rights the bot and the web dashboard share: ask, audit, read events and metrics."""
    b = _Builder(topology, identity)
    p = topology.prefix
    b.publish(f"{p}.rcon.*.{identity}", f"{p}.query.*.{identity}", f"{p}.audit.*")
    b.stream(topology.events_stream)
    b.stream(topology.metrics_stream)
    b.stream(topology.audit_stream)
    b.ordered(topology.metrics_stream)
    return b


def _bot(topology: Topology) -> Access:
    b = _caller(topology, BOT)
    b.publish(topology.dead_letter_subject(BOT))
    b.stream(topology.dead_letter_stream)
    b.durable(topology.events_stream, DEFAULT_DURABLES[BOT]["events"])
    b.bucket("relay")
    b.bucket("user_context")
    return b.build("Discord: relays events, runs commands through RCON and queries")


def _web(topology: Topology) -> Access:
    b = _caller(topology, WEB)
    b.ordered(topology.events_stream)
    b.last_message(topology.events_stream)
    b.last_message(topology.metrics_stream)
    return b.build("the web dashboard: the bot's RCON, query and event-read rights")


def _watch(topology: Topology) -> Access:
    b = _Builder(topology, WATCH)
    b.stream(topology.events_stream, create=False)
    b.ordered(topology.events_stream)
    return b.build("`isr watch`: reads events, nothing else")


def access_model(topology: Topology, servers: Iterable[str]) -> list[Access]:
    """Every identity's access: a tailer per server (sorted), then the services."""
    model = [_tailer(topology, server) for server in sorted(set(servers))]
    model += [_SERVICES[name](topology) for name in SERVICE_IDENTITIES]
    return model


_SERVICES = {
    "parser": _parser,
    "persistence": _persistence,
    "rcon-poller": _poller,
    BOT: _bot,
    WEB: _web,
    WATCH: _watch,
}


def access_for(topology: Topology, identity: str) -> Access | None:
    """The access of one identity (a tailer's from its name), or None for an unknown one."""
    if identity.startswith(TAILER_PREFIX) and len(identity) > len(TAILER_PREFIX):
        return _tailer(topology, identity[len(TAILER_PREFIX) :])
    make = _SERVICES.get(identity)
    return None if make is None else make(topology)


def identities(servers: Iterable[str]) -> list[str]:
    """Every identity of an installation with these servers."""
    return [tailer_identity(s) for s in sorted(set(servers))] + list(SERVICE_IDENTITIES)


# -- renderers ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NkeyUser:
    """A user known by its NKey public key (``U...``), or a ``$VARIABLE`` naming it."""

    public_key: str


@dataclass(frozen=True, slots=True)
class PasswordUser:
    """A user with a password (plain, a bcrypt hash, or a ``$VARIABLE`` naming one)."""

    user: str
    password: str


UserAuth = NkeyUser | PasswordUser


def env_variable(identity: str, kind: str) -> str:
    """The config variable that holds one identity's key or password (``ISR_NKEY_PARSER``)."""
    return f"ISR_{kind}_{identity.upper().replace('-', '_')}"


def _value(text: str) -> str:
    # A `$NAME` is a nats-server config variable (resolved from the config or the
    # environment); anything else is a quoted string.
    if text.startswith("$") and text[1:].replace("_", "").isalnum():
        return text
    return json.dumps(text)


def _subjects(subjects: Sequence[str], indent: str) -> list[str]:
    return ["[", *(f"{indent}  {json.dumps(s)}" for s in subjects), f"{indent}]"]


def render_server_config(
    model: Sequence[Access],
    users: Mapping[str, UserAuth],
    *,
    header: str = "",
    account: str | None = None,
) -> str:
    """The ``authorization { users: [...] }`` block of a nats-server config (text).

    ``users`` maps each identity to how it authenticates; every identity of ``model`` needs
    one. No ``default_permissions`` and no ``no_auth_user``: a client without credentials is
    refused at connect. With ``account``, the users live in that account of an
    ``accounts { <account>: { jetstream: enabled, users: [...] } }`` block instead (a cluster
    shared with other applications, or one with a system account for operators).
    """
    missing = [a.identity for a in model if a.identity not in users]
    if missing:
        msg = f"no user for {', '.join(missing)}"
        raise ValueError(msg)
    if account is not None and not re.fullmatch(r"[A-Za-z0-9_-]+", account):
        msg = f"account {account!r} must be letters, digits, _ and -"
        raise ValueError(msg)
    header_lines = [f"# {line}".rstrip() for line in header.splitlines()]
    lines = ["  users: ["]
    for access in model:
        auth = users[access.identity]
        lines.append(f"    # {access.identity}: {access.purpose}")
        lines.append("    {")
        if isinstance(auth, NkeyUser):
            lines.append(f"      nkey: {_value(auth.public_key)}")
        else:
            lines.append(f"      user: {_value(auth.user)}")
            lines.append(f"      password: {_value(auth.password)}")
        lines.append("      permissions: {")
        for name, perms in (("publish", access.publish), ("subscribe", access.subscribe)):
            lines.append(f"        {name}: {{")
            for key, subjects in (("allow", perms.allow), ("deny", perms.deny)):
                if subjects:
                    first, *rest = _subjects(subjects, "          ")
                    lines.append(f"          {key}: {first}")
                    lines.extend(rest)
            lines.append("        }")
        if access.allow_responses:
            lines.append("        allow_responses: true")
        lines.append("      }")
        lines.append("    }")
    lines.append("  ]")
    if account is None:
        lines = ["authorization {", *lines, "}"]
    else:
        inner = [f"  {line}" for line in ["  jetstream: enabled", *lines]]
        lines = ["accounts {", f"  {account}: {{", *inner, "  }", "}"]
    return "\n".join([*header_lines, *lines]) + "\n"


def env_nkey_users(model: Sequence[Access]) -> dict[str, UserAuth]:
    """Every identity as an NKey user whose public key is the ``$ISR_NKEY_<ID>`` variable."""
    return {a.identity: NkeyUser(f"${env_variable(a.identity, 'NKEY')}") for a in model}


def env_password_users(model: Sequence[Access]) -> dict[str, UserAuth]:
    """Every identity as user ``<identity>`` with the password in ``$ISR_PASSWORD_<ID>``."""
    return {
        a.identity: PasswordUser(a.identity, f"${env_variable(a.identity, 'PASSWORD')}")
        for a in model
    }


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"


def render_nsc_script(model: Sequence[Access], *, account: str = "ISR") -> str:
    """A shell script that adds every identity as an ``nsc`` user of ``account`` (text).

    The decentralised-JWT equivalent of :func:`render_server_config`: run it with an operator
    and account set up in nsc, then ``nsc generate creds -a ACCOUNT -n USER`` gives each
    service its credentials file (``ISR_NATS_CREDS_FILE``).
    """
    lines = [
        "#!/bin/sh",
        "# Generated by `isr nats-auth --format nsc`: one nsc user per ISR identity.",
        "# Needs an operator and the account (`nsc add operator ...`, `nsc add account ...`);",
        '# then `nsc generate creds -a "$ACCOUNT" -n <user> > <user>.creds` for each service',
        "# and `nsc push` (or a resolver preload) to give the accounts to the nats-server.",
        "set -eu",
        f"ACCOUNT=${{ACCOUNT:-{account}}}",
        "",
    ]
    for access in model:
        parts = [f'nsc add user --account "$ACCOUNT" --name {_quote(access.identity)}']
        parts.append(f"--allow-pub {_quote(','.join(access.publish.allow))}")
        if access.publish.deny:
            parts.append(f"--deny-pub {_quote(','.join(access.publish.deny))}")
        parts.append(f"--allow-sub {_quote(','.join(access.subscribe.allow))}")
        if access.subscribe.deny:
            parts.append(f"--deny-sub {_quote(','.join(access.subscribe.deny))}")
        if access.allow_responses:
            parts.append("--allow-pub-response=1")
        lines.append(f"# {access.identity}: {access.purpose}")
        lines.append(" \\\n  ".join(parts))
        lines.append("")
    return "\n".join(lines)
