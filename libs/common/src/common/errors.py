"""Errors that name decisions, and the one place that maps them to ack / nak / term.

Handlers raise; they never call ``msg.nak()`` themselves. :func:`decide` turns an exception into
an :class:`AckDecision`, and the consumer loop carries it out.

- :class:`InvalidMessage`: the payload can never be processed. Terminate (never redeliver),
  count it and log it with the payload preview.
- :class:`TransientError`: a dependency is down or slow. Negative-ack with a delay so JetStream
  redelivers later; nothing is lost.
- :class:`ContractError`: our own code broke a contract. Crash loudly in tests; in production it
  is reported as an internal error and the message is redelivered after a delay.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class PipelineError(Exception):
    """Root of every error the pipeline raises on purpose."""


class InvalidMessage(PipelineError):
    """A received payload does not fit its contract; it is terminated, never retried."""

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
    TERM = "term"


@dataclass(frozen=True, slots=True)
class AckDecision:
    """An action plus, for NAK, the redelivery delay in seconds."""

    action: AckAction
    delay_s: float = 0.0


_UNEXPECTED_DELAY_S = 5.0


def decide(exc: BaseException | None) -> AckDecision:
    """Map the outcome of handling a message to what the consumer loop does with it."""
    if exc is None:
        return AckDecision(AckAction.ACK)
    if isinstance(exc, InvalidMessage):
        return AckDecision(AckAction.TERM)
    if isinstance(exc, TransientError):
        return AckDecision(AckAction.NAK, exc.delay_s)
    return AckDecision(AckAction.NAK, _UNEXPECTED_DELAY_S)
