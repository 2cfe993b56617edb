"""Errors raised by the embedded infrastructure (nats-server, Postgres, Docker)."""

from __future__ import annotations


class InfraError(RuntimeError):
    """Root of every error raised while finding, starting or stopping embedded servers."""


class BinaryNotFoundError(InfraError):
    """A server binary is not installed; the message says what to install."""

    def __init__(self, binary: str, hint: str) -> None:
        self.binary = binary
        self.hint = hint
        super().__init__(binary, hint)

    def __str__(self) -> str:
        return f"{self.binary} not found: {self.hint}"


class StartupError(InfraError):
    """A server did not come up; carries the tail of its log so the cause is visible."""

    def __init__(self, server: str, reason: str, log_tail: str = "") -> None:
        self.server = server
        self.reason = reason
        self.log_tail = log_tail
        super().__init__(server, reason, log_tail)

    def __str__(self) -> str:
        text = f"{self.server} failed to start: {self.reason}"
        if self.log_tail:
            text += f"\n--- last lines of its log ---\n{self.log_tail}"
        return text
