"""Reload configuration when its files change, keeping the last good version on a bad edit.

:class:`ConfigWatcher` polls the watched files every ``interval_s``. A file's fingerprint is
its modification time, size and SHA-256, so an edit is seen even when the clock's granularity
hides it and a mere ``touch`` costs one reload attempt but no callback. On a change it loads the
directory again:

- valid and different from the current config: ``on_change(new)`` is awaited and the new
  config becomes current;
- valid and equal (only comments or formatting changed): nothing happens;
- invalid: every issue is logged and the current config stays (``on_change`` is not called);
  the watcher tries again on the next change.

A watcher never dies of a bad edit, whatever the edit holds: a loader that raises something
other than :class:`ConfigError` (a bug; it should not happen), an ``on_change`` that raises, or
a file that cannot even be fingerprinted is reported as an internal error (logged with its
traceback) and the watcher carries on with the last good config, applying the next valid edit.

Files are hashed and loaded in a worker thread, so a slow disk does not stall the event loop.
Secret files referenced by ``*_file`` are re-read on every reload, but a change to them alone
does not trigger one; nor can a running process see a changed environment variable.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Generic, TypeVar, overload

import structlog

from common.config.errors import ConfigError
from common.config.files import FileReadError, read_regular_file
from common.config.limits import YAML_MAX_BYTES
from common.config.loader import SERVERS_FILE, load_config
from common.config.models import IsrConfig
from common.internal_errors import report_internal_error

ConfigT = TypeVar("ConfigT")

_Fingerprint = tuple[tuple[str, int, int, str], ...]


class ConfigWatcher(Generic[ConfigT]):
    """Polls files of a config directory and hands each new valid config to ``on_change``.

    ``ConfigWatcher(config_dir, on_change)`` watches ``servers.yml`` and delivers
    :class:`IsrConfig` values loaded with :func:`load_config`. Pass ``load`` and ``patterns``
    to watch other files (``patterns=("patterns/*.yml",)``) with another loader.

    Args:
        config_dir: the configuration directory.
        on_change: awaited with each new valid config; an exception it raises is reported as an
            internal error and the watcher keeps polling (the config stays the previous one).
        load: builds the config from the directory; raises ConfigError when it is invalid
            (default: :func:`load_config` with ``environ``).
        environ: environment for the default loader's ``*_env`` references.
        resolve_secrets: for the default loader: False checks secret references for shape
            only (:func:`load_config`), for a service that never sends the secret (the bot
            and parser do not speak RCON, so they are not given the RCON passwords).
        patterns: globs, relative to ``config_dir``, of the files whose changes matter.
        interval_s: seconds between two polls.
        current: the config the caller already runs with; without one, the first valid
            load is delivered to ``on_change`` too.
    """

    @overload
    def __init__(
        self: ConfigWatcher[IsrConfig],
        config_dir: Path,
        on_change: Callable[[IsrConfig], Awaitable[None]],
        *,
        environ: Mapping[str, str] | None = None,
        resolve_secrets: bool = True,
        interval_s: float = 1.0,
        current: IsrConfig | None = None,
    ) -> None: ...

    @overload
    def __init__(
        self,
        config_dir: Path,
        on_change: Callable[[ConfigT], Awaitable[None]],
        *,
        load: Callable[[Path], ConfigT],
        patterns: Sequence[str],
        interval_s: float = 1.0,
        current: ConfigT | None = None,
    ) -> None: ...

    def __init__(
        self,
        config_dir: Path,
        on_change: Callable[[Any], Awaitable[None]],
        *,
        load: Callable[[Path], Any] | None = None,
        environ: Mapping[str, str] | None = None,
        resolve_secrets: bool = True,
        patterns: Sequence[str] = (SERVERS_FILE,),
        interval_s: float = 1.0,
        current: Any = None,
    ) -> None:
        if interval_s <= 0:
            raise ValueError(f"interval_s must be > 0, got {interval_s}")
        self._config_dir = config_dir
        self._load = load or functools.partial(
            load_config, environ=environ, resolve_secrets=resolve_secrets
        )
        self._on_change = on_change
        self._patterns = tuple(patterns)
        self._interval_s = interval_s
        self._current: ConfigT | None = current
        self._seen: _Fingerprint | None = None

    @property
    def current(self) -> ConfigT | None:
        """The last valid config (the one given at construction until a reload succeeds)."""
        return self._current

    async def run(self) -> None:
        """Poll until cancelled; no exception of a poll ends it (each one is logged)."""
        while True:
            try:
                await self.poll()
            except Exception as exc:  # the watcher outlives any one poll
                report_internal_error(exc, f"config watcher of {self._config_dir}")
            await asyncio.sleep(self._interval_s)

    async def poll(self) -> bool:
        """Check the files once; True when ``on_change`` was called with a new config."""
        fingerprint = await asyncio.to_thread(self._fingerprint)
        if fingerprint == self._seen:
            return False
        self._seen = fingerprint
        log = structlog.get_logger()
        keeping = "the last valid config" if self._current is not None else "nothing"
        try:
            config = await asyncio.to_thread(self._load, self._config_dir)
        except ConfigError as exc:
            for issue in exc.issues:
                log.error(
                    "config.issue",
                    file=str(issue.file),
                    line=issue.line,
                    field=issue.field,
                    problem=issue.message,
                )
            log.warning(
                "config.reload_rejected",
                config_dir=str(self._config_dir),
                issues=len(exc.issues),
                keeping=keeping,
            )
            return False
        except Exception as exc:  # a loader bug must not end the watcher
            report_internal_error(exc, f"config reload of {self._config_dir}, keeping {keeping}")
            return False
        if config == self._current:
            return False
        try:
            await self._on_change(config)
        except Exception as exc:  # logged; the next valid edit is applied
            report_internal_error(exc, f"applying the config of {self._config_dir}")
            return False
        self._current = config
        log.info("config.reloaded", config_dir=str(self._config_dir))
        return True

    def _fingerprint(self) -> _Fingerprint:
        entries = []
        paths = {path for pattern in self._patterns for path in self._config_dir.glob(pattern)}
        for path in sorted(paths):
            try:
                stat = path.stat()
            except OSError:
                continue  # vanished between glob and stat: the next poll sees the new state
            try:
                # Bounded like the loader's own read: /dev/zero or a FIFO here must not hang
                # or exhaust the watcher; the load that follows reports what is wrong.
                content = read_regular_file(path, max_bytes=YAML_MAX_BYTES)
                digest = hashlib.sha256(content).hexdigest()
            except (OSError, FileReadError) as exc:
                digest = f"unreadable: {exc}"
            entries.append((str(path), stat.st_mtime_ns, stat.st_size, digest))
        return tuple(entries)
