"""Hot reload of the pattern files: new set within a second, bad edits never take effect.

Every worker watches the pattern files itself (they are on a shared volume or ConfigMap). The
watcher compares a fingerprint of the files (names, sizes, mtimes) every ``interval_s``; on a
change it loads and self-tests the whole set off the event loop. A valid set replaces the current
one atomically (a batch in progress finishes with the set it started with). An invalid set is
refused: every problem is logged, an alert is raised, and the last good set keeps running.

Nothing a file holds can stop the watching: the loader turns every malformed file into
problems, an unexpected exception while loading is reported as an internal error and treated
as a refused reload (alert included), and an alert that cannot be published (NATS away) is
logged; the next edit is checked as usual.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import structlog

from common.backoff import sleep_until_stop
from common.config.errors import ConfigIssue
from common.internal_errors import report_internal_error
from parser.patterns.engine import PatternSet
from parser.patterns.loader import LoadResult, load_patterns, pattern_files

log = structlog.get_logger()

OnInvalid = Callable[[Sequence[ConfigIssue]], Awaitable[None]]
"""Told about a refused reload (e.g. to publish an alert)."""


class PatternHolder:
    """The current pattern set; replaced whole, never mutated."""

    def __init__(self, patterns: PatternSet) -> None:
        self.current = patterns
        self.generation = 0
        """Counts successful reloads."""


def fingerprint(config_dir: Path | None) -> tuple[tuple[str, int, int], ...]:
    """What identifies the current state of the pattern files."""
    out = []
    for path in pattern_files(config_dir):
        try:
            st = path.stat()
        except OSError:
            continue
        out.append((path.name, st.st_size, st.st_mtime_ns))
    return tuple(out)


class PatternReloader:
    """Watches the pattern files and swaps the holder's set when they change validly."""

    def __init__(
        self,
        holder: PatternHolder,
        *,
        config_dir: Path | None,
        packs: Sequence[str],
        on_invalid: OnInvalid,
        interval_s: float = 0.5,
    ) -> None:
        self._holder = holder
        self._config_dir = config_dir
        self._packs = tuple(packs)
        self._on_invalid = on_invalid
        self._interval_s = interval_s
        self._seen = fingerprint(config_dir)

    async def check_once(self) -> bool:
        """Reload if the files changed; True when a new set was installed."""
        now = fingerprint(self._config_dir)
        if now == self._seen:
            return False
        self._seen = now
        try:
            result = await asyncio.to_thread(load_patterns, self._config_dir, packs=self._packs)
        except Exception as exc:  # a loader bug: refuse the reload, keep watching
            report_internal_error(exc, "pattern reload")
            folder = Path("patterns") if self._config_dir is None else self._config_dir / "patterns"
            reason = f"could not be loaded ({type(exc).__name__}); see the parser's log"
            result = LoadResult(None, (ConfigIssue(folder, None, "", reason),), ())
        if result.patterns is None:
            for issue in result.issues:
                log.error("pattern_reload_refused", problem=str(issue))
            log.error("pattern_reload_kept_previous_set", problems=len(result.issues))
            try:
                await self._on_invalid(result.issues)
            except Exception as exc:  # e.g. NATS away; the refusal is logged above
                log.warning("pattern_alert_not_published", error=f"{type(exc).__name__}: {exc}")
            return False
        self._holder.current = result.patterns
        self._holder.generation += 1
        log.info("patterns_reloaded", patterns=len(result.patterns), files=list(result.files))
        return True

    async def run(self, stop: asyncio.Event) -> None:
        """Check every ``interval_s`` until ``stop`` is set."""
        while not await sleep_until_stop(stop, self._interval_s):
            try:
                await self.check_once()
            except Exception as exc:  # the watcher outlives any one check
                report_internal_error(exc, "pattern reload check")
