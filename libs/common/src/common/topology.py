"""Subjects, streams, consumers and KV buckets: declared once, created idempotently.

Every name derives from one prefix (``ISR_PREFIX``, default ``isr``), so two installations — or
two tests — can share a nats-server without seeing each other's messages.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Literal

import structlog
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    ConsumerInfo,
    DeliverPolicy,
    KeyValueConfig,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.errors import BadRequestError, NotFoundError

log = structlog.get_logger()

_TOKEN = re.compile(r"^[A-Za-z0-9_-]+$")
_REQUEST_TOKENS = 4  # <prefix>.<rcon|query>.<server or name>.<caller>
_DAY_S = 86_400.0


def _check_token(value: str, what: str) -> str:
    if not _TOKEN.fullmatch(value):
        msg = f"{what} {value!r} is not a valid NATS subject token (letters, digits, _ and -)"
        raise ValueError(msg)
    return value


@dataclass(frozen=True, slots=True)
class StreamLimits:
    """What a stream is created with: how long and how much it keeps, on how many nodes."""

    max_age_s: float
    max_bytes: int = -1
    """Bytes kept at most (``-1``: no limit); the oldest messages go first."""
    replicas: int = 1

    def __post_init__(self) -> None:
        if self.max_age_s <= 0:
            msg = f"max_age_s must be positive, got {self.max_age_s}"
            raise ValueError(msg)
        if self.max_bytes == 0 or self.max_bytes < -1:
            msg = f"max_bytes must be -1 (no limit) or positive, got {self.max_bytes}"
            raise ValueError(msg)
        if not 1 <= self.replicas <= 5:
            msg = f"replicas must be 1 to 5, got {self.replicas}"
            raise ValueError(msg)


@dataclass(frozen=True, slots=True)
class RetentionSettings:
    """Each stream's limits and replicas (``common.settings.StreamSettings`` fills them)."""

    raw: StreamLimits = StreamLimits(7 * _DAY_S)
    events: StreamLimits = StreamLimits(30 * _DAY_S)
    metrics: StreamLimits = StreamLimits(7 * _DAY_S)
    dead_letter: StreamLimits = StreamLimits(30 * _DAY_S)
    audit: StreamLimits = StreamLimits(90 * _DAY_S)
    """The audit stream keeps records this long; the audit_log table keeps them for good."""
    kv_replicas: int = 1
    """Replicas of every KV bucket."""
    duplicate_window_s: float = 300.0
    """JetStream drops a re-published ``Nats-Msg-Id`` within this window."""


RequestFamily = Literal["rcon", "query"]
"""The request/reply subject families whose last token names the caller."""

DEFAULT_ACK_WAIT_S = 5.0
"""Ack wait of every durable consumer. The intake sends in-progress acks while it works on a
message (every third of this), so only a crashed worker's messages wait it out."""
DEFAULT_MAX_DELIVER = 20
"""Deliveries a message gets at most; the intake dead-letters it on the last one."""
BUCKETS = ("offsets", "user_context", "alert_state", "leases", "relay")
"""Every KV bucket: tailer checkpoints, users' selected servers, alert state machines, RCON
leases, and the bot relay's post intents."""


@dataclass(frozen=True, slots=True)
class ConsumerPolicy:
    """The delivery settings of one durable consumer (each service's settings give them)."""

    ack_wait_s: float = DEFAULT_ACK_WAIT_S
    """Seconds JetStream waits for an ack (or in-progress) before it redelivers."""
    max_deliver: int = DEFAULT_MAX_DELIVER
    """Deliveries in all before the intake dead-letters a failing message (``-1``: unbounded)."""

    def __post_init__(self) -> None:
        if self.ack_wait_s <= 0:
            msg = f"ack_wait_s must be positive, got {self.ack_wait_s}"
            raise ValueError(msg)
        if self.max_deliver == 0 or self.max_deliver < -1:
            msg = f"max_deliver must be -1 (unbounded) or at least 1, got {self.max_deliver}"
            raise ValueError(msg)


@dataclass(frozen=True, slots=True)
class Topology:
    """Every NATS name the pipeline uses, derived from ``prefix``."""

    prefix: str = "isr"
    retention: RetentionSettings = field(default_factory=RetentionSettings)

    def __post_init__(self) -> None:
        _check_token(self.prefix, "prefix")

    # -- subjects ---------------------------------------------------------------------------
    def raw_subject(self, server: str) -> str:
        """Subject of one server's raw line batches."""
        return f"{self.prefix}.raw.{_check_token(server, 'server')}"

    def event_subject(self, server: str, event_type: str) -> str:
        """Subject of one typed event (``alert.<kind>`` for alerts)."""
        return f"{self.prefix}.events.{_check_token(server, 'server')}.{event_type}"

    def alert_subject(self, server: str, alert_type: str) -> str:
        """Subject of one alert."""
        return self.event_subject(server, f"alert.{alert_type}")

    def metrics_subject(self, server: str) -> str:
        """Subject of one server's metric samples."""
        return f"{self.prefix}.metrics.{_check_token(server, 'server')}"

    def rcon_subject(self, server: str, caller: str) -> str:
        """Where ``caller`` requests one server's allow-listed RCON operations.

        ``caller`` is the requesting service's own NATS identity (a
        :class:`~common.vocabulary.Caller`); the poller reads it back from the subject.
        """
        server = _check_token(server, "server")
        return f"{self.prefix}.rcon.{server}.{_check_token(caller, 'caller')}"

    def rcon_filter(self, server: str = "*") -> str:
        """Wildcard matching every caller's RCON requests for one server (or for all)."""
        return f"{self.prefix}.rcon.{server}.*"

    def query_subject(self, name: str, caller: str) -> str:
        """Where ``caller`` (its own NATS identity, see :meth:`rcon_subject`) asks one query."""
        return f"{self.prefix}.query.{_check_token(name, 'query')}.{_check_token(caller, 'caller')}"

    def request_parts(self, subject: str, family: RequestFamily) -> tuple[str, str] | None:
        """``(server or query name, caller)`` of an RCON or query request subject.

        None when ``subject`` is not ``<prefix>.<family>.<token>.<token>`` (e.g. the old
        ``<prefix>.rcon.<server>`` without a caller). The caller is the last token: with the
        authorisation config on, the NATS server lets a service publish only its own identity
        there, so it cannot be forged.
        """
        parts = subject.split(".")
        if len(parts) != _REQUEST_TOKENS or parts[0] != self.prefix or parts[1] != family:
            return None
        if not all(_TOKEN.fullmatch(p) for p in parts[2:]):
            return None
        return parts[2], parts[3]

    @staticmethod
    def is_jetstream_delivery(reply: str | None) -> bool:
        """Tell whether a "request" was really a JetStream delivery (reply ``$JS.ACK...``).

        A push consumer's deliver subject is not checked against its creator's publish
        permissions (nats-io/nats-server#8274), so an identity allowed to create a consumer
        could have a stored message delivered onto ``<p>.rcon.<server>.bot``. Clients'
        requests always reply to an inbox; the responders refuse anything that would be
        acknowledged to JetStream instead.
        """
        return reply is not None and reply.startswith("$JS.")

    def audit_subject(self, server: str) -> str:
        """Subject of the audit records of privileged actions on one server."""
        return f"{self.prefix}.audit.{_check_token(server, 'server')}"

    def query_filter(self) -> str:
        """Wildcard matching every caller's history queries (persistence serves them all)."""
        return f"{self.prefix}.query.*.*"

    def dead_letter_subject(self, service: str) -> str:
        """Where a service parks messages it can never process."""
        return f"{self.prefix}.dlq.{_check_token(service, 'service')}"

    def events_filter(self, server: str = "*") -> str:
        """Wildcard matching every event (of one server, or all)."""
        return f"{self.prefix}.events.{server}.>"

    # -- streams ----------------------------------------------------------------------------
    @property
    def raw_stream(self) -> str:
        """Stream of raw line batches."""
        return f"{self.prefix.upper()}_RAW"

    @property
    def events_stream(self) -> str:
        """Stream of typed events and alerts."""
        return f"{self.prefix.upper()}_EVENTS"

    @property
    def metrics_stream(self) -> str:
        """Stream of metric samples."""
        return f"{self.prefix.upper()}_METRICS"

    @property
    def audit_stream(self) -> str:
        """Stream of audit records."""
        return f"{self.prefix.upper()}_AUDIT"

    @property
    def dead_letter_stream(self) -> str:
        """Stream of messages that could never be processed."""
        return f"{self.prefix.upper()}_DLQ"

    def stream_configs(self) -> list[StreamConfig]:
        """Every stream's configuration."""
        r = self.retention

        def limits(name: str, subjects: list[str], limit: StreamLimits) -> StreamConfig:
            return StreamConfig(
                name=name,
                subjects=subjects,
                retention=RetentionPolicy.LIMITS,
                storage=StorageType.FILE,
                max_age=limit.max_age_s,
                max_bytes=limit.max_bytes,
                num_replicas=limit.replicas,
                duplicate_window=r.duplicate_window_s,
            )

        return [
            limits(self.raw_stream, [f"{self.prefix}.raw.>"], r.raw),
            limits(self.events_stream, [f"{self.prefix}.events.>"], r.events),
            limits(self.metrics_stream, [f"{self.prefix}.metrics.>"], r.metrics),
            limits(self.dead_letter_stream, [f"{self.prefix}.dlq.>"], r.dead_letter),
            limits(self.audit_stream, [f"{self.prefix}.audit.>"], r.audit),
        ]

    # -- durable consumers ------------------------------------------------------------------
    def consumer_config(
        self,
        durable: str,
        *,
        filter_subject: str | None = None,
        policy: ConsumerPolicy | None = None,
    ) -> ConsumerConfig:
        """A durable pull consumer with explicit acks, shared by every replica of a service."""
        policy = policy or ConsumerPolicy()
        return ConsumerConfig(
            durable_name=_check_token(durable, "durable"),
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=policy.ack_wait_s,
            max_deliver=policy.max_deliver,
            max_ack_pending=20_000,
            filter_subject=filter_subject,
        )

    # -- KV buckets -------------------------------------------------------------------------
    def bucket(self, name: str) -> str:
        """Name of a KV bucket (one of :data:`BUCKETS`)."""
        return f"{self.prefix}_{_check_token(name, 'bucket')}"

    def bucket_names(self) -> list[str]:
        """Every KV bucket the pipeline uses."""
        return [self.bucket(n) for n in BUCKETS]

    # -- creation ---------------------------------------------------------------------------
    async def ensure(
        self,
        js: JetStreamContext,
        *,
        streams: Collection[str] | None = None,
        buckets: Collection[str] | None = None,
    ) -> list[StreamDifference]:
        """Create every missing stream and KV bucket (or only those named); never change one.

        A stream or bucket that exists is left exactly as it is, whatever this installation's
        settings say: its replicas and limits may have been set by an operator (``nats stream
        edit``), and a service must never shrink them or undo them at its next start. Each
        difference from the settings is returned and logged (``stream_config_differs``) so
        the operator can see it; the subjects a stream captures are the one thing the pipeline
        owns, and a stream missing ours is reported the same way (it would lose messages).
        """
        differences: list[StreamDifference] = []
        for config in self.stream_configs():
            assert config.name is not None
            if streams is not None and config.name not in streams:
                continue
            differences += await self._ensure_stream(js, config)
        for name, bucket in zip(BUCKETS, self.bucket_names(), strict=True):
            if buckets is not None and name not in buckets and bucket not in buckets:
                continue
            differences += await self._ensure_bucket(js, bucket)
        for difference in differences:
            log.warning(
                "stream_config_differs",
                stream=difference.stream,
                field=difference.field,
                existing=difference.existing,
                configured=difference.configured,
                hint="left as it is; change it with `nats stream edit` if the settings are right",
            )
        return differences

    async def _ensure_stream(
        self, js: JetStreamContext, config: StreamConfig
    ) -> list[StreamDifference]:
        assert config.name is not None
        try:
            info = await js.stream_info(config.name)
        except NotFoundError:
            try:
                await js.add_stream(config=config)
            except BadRequestError:
                # Another service created it a moment ago (with other settings): compare.
                info = await js.stream_info(config.name)
            else:
                return []
        return stream_differences(info.config, config)

    async def _ensure_bucket(self, js: JetStreamContext, bucket: str) -> list[StreamDifference]:
        wanted = self.retention.kv_replicas
        try:
            info = await js.stream_info(f"KV_{bucket}")
        except NotFoundError:
            try:
                await js.create_key_value(
                    config=KeyValueConfig(bucket=bucket, history=1, replicas=wanted)
                )
            except BadRequestError:
                info = await js.stream_info(f"KV_{bucket}")
            else:
                return []
        existing = info.config.num_replicas or 1
        if existing != wanted:
            return [StreamDifference(f"KV_{bucket}", "replicas", existing, wanted)]
        return []

    async def ensure_consumer(
        self,
        js: JetStreamContext,
        stream: str,
        durable: str,
        *,
        filter_subject: str | None = None,
        policy: ConsumerPolicy | None = None,
    ) -> ConsumerInfo:
        """Create a durable consumer if it is missing; converge its ack wait and max deliver.

        A consumer that exists keeps everything else it has; only ``ack_wait`` and
        ``max_deliver`` (which JetStream lets a consumer change) are brought to ``policy``, so
        durables made with the old 30 s / unbounded settings get the short ack wait and a
        bound on redeliveries without losing their position.
        """
        policy = policy or ConsumerPolicy()
        try:
            info = await js.consumer_info(stream, durable)
        except NotFoundError:
            config = self.consumer_config(durable, filter_subject=filter_subject, policy=policy)
            created: ConsumerInfo = await js.add_consumer(stream, config=config)
            return created
        current = info.config
        assert isinstance(info, ConsumerInfo)
        if current.ack_wait == policy.ack_wait_s and current.max_deliver == policy.max_deliver:
            return info
        updated = dataclasses.replace(
            current, ack_wait=policy.ack_wait_s, max_deliver=policy.max_deliver
        )
        return await js.add_consumer(stream, config=updated)

    async def missing_streams(
        self, js: JetStreamContext, *, streams: Collection[str] | None = None
    ) -> list[str]:
        """Names of declared streams (or of those named) the server does not have."""
        missing = []
        for config in self.stream_configs():
            assert config.name is not None
            if streams is not None and config.name not in streams:
                continue
            try:
                await js.stream_info(config.name)
            except NotFoundError:
                missing.append(config.name)
        return missing


@dataclass(frozen=True, slots=True)
class StreamDifference:
    """One way an existing stream differs from what this installation would create."""

    stream: str
    field: str
    existing: object
    configured: object


def stream_differences(existing: StreamConfig, wanted: StreamConfig) -> list[StreamDifference]:
    """How ``existing`` differs from ``wanted`` in the fields an installation configures."""
    assert wanted.name is not None
    found: list[StreamDifference] = []
    missing_subjects = sorted(set(wanted.subjects or ()) - set(existing.subjects or ()))
    if missing_subjects:
        found.append(StreamDifference(wanted.name, "subjects", existing.subjects, wanted.subjects))
    pairs = (
        ("replicas", existing.num_replicas or 1, wanted.num_replicas or 1),
        ("max_age_s", existing.max_age or 0.0, wanted.max_age or 0.0),
        ("max_bytes", existing.max_bytes if existing.max_bytes is not None else -1,
         wanted.max_bytes if wanted.max_bytes is not None else -1),
    )  # fmt: skip
    for name, have, want in pairs:
        if isinstance(have, float) or isinstance(want, float):
            if abs(float(have) - float(want)) > 1e-3:
                found.append(StreamDifference(wanted.name, name, have, want))
        elif have != want:
            found.append(StreamDifference(wanted.name, name, have, want))
    return found
