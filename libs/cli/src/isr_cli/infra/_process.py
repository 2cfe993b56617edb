"""Process helpers shared by the embedded servers and the supervisor.

Nothing here knows about NATS or Postgres: parent-death signals, free ports, TCP readiness and
waiting on a condition with a deadline.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Self

from isr_cli.infra.errors import InfraError

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>

# Loaded once in the parent: a forked child must not dlopen between fork and exec.
_libc: ctypes.CDLL | None = None
if sys.platform.startswith("linux"):
    with contextlib.suppress(OSError):
        _libc = ctypes.CDLL(None, use_errno=True)


def pdeathsig_preexec(sig: int = signal.SIGTERM) -> Callable[[], None] | None:
    """Return a ``preexec_fn`` that makes the child receive ``sig`` when its parent dies.

    Linux delivers the signal when the *thread* that forked the child exits, so start children
    from a long-lived thread (the main thread or the event loop's). The returned function also
    closes the race where the parent died between fork and ``prctl``. Returns None where
    ``prctl`` does not exist (macOS); callers pass it straight to ``subprocess.Popen``.
    """
    libc = _libc
    if libc is None:
        return None
    parent_pid = os.getpid()

    def _preexec() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
        if os.getppid() != parent_pid:
            os.kill(os.getpid(), sig)

    return _preexec


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port that was free on ``host`` a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def is_accepting(host: str, port: int, timeout_s: float = 0.25) -> bool:
    """Tell whether something accepts TCP connections on ``host:port`` right now."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def wait_until(
    condition: Callable[[], bool],
    *,
    timeout_s: float,
    what: str,
    interval_s: float = 0.01,
    abort: Callable[[], str | None] | None = None,
) -> None:
    """Poll ``condition`` until it holds, or raise ``InfraError`` after ``timeout_s``.

    ``abort`` is checked on every round; when it returns a reason (e.g. "the process exited")
    waiting stops at once with that reason instead of running into the timeout.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        if condition():
            return
        if abort is not None and (reason := abort()) is not None:
            raise InfraError(f"gave up waiting for {what}: {reason}")
        if time.monotonic() >= deadline:
            raise InfraError(f"timed out after {timeout_s:g} s waiting for {what}")
        time.sleep(interval_s)


def pid_is_alive(pid: int) -> bool:
    """Tell whether a process with ``pid`` exists (zombies count as alive until reaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def tail(path: Path, lines: int = 20) -> str:
    """Return the last ``lines`` lines of a text file, or "" when it cannot be read."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


class StartStopContext:
    """Mixin for a server with ``start()``/``stop()``: ``with server:`` runs it for the block."""

    def start(self) -> None:
        """Start the server (implemented by the class)."""
        raise NotImplementedError

    def stop(self) -> None:
        """Stop the server (implemented by the class)."""
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
