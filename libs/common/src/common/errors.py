"""Errors that name decisions, and the one place that maps an outcome to ack / nak / dead-letter.

Handlers raise (or return per-message failures); they never call ``msg.nak()`` themselves.
:func:`decide` turns the outcome of handling one message into an :class:`AckDecision`, and the
intake (:mod:`common.intake`) carries it out. The poison policy, decided here once:

- **Poison** (:func:`is_poison`): the message can never be processed, however often it is
  retried: it does not decode, it fails its contract's validation, or a handler raised
  :class:`InvalidMessage` for it (persistence does so for a row Postgres refuses with a data
  error). It is **dead-lettered** (published to ``<prefix>.dlq.<service>`` with the reason) and
  then terminated on its own stream. It never holds back the other messages of its fetch.
- **Transient** (:class:`TransientError`): a dependency is down or slow (NATS, Postgres,
  Discord, a timeout). Negative-ack with a delay that grows with the message's delivery count
  (:class:`common.backoff.Backoff`), or the delay the error asks for when that is longer.
- **Unexpected** (any other exception, :class:`ContractError`): our own bug or something not
  foreseen. Redelivered with the same growing delay, so a fixed deploy still gets it.
- **Bounded**: every consumer has a ``max_deliver``. A message that is still failing on its
  last allowed delivery is dead-lettered with the last error instead of being nak'd, because
  JetStream would otherwise stop delivering it without a trace.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field

from common.backoff import Backoff


class PipelineError(Exception):
    """Root of every error the pipeline raises on purpose."""


class InvalidMessage(PipelineError):
    """A received payload can never be processed; it is dead-lettered, never retried."""

    def __init__(self, *, subject: str, reason: str, payload: str = "") -> None:
        self.subject = subject
        self.reason = reason
        self.payload = payload
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f" on {self.subject}" if self.subject else ""
        return f"invalid message{where}: {self.reason}"


class TransientError(PipelineError):
    """A dependency failed in a way that may pass; the message is redelivered after ``delay_s``."""

    def __init__(self, what: str, *, delay_s: float = 1.0) -> None:
        self.what = what
        self.delay_s = delay_s
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"transient failure: {self.what} (retry in {self.delay_s:g} s)"


class ContractError(PipelineError):
    """Our own code produced or expected something the contracts forbid."""


class AckAction(enum.Enum):
    """What to tell JetStream about a message."""

    ACK = "ack"
    NAK = "nak"
    DEAD_LETTER = "dead_letter"
    """Publish to the service's dead-letter subject, then terminate."""


@dataclass(frozen=True, slots=True)
class AckDecision:
    """An action plus, for NAK, the redelivery delay and, for DEAD_LETTER, the reason."""

    action: AckAction
    delay_s: float = 0.0
    reason: str = ""


DEFAULT_MAX_DELIVER = 20
"""Deliveries a message gets before it is dead-lettered (``max_deliver`` of every consumer)."""


def _redelivery_backoff() -> Backoff:
    return Backoff(initial_s=1.0, max_s=60.0)


@dataclass(frozen=True, slots=True)
class RedeliveryPolicy:
    """How often and how late a failed message is delivered again."""

    max_deliver: int = DEFAULT_MAX_DELIVER
    """Deliveries in all; on the last one a failure is dead-lettered. ``-1``: unbounded."""
    backoff: Backoff = field(default_factory=_redelivery_backoff)
    """Delay after the n-th delivery failed: ``backoff``'s delay after n failures."""

    def delay_s(self, delivered: int) -> float:
        """The nak delay after delivery number ``delivered`` failed (with jitter)."""
        return dataclasses.replace(self.backoff, failures=max(delivered, 1) - 1).next_delay_s()

    def is_last(self, delivered: int) -> bool:
        """True when JetStream will not deliver the message again after ``delivered``."""
        return 0 < self.max_deliver <= delivered


def is_poison(exc: BaseException) -> bool:
    """True when retrying can never help: the message itself is at fault."""
    return isinstance(exc, InvalidMessage)


def decide(
    exc: BaseException | None, *, delivered: int = 1, policy: RedeliveryPolicy | None = None
) -> AckDecision:
    """Map the outcome of handling a message (its ``delivered``-th delivery) to an action."""
    if exc is None:
        return AckDecision(AckAction.ACK)
    if is_poison(exc):
        return AckDecision(AckAction.DEAD_LETTER, reason=_reason(exc))
    policy = policy or _DEFAULT_POLICY
    if policy.is_last(delivered):
        reason = f"still failing after {delivered} deliveries: {_reason(exc)}"
        return AckDecision(AckAction.DEAD_LETTER, reason=reason)
    delay_s = policy.delay_s(delivered)
    if isinstance(exc, TransientError):
        delay_s = max(delay_s, exc.delay_s)
    return AckDecision(AckAction.NAK, delay_s=delay_s)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, InvalidMessage):
        return exc.reason
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


_DEFAULT_POLICY = RedeliveryPolicy()
