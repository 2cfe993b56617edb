"""`ConsoleLogWriter`: appends lines to a `--console-log` file the way Factorio does.

The file is opened in append mode and kept open, and every line is flushed as it is written,
so a tailer sees it at once. Like Factorio, the writer keeps its file descriptor: a log that is
renamed away keeps receiving lines until `reopen()` is called (that is what a rename-rotation
test needs), and a copy-truncate is harmless because append mode always writes at the end.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Self, TextIO

from simulator import log_lines
from simulator.clock import Clock, SystemClock

if TYPE_CHECKING:
    from collections.abc import Iterable
    from datetime import datetime
    from types import TracebackType

__all__ = ["ConsoleLogWriter"]


class ConsoleLogWriter:
    """Writes whole lines to one console-log file, stamping them from an injected clock.

    `uptime_s()` counts from construction, which stands for the moment the server process
    started; `start()` writes the engine preamble, `stop()` the shutdown lines.
    """

    def __init__(self, path: Path | str, *, clock: Clock | None = None) -> None:
        self.path = Path(path)
        self.clock: Clock = clock if clock is not None else SystemClock()
        self._started_monotonic = self.clock.monotonic()
        self._started_at = self.clock.now()
        self._file: TextIO | None = None
        self.lines_written = 0
        self._open()

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("a", encoding="utf-8", newline="\n")

    def now(self) -> datetime:
        """Wall time for date-stamped lines."""
        return self.clock.now()

    def uptime_s(self) -> float:
        """Seconds since the simulated process started, for engine lines."""
        return self.clock.monotonic() - self._started_monotonic

    def write(self, line: str) -> None:
        """Append one line (a trailing newline is added) and flush it."""
        self.write_many((line,))

    def write_many(self, lines: Iterable[str]) -> None:
        """Append several lines with one flush; each must be a single line (no newline)."""
        if self._file is None:
            raise ValueError(f"console log {self.path} is closed")
        chunk = "".join(f"{line}\n" for line in lines)
        if not chunk:
            return
        self._file.write(chunk)
        self._file.flush()
        self.lines_written += chunk.count("\n")

    def start(
        self,
        *,
        game_port: int = 34197,
        rcon: tuple[str, int] | None = None,
        version: str = log_lines.FACTORIO_VERSION,
    ) -> None:
        """Write the engine preamble, the banner first and the RCON marker last if `rcon`.

        Uptime then continues from where the preamble's fixed offsets end, never backwards.
        """
        self._started_monotonic = self.clock.monotonic() - log_lines.STARTUP_DURATION_S
        lines = log_lines.startup_lines(
            self._started_at, game_port=game_port, rcon=rcon, version=version
        )
        self.write_many(lines)

    def stop(self, *, signal_name: str = "SIGINT", save_path: str = "saves/world.zip") -> None:
        """Write the shutdown lines of a graceful stop, ending with `Goodbye`."""
        self.write_many(
            log_lines.shutdown_lines(self.uptime_s(), signal_name=signal_name, save_path=save_path)
        )

    def reopen(self) -> None:
        """Close and reopen the path, as a server restarted after a rename rotation would."""
        self.close()
        self._open()

    def close(self) -> None:
        """Close the file; further writes raise."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
