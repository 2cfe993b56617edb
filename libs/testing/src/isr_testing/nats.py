"""A real nats-server for tests, and the per-test name prefix that isolates tests sharing it.

Tests share one session server. Isolation comes from names: every subject, stream, consumer and
KV bucket a test creates is derived from its ``nats_prefix`` (e.g. ``t3f9a0c12de.raw.alpha``,
stream ``t3f9a0c12de_RAW``), so two tests never see each other's messages or state.
"""

from __future__ import annotations

import os
import secrets
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from isr_cli.infra.nats import EmbeddedNats

PREFIX_HEX_CHARS = 10
"""Random hex characters in a test prefix: 40 bits, so collisions in one run are negligible."""


def new_prefix() -> str:
    """Return a fresh subject prefix: ``t`` + 10 hex chars (valid in subjects and stream names)."""
    return "t" + secrets.token_hex(PREFIX_HEX_CHARS // 2)


@contextmanager
def running_nats(state_dir: Path) -> Iterator[EmbeddedNats]:
    """Start an EmbeddedNats in ``state_dir`` and stop it on exit, whatever state it was left in."""
    server = EmbeddedNats(state_dir)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def kill_nats(server: EmbeddedNats) -> None:
    """SIGKILL the nats-server (no shutdown of any kind); ``server.start()`` brings it back.

    The port and the JetStream store directory are kept, so the server comes back where the
    clients reconnect to, with what it had stored.
    """
    pid = server.pid
    if pid is not None:
        os.kill(pid, signal.SIGKILL)
    server.stop()  # reaps the killed process; it has nothing left to stop
