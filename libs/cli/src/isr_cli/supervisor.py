"""Run a set of child processes in one terminal, restart the ones that crash, stop them all.

The supervisor is generic: it runs a list of ``ProcessSpec(name, argv, env)`` and knows nothing
about ISR services (``isr up`` builds that list). Guarantees:

- every line a child writes (stdout and stderr) is printed prefixed with the child's name,
  padded to a common width and coloured when stdout is a TTY and ``NO_COLOR`` is unset;
- a child that exits non-zero is restarted after a delay that starts at 1 s, doubles up to
  30 s (the common :class:`~common.backoff.Backoff`, with a little jitter), and starts over once
  the child has run for 60 s; a child that exits 0 is left stopped;
- each child runs in its own process group (so a terminal Ctrl-C reaches only the supervisor,
  which then stops the children in order) with ``PR_SET_PDEATHSIG=SIGTERM``, so a killed
  supervisor does not leave orphans;
- on SIGINT or SIGTERM every child's group gets SIGTERM, and whatever is still alive 10 s later
  gets SIGKILL; a second signal skips the grace period. ``run()`` then returns 0.

Every child is forked from the event loop's thread: the parent-death signal fires when the
forking *thread* exits, so this keeps it tied to the supervisor's lifetime.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from common.backoff import Backoff, sleep_until_stop
from isr_cli.infra._process import pdeathsig_preexec

SUPERVISOR_NAME = "isr"
"""The prefix of the supervisor's own lines (starts, exits, restarts)."""

_PALETTE = (36, 33, 35, 32, 34, 96, 93, 95, 92, 94, 91)  # ANSI foreground colours
_READ_CHUNK = 65536
_MAX_LINE = 65536  # a longer "line" is printed in pieces rather than buffered forever
_DRAIN_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class ProcessSpec:
    """One child to supervise.

    Attributes:
        name: the prefix of its output lines; unique within a supervisor.
        argv: the program and its arguments (no shell).
        env: the child's complete environment; None inherits the supervisor's.
    """

    name: str
    argv: Sequence[str]
    env: Mapping[str, str] | None = None


@dataclass(frozen=True)
class BackoffPolicy:
    """Restart delays: ``initial_s`` doubling up to ``max_s``, reset after ``reset_after_s`` up."""

    initial_s: float = 1.0
    """Delay before the first restart."""
    max_s: float = 30.0
    """Longest delay."""
    reset_after_s: float = 60.0
    """A child that ran this long before it crashed counts as healthy: its delays start over."""
    jitter: float = 0.1
    """Relative spread of each delay (children that crashed together restart apart)."""

    def new_backoff(self) -> Backoff:
        """The delays of one child, before its first crash."""
        return Backoff(initial_s=self.initial_s, max_s=self.max_s, jitter=self.jitter)

    def next_delay(self, backoff: Backoff, *, ran_for_s: float) -> float:
        """Return the delay before the next restart of a child that ran ``ran_for_s`` seconds."""
        if ran_for_s >= self.reset_after_s:
            backoff.reset()
        return backoff.next_delay_s()


def use_color(is_tty: bool, environ: Mapping[str, str]) -> bool:
    """Colour only a terminal, and never when ``NO_COLOR`` is set to a non-empty value."""
    return is_tty and not environ.get("NO_COLOR")


def format_line(name: str, width: int, text: str, color: int | None = None) -> str:
    """Return ``text`` prefixed with ``name`` padded to ``width`` (ANSI-coloured when asked)."""
    label = name.ljust(width)
    if color is not None:
        label = f"\x1b[{color}m{label}\x1b[0m"
    return f"{label} | {text}\n"


def describe_exit(code: int) -> str:
    """Describe a return code for an operator: "exited with 1", "killed by SIGKILL"."""
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with {code}"


@dataclass
class _Child:
    spec: ProcessSpec
    color: int | None
    process: asyncio.subprocess.Process | None = None


DUPLICATE_SIGNAL_WINDOW_S = 1.0
"""Signals this close to the first count as one (see :meth:`Supervisor.request_stop`)."""


class Supervisor:
    """Runs ``specs`` until SIGINT/SIGTERM (or until every child has exited cleanly).

    See the module docstring for the restart and shutdown guarantees. Names are padded to the
    longest name, or to ``min_width`` when that is wider (to line up with earlier output).
    """

    def __init__(
        self,
        specs: Sequence[ProcessSpec],
        *,
        out: TextIO | None = None,
        color: bool | None = None,
        policy: BackoffPolicy | None = None,
        stop_timeout_s: float = 10.0,
        min_width: int = 0,
        duplicate_signal_window_s: float = DUPLICATE_SIGNAL_WINDOW_S,
    ) -> None:
        names = [spec.name for spec in specs]
        if len(set(names)) != len(names):
            raise ValueError(f"process names must be unique: {names}")
        self._out = out if out is not None else sys.stdout
        if color is None:
            color = use_color(self._out.isatty(), os.environ)
        self._children = [
            _Child(spec, _PALETTE[i % len(_PALETTE)] if color else None)
            for i, spec in enumerate(specs)
        ]
        self._width = max([min_width, len(SUPERVISOR_NAME), *(len(name) for name in names)])
        self._policy = policy if policy is not None else BackoffPolicy()
        self._stop_timeout_s = stop_timeout_s
        self._duplicate_window_s = duplicate_signal_window_s
        self._stop_requested: asyncio.Event | None = None
        self._force: asyncio.Event | None = None
        self._stopping = False

    def run(self) -> int:
        """Run until SIGINT/SIGTERM, stop every child, and return the exit code (0)."""
        return asyncio.run(self.run_async(handle_signals=True))

    async def run_async(self, *, handle_signals: bool = False) -> int:
        """Run inside the current event loop; see ``run``. Returns 1 only on an internal error."""
        self._stop_requested = asyncio.Event()
        self._force = asyncio.Event()
        self._first_stop_at = 0.0
        loop = asyncio.get_running_loop()
        signals = (signal.SIGINT, signal.SIGTERM) if handle_signals else ()
        for sig in signals:
            loop.add_signal_handler(sig, self.request_stop)
        try:
            tasks = [
                asyncio.create_task(self._keep_running(child), name=child.spec.name)
                for child in self._children
            ]
            all_done = asyncio.gather(*tasks, return_exceptions=True)
            stop_wait = asyncio.create_task(self._stop_requested.wait())
            first: set[asyncio.Future[Any]] = {all_done, stop_wait}
            await asyncio.wait(first, return_when=asyncio.FIRST_COMPLETED)
            await self._shutdown(tasks)
            stop_wait.cancel()
            results = await all_done
        finally:
            for sig in signals:
                loop.remove_signal_handler(sig)
        failures = [r for r in results if isinstance(r, BaseException)]
        for failure in failures:
            self._say(f"internal error: {failure!r}")
        return 1 if failures else 0

    def request_stop(self) -> None:
        """Begin the shutdown (what SIGINT/SIGTERM do); a second call skips the grace period.

        A repeat within :data:`DUPLICATE_SIGNAL_WINDOW_S` is the same Ctrl-C delivered twice
        (the terminal signals the whole foreground group and ``uv run`` forwards it again), not
        an impatient user, so it is ignored.
        """
        if self._stop_requested is None:
            return
        now = time.monotonic()
        if self._stop_requested.is_set():
            if now - self._first_stop_at < self._duplicate_window_s:
                return
            assert self._force is not None
            self._say("second signal: killing every child now")
            self._force.set()
            return
        self._first_stop_at = now
        self._say("stopping: SIGTERM to every child")
        self._stop_requested.set()

    def _is_stopping(self) -> bool:
        # A method, not the attribute, at call sites: the flag changes across awaits.
        return self._stopping

    # -- one child ----------------------------------------------------------------------------

    async def _keep_running(self, child: _Child) -> None:
        loop = asyncio.get_running_loop()
        backoff = self._policy.new_backoff()
        while not self._is_stopping():
            started = loop.time()
            code = await self._run_once(child)
            if self._is_stopping():
                return
            if code == 0:
                self._say(f"{child.spec.name} exited cleanly; not restarting")
                return
            delay = self._policy.next_delay(backoff, ran_for_s=loop.time() - started)
            what = describe_exit(code) if code is not None else "could not start"
            self._say(f"{child.spec.name} {what}; restarting in {delay:.1f} s")
            assert self._stop_requested is not None
            await sleep_until_stop(self._stop_requested, delay)

    async def _run_once(self, child: _Child) -> int | None:
        spec = child.spec
        try:
            process = await asyncio.create_subprocess_exec(
                *spec.argv,
                env=dict(spec.env) if spec.env is not None else None,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=pdeathsig_preexec(),
            )
        except OSError as exc:
            self._say(f"{spec.name}: {exc}")
            return None
        child.process = process
        self._say(f"{spec.name} started (pid {process.pid})")
        if self._is_stopping():  # the shutdown began while this child was being spawned
            _signal_group(process.pid, signal.SIGTERM)
        assert process.stdout is not None
        pump = asyncio.create_task(self._pump(child, process.stdout))
        code = await process.wait()
        # Whatever the child left in its process group goes with it; this also closes the pipe
        # when a grandchild held it. The group id is the child's pid (start_new_session).
        _signal_group(process.pid, signal.SIGKILL)
        child.process = None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(pump), _DRAIN_TIMEOUT_S)
        pump.cancel()
        return code

    async def _pump(self, child: _Child, stream: asyncio.StreamReader) -> None:
        buffer = b""
        while chunk := await stream.read(_READ_CHUNK):
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                self._emit(child, line)
            while len(buffer) > _MAX_LINE:
                self._emit(child, buffer[:_MAX_LINE])
                buffer = buffer[_MAX_LINE:]
        if buffer:
            self._emit(child, buffer)

    # -- shutdown -----------------------------------------------------------------------------

    async def _shutdown(self, tasks: list[asyncio.Task[None]]) -> None:
        self._stopping = True
        for child in self._children:
            if child.process is not None and child.process.returncode is None:
                _signal_group(child.process.pid, signal.SIGTERM)
        pending = {task for task in tasks if not task.done()}
        if not pending:
            return
        assert self._force is not None
        force_wait = asyncio.create_task(self._force.wait())
        all_exited = asyncio.gather(*pending, return_exceptions=True)
        either: set[asyncio.Future[Any]] = {all_exited, force_wait}
        await asyncio.wait(
            either,
            timeout=self._stop_timeout_s,
            return_when=asyncio.FIRST_COMPLETED,
        )
        force_wait.cancel()
        for child in self._children:
            if child.process is not None and child.process.returncode is None:
                self._say(f"{child.spec.name} still running; sending SIGKILL")
                _signal_group(child.process.pid, signal.SIGKILL)
        await all_exited

    # -- output -------------------------------------------------------------------------------

    def _emit(self, child: _Child, raw: bytes) -> None:
        text = raw.decode("utf-8", errors="replace").rstrip("\r")
        self._write(format_line(child.spec.name, self._width, text, child.color))

    def _say(self, text: str) -> None:
        self._write(format_line(SUPERVISOR_NAME, self._width, text))

    def _write(self, line: str) -> None:
        with contextlib.suppress(OSError, ValueError):  # a closed terminal must not stop shutdown
            self._out.write(line)
            self._out.flush()


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
