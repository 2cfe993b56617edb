"""Every metric and span name, declared once, with its kind, unit, attributes and buckets.

Services never spell a metric as an ad-hoc string: they take an instrument for a
:class:`Metric` from :mod:`common.telemetry` (``counter``, ``histogram``, ``observable_gauge``),
which reads the unit, description and bucket boundaries from :data:`SPECS`. Names follow the
OpenTelemetry conventions: dotted, lower case, no unit in the name (the unit field carries it,
UCUM: ``s``, ``1``, ``{line}``), durations are histograms in seconds with explicit boundaries.

How a name looks in Prometheus (the OTLP → Prometheus translation the collector and the
``/metrics`` option both apply) is :func:`prometheus_name`: dots become underscores, the unit
adds a suffix (``s`` → ``_seconds``, ``X/s`` → ``_per_second``; annotations in braces add
nothing), and counters end in ``_total``. docs/operations.md lists every metric; a test checks
that list against :data:`SPECS` and against what the services emit.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Literal

Kind = Literal["counter", "histogram", "gauge", "updown"]
"""``gauge`` is an observable gauge (a callback reads the current value at collection)."""

DURATION_BUCKETS_S: tuple[float, ...] = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
)  # fmt: skip
"""Boundaries for work durations (a batch write, an RCON command, a Discord request)."""
AGE_BUCKETS_S: tuple[float, ...] = (
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0,
)  # fmt: skip
"""Boundaries for end-to-end ages (log line read → Discord post / Postgres commit)."""
SIZE_BUCKETS: tuple[float, ...] = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000)
"""Boundaries for counts per batch."""


class Metric(enum.StrEnum):
    """Every metric the pipeline exports (OTel instrument names)."""

    # tailer
    LINES_READ = "isr.tailer.lines.read"
    BATCHES_PUBLISHED = "isr.tailer.batches.published"
    LINES_POSSIBLY_LOST = "isr.tailer.content.possibly_lost"
    TAILER_PUBLISH_DURATION = "isr.tailer.publish.duration"
    # parser
    LINES_PARSED = "isr.parser.lines"
    LINES_UNMATCHED = "isr.parser.lines.unmatched"
    EVENTS_PUBLISHED = "isr.parser.events.published"
    PARSER_BATCH_DURATION = "isr.parser.batch.duration"
    # every durable consumer (the intake)
    INTAKE_BATCH_SIZE = "isr.intake.batch.size"
    INTAKE_HANDLE_DURATION = "isr.intake.handle.duration"
    MESSAGES_REDELIVERED = "isr.intake.redelivered"
    MESSAGES_NAKED = "isr.intake.naks"
    MESSAGES_DEAD_LETTERED = "isr.intake.dead_lettered"
    MESSAGES_TERMINATED = "isr.intake.terminated"
    CONSUMER_PENDING = "isr.consumer.pending"
    CONSUMER_ACK_PENDING = "isr.consumer.ack_pending"
    DEAD_LETTERS_STORED = "isr.dead_letters.stored"
    EVENT_AGE = "isr.pipeline.event.age"
    # persistence
    ROWS_WRITTEN = "isr.persistence.rows_written"
    BATCH_SECONDS = "isr.persistence.batch.duration"
    QUERY_DURATION = "isr.query.duration"
    QUERY_ERRORS = "isr.query.errors"
    # bot
    DISCORD_RATE_LIMITED = "isr.bot.discord.rate_limited"
    DISCORD_POSTS = "isr.bot.discord.posts"
    DISCORD_RETRIES = "isr.bot.discord.retries"
    DISCORD_COALESCED = "isr.bot.discord.coalesced"
    INTERACTION_DURATION = "isr.bot.interaction.duration"
    # rcon-poller: RCON
    RCON_UP = "isr.rcon.up"
    RCON_COMMAND_DURATION = "isr.rcon.command.duration"
    RCON_ERRORS = "isr.rcon.errors"
    RCON_RECONNECTS = "isr.rcon.reconnects"
    # rcon-poller: the game
    GAME_UPS = "isr.game.ups"
    GAME_TARGET_UPS = "isr.game.ups.target"
    GAME_PLAYERS_ONLINE = "isr.game.players.online"
    GAME_TIME = "isr.game.time"
    GAME_EVOLUTION = "isr.game.evolution"
    GAME_PAUSED = "isr.game.paused"


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """What one metric is: its instrument kind, unit, meaning, attributes, buckets, emitter."""

    kind: Kind
    unit: str
    description: str
    attributes: tuple[str, ...]
    emitted_by: str
    """The service kind that emits it (``tailer``, ``parser``, ..., or ``consumers`` for every
    service that pulls a durable)."""
    buckets: tuple[float, ...] | None = None


_INTAKE = ("service", "durable")

SPECS: dict[Metric, MetricSpec] = {
    Metric.LINES_READ: MetricSpec(
        "counter", "{line}", "Console-log lines read.", ("server",), "tailer"
    ),
    Metric.BATCHES_PUBLISHED: MetricSpec(
        "counter", "{batch}", "Raw batches acknowledged by JetStream.", ("server",), "tailer"
    ),
    Metric.LINES_POSSIBLY_LOST: MetricSpec(
        "counter",
        "{occasion}",
        "Times unread log content may have been lost (the file was truncated, copy-truncated or "
        "deleted before the tailer finished it, and no copy was found); one per occasion. "
        "reason: content_replaced or file_gone.",
        ("server", "reason"),
        "tailer",
    ),
    Metric.TAILER_PUBLISH_DURATION: MetricSpec(
        "histogram",
        "s",
        "Time from a raw batch's send to JetStream's acknowledgement.",
        ("server",),
        "tailer",
        DURATION_BUCKETS_S,
    ),
    Metric.LINES_PARSED: MetricSpec(
        "counter", "{line}", "Lines the parser looked at.", (), "parser"
    ),
    Metric.LINES_UNMATCHED: MetricSpec(
        "counter", "{line}", "Lines no pattern matched (counted, not published).", (), "parser"
    ),
    Metric.EVENTS_PUBLISHED: MetricSpec(
        "counter",
        "{event}",
        "Events acknowledged by JetStream, per event type.",
        ("type",),
        "parser",
    ),
    Metric.PARSER_BATCH_DURATION: MetricSpec(
        "histogram",
        "s",
        "Time to parse one intake batch and publish its events.",
        (),
        "parser",
        DURATION_BUCKETS_S,
    ),
    Metric.INTAKE_BATCH_SIZE: MetricSpec(
        "histogram", "{message}", "Messages per fetched batch.", _INTAKE, "consumers", SIZE_BUCKETS
    ),
    Metric.INTAKE_HANDLE_DURATION: MetricSpec(
        "histogram",
        "s",
        "Time from a batch's arrival to its settlement (handler and acks).",
        _INTAKE,
        "consumers",
        DURATION_BUCKETS_S,
    ),
    Metric.MESSAGES_REDELIVERED: MetricSpec(
        "counter",
        "{message}",
        "Messages received with a delivery count above 1 (after a nak or a crash).",
        _INTAKE,
        "consumers",
    ),
    Metric.MESSAGES_NAKED: MetricSpec(
        "counter",
        "{message}",
        "Messages negatively acknowledged (retried later, or given back on stop).",
        _INTAKE,
        "consumers",
    ),
    Metric.MESSAGES_DEAD_LETTERED: MetricSpec(
        "counter",
        "{message}",
        "Messages parked on the service's dead-letter subject (poison, or out of deliveries).",
        _INTAKE,
        "consumers",
    ),
    Metric.MESSAGES_TERMINATED: MetricSpec(
        "counter",
        "{message}",
        "Messages terminated, each after its dead letter.",
        _INTAKE,
        "consumers",
    ),
    Metric.CONSUMER_PENDING: MetricSpec(
        "gauge",
        "{message}",
        "Messages of the stream not yet delivered to the durable (JetStream consumer info "
        "num_pending): the lag to scale on.",
        ("stream", "durable"),
        "consumers",
    ),
    Metric.CONSUMER_ACK_PENDING: MetricSpec(
        "gauge",
        "{message}",
        "Messages delivered to the durable and not yet acknowledged (num_ack_pending).",
        ("stream", "durable"),
        "consumers",
    ),
    Metric.DEAD_LETTERS_STORED: MetricSpec(
        "gauge",
        "{message}",
        "Dead letters kept in the dead-letter stream, per service that parked them.",
        ("service",),
        "consumers",
    ),
    Metric.EVENT_AGE: MetricSpec(
        "histogram",
        "s",
        "Age of an event's log line (from when the tailer read it) when it reached its end: "
        "stage discord (the post was accepted) or postgres (the row was committed).",
        ("stage",),
        "consumers",
        AGE_BUCKETS_S,
    ),
    Metric.ROWS_WRITTEN: MetricSpec(
        "counter",
        "{row}",
        "Rows inserted (duplicates skipped are not counted).",
        ("table",),
        "persistence",
    ),
    Metric.BATCH_SECONDS: MetricSpec(
        "histogram",
        "s",
        "Time to write one batch to Postgres.",
        ("table",),
        "persistence",
        DURATION_BUCKETS_S,
    ),
    Metric.QUERY_DURATION: MetricSpec(
        "histogram",
        "s",
        "Time to answer one query API request (isr.query.*).",
        ("query", "outcome"),
        "persistence",
        DURATION_BUCKETS_S,
    ),
    Metric.QUERY_ERRORS: MetricSpec(
        "counter",
        "{error}",
        "Query API requests answered with an error, by kind.",
        ("query", "kind"),
        "persistence",
    ),
    Metric.DISCORD_RATE_LIMITED: MetricSpec(
        "counter",
        "{response}",
        "429 answers from Discord. scope: global, user, shared or route; route, e.g. "
        "POST /channels/{id}/messages.",
        ("scope", "route"),
        "bot",
    ),
    Metric.DISCORD_POSTS: MetricSpec(
        "counter",
        "{message}",
        "Messages the relay posted to Discord, by outcome (ok, failed, rejected).",
        ("outcome",),
        "bot",
    ),
    Metric.DISCORD_RETRIES: MetricSpec(
        "counter", "{request}", "Discord posts retried after a failure.", (), "bot"
    ),
    Metric.DISCORD_COALESCED: MetricSpec(
        "counter",
        "{event}",
        "Events that shared a Discord message with others (coalesced to save requests).",
        (),
        "bot",
    ),
    Metric.INTERACTION_DURATION: MetricSpec(
        "histogram",
        "s",
        "Time from a slash command's arrival to its answer.",
        ("command", "outcome"),
        "bot",
        DURATION_BUCKETS_S,
    ),
    Metric.RCON_UP: MetricSpec(
        "gauge",
        "1",
        "1 while the poller's RCON connection works, else 0.",
        ("server",),
        "rcon-poller",
    ),
    Metric.RCON_COMMAND_DURATION: MetricSpec(
        "histogram",
        "s",
        "Time for one RCON command (request to response).",
        ("server", "operation"),
        "rcon-poller",
        DURATION_BUCKETS_S,
    ),
    Metric.RCON_ERRORS: MetricSpec(
        "counter",
        "{error}",
        "RCON failures by kind: connect (refused, reset or closed), auth (password refused), "
        "timeout, protocol (a reply the poller could not read).",
        ("server", "kind"),
        "rcon-poller",
    ),
    Metric.RCON_RECONNECTS: MetricSpec(
        "counter",
        "{connection}",
        "RCON connections opened again after a loss.",
        ("server",),
        "rcon-poller",
    ),
    Metric.GAME_UPS: MetricSpec(
        "gauge", "{update}/s", "Game updates per second (last sample).", ("server",), "rcon-poller"
    ),
    Metric.GAME_TARGET_UPS: MetricSpec(
        "gauge",
        "{update}/s",
        "The game's target UPS (game speed times 60).",
        ("server",),
        "rcon-poller",
    ),
    Metric.GAME_PLAYERS_ONLINE: MetricSpec(
        "gauge", "{player}", "Players online (last sample).", ("server",), "rcon-poller"
    ),
    Metric.GAME_TIME: MetricSpec(
        "gauge", "s", "Game time (ticks played / 60).", ("server",), "rcon-poller"
    ),
    Metric.GAME_EVOLUTION: MetricSpec(
        "gauge",
        "1",
        "Enemy evolution factor per surface (0..1).",
        ("server", "surface"),
        "rcon-poller",
    ),
    Metric.GAME_PAUSED: MetricSpec(
        "gauge", "1", "1 while the game is paused, else 0.", ("server",), "rcon-poller"
    ),
}


_UNIT_SUFFIXES = {"s": "seconds", "ms": "milliseconds", "By": "bytes", "1": ""}


def prometheus_name(metric: Metric) -> str:
    """The metric's name as Prometheus shows it (OTLP → Prometheus translation).

    ``_bucket``/``_sum``/``_count`` follow a histogram's name; a gauge with unit ``1`` gets no
    suffix (the collector's translation would add ``_ratio``; the dashboard does not rely on it
    for gauges with unit 1, see docs/operations.md).
    """
    spec = SPECS[metric]
    name = metric.value.replace(".", "_")
    unit = spec.unit
    suffix = ""
    if unit.endswith("/s"):
        suffix = "per_second"
    elif not unit.startswith("{"):
        suffix = _UNIT_SUFFIXES.get(unit, unit)
    if suffix and not name.endswith(suffix):
        name = f"{name}_{suffix}"
    if spec.kind == "counter":
        name = f"{name}_total"
    return name


class Span(enum.StrEnum):
    """Span names not derived from a subject.

    Messaging spans are named ``"<operation> <destination>"``, per the messaging conventions.
    """

    RCON_COMMAND = "rcon.command"
    DISCORD_POST = "discord.post"
    PERSISTENCE_WRITE = "persistence.write"
    INTERACTION = "discord.interaction"
