"""ConfigWatcher: reload servers.yml on change, keep the last good config on a bad edit."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, MutableMapping
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from common.config import ConfigWatcher, IsrConfig, load_config

POLL_S = 0.01


def servers_yml(name: str, *, interval: str = "10") -> str:
    """A one-server servers.yml with display ``name`` and stats ``interval``."""
    return (
        "servers:\n"
        "  alpha:\n"
        f"    name: {name}\n"
        "    log_path: a.log\n"
        "    rcon: {enabled: false}\n"
        f"    stats: {{interval_s: {interval}}}\n"
    )


def write_atomically(path: Path, text: str) -> None:
    """Write ``path`` atomically (temp file + rename), as editors and Kubernetes do."""
    temp = path.with_name(path.name + ".tmp")
    temp.write_text(text)
    temp.replace(path)


async def wait_for(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    """Poll ``condition`` until it holds; fail the test after ``timeout_s``."""
    async with asyncio.timeout(timeout_s):
        while not condition():
            await asyncio.sleep(POLL_S)


@pytest.fixture(name="config_dir")
def _config_dir(tmp_path: Path) -> Path:
    """A config dir holding a valid servers.yml named "One"."""
    write_atomically(tmp_path / "servers.yml", servers_yml("One"))
    return tmp_path


@pytest.fixture(name="received")
def _received() -> list[IsrConfig]:
    """Every config the watcher delivered, in order."""
    return []


@pytest.fixture(name="watcher")
async def _watcher(
    config_dir: Path, received: list[IsrConfig]
) -> AsyncIterator[ConfigWatcher[IsrConfig]]:
    """A running watcher of config_dir that starts from the file's current config."""

    async def on_change(config: IsrConfig) -> None:
        received.append(config)

    watcher = ConfigWatcher(
        config_dir,
        on_change,
        environ={},
        interval_s=POLL_S,
        current=load_config(config_dir, environ={}),
    )
    task = asyncio.create_task(watcher.run())
    yield watcher
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def names(configs: list[IsrConfig]) -> list[str]:
    """The alpha server's name in each config."""
    return [config.servers["alpha"].name for config in configs]


class TestConfigWatcher:
    async def test_reloads_on_change(
        self, config_dir: Path, watcher: ConfigWatcher[IsrConfig], received: list[IsrConfig]
    ) -> None:
        """An edit to servers.yml delivers the new config and makes it current."""
        write_atomically(config_dir / "servers.yml", servers_yml("Two"))

        await wait_for(lambda: len(received) == 1)

        assert watcher.current is not None
        assert (names(received), watcher.current.servers["alpha"].name) == (["Two"], "Two")

    async def test_invalid_edit_keeps_last_good(
        self, config_dir: Path, watcher: ConfigWatcher[IsrConfig], received: list[IsrConfig]
    ) -> None:
        """A bad edit logs every issue and keeps the current config; a fix is then picked up."""
        logs: list[MutableMapping[str, Any]]
        with capture_logs() as logs:
            write_atomically(
                config_dir / "servers.yml", servers_yml("Bad", interval="0") + "    x: 1\n"
            )
            await wait_for(lambda: any(e["event"] == "config.reload_rejected" for e in logs))
            write_atomically(config_dir / "servers.yml", servers_yml("Fixed"))
            await wait_for(lambda: len(received) == 1)

        issues = [(e["line"], e["field"]) for e in logs if e["event"] == "config.issue"]
        assert issues == [(6, "servers.alpha.stats.interval_s"), (7, "servers.alpha.x")]
        assert names(received) == ["Fixed"]

    async def test_current_survives_a_bad_edit(
        self, config_dir: Path, watcher: ConfigWatcher[IsrConfig]
    ) -> None:
        """While the file is invalid, current is still the last valid config."""
        with capture_logs() as logs:
            write_atomically(config_dir / "servers.yml", "servers: [\n")
            await wait_for(lambda: any(e["event"] == "config.reload_rejected" for e in logs))

        assert watcher.current is not None
        assert watcher.current.servers["alpha"].name == "One"

    async def test_comment_only_edit_is_not_a_change(
        self, config_dir: Path, received: list[IsrConfig]
    ) -> None:
        """An edit that leaves the config equal (a comment) does not call on_change."""
        watcher = ConfigWatcher(
            config_dir,
            _append_to(received),
            environ={},
            current=load_config(config_dir, environ={}),
        )
        await watcher.poll()
        write_atomically(config_dir / "servers.yml", "# a comment\n" + servers_yml("One"))

        changed = await watcher.poll()

        assert (changed, received) == (False, [])

    async def test_first_load_is_delivered_without_current(
        self, config_dir: Path, received: list[IsrConfig]
    ) -> None:
        """Started without a current config, the watcher delivers the first valid one."""
        watcher = ConfigWatcher(config_dir, _append_to(received), environ={})

        changed = await watcher.poll()

        assert (changed, names(received)) == (True, ["One"])

    async def test_secret_change_is_a_change(
        self, tmp_path: Path, received: list[IsrConfig]
    ) -> None:
        """A new secret value read on reload makes a different config."""
        (tmp_path / "pw").write_text("first-password")
        text = "servers:\n  alpha:\n    log_path: a.log\n    rcon: {password_file: pw}\n"
        write_atomically(tmp_path / "servers.yml", text)
        watcher = ConfigWatcher(tmp_path, _append_to(received), environ={})
        await watcher.poll()
        write_atomically(tmp_path / "pw", "second-password")
        write_atomically(tmp_path / "servers.yml", text + "# touched\n")

        await watcher.poll()

        passwords = []
        for config in received:
            rcon = config.servers["alpha"].rcon
            assert rcon is not None
            passwords.append(rcon.password.get_secret_value())
        assert passwords == ["first-password", "second-password"]

    def test_interval_must_be_positive(self, config_dir: Path) -> None:
        """A zero poll interval is refused."""
        with pytest.raises(ValueError, match="interval_s must be > 0"):
            ConfigWatcher(config_dir, _append_to([]), interval_s=0)

    async def test_generic_loader_and_patterns(self, tmp_path: Path) -> None:
        """Any loader and file pattern can be watched, e.g. a directory of pattern files."""
        (tmp_path / "patterns").mkdir()
        seen: list[list[str]] = []

        def load(config_dir: Path) -> list[str]:
            return sorted(path.read_text() for path in (config_dir / "patterns").glob("*.yml"))

        async def on_change(value: list[str]) -> None:
            seen.append(value)

        watcher = ConfigWatcher(
            tmp_path, load=load, on_change=on_change, patterns=("patterns/*.yml",)
        )
        await watcher.poll()
        (tmp_path / "patterns" / "a.yml").write_text("a")

        await watcher.poll()

        assert seen == [[], ["a"]]


def _append_to(received: list[IsrConfig]) -> Callable[[IsrConfig], Any]:
    async def on_change(config: IsrConfig) -> None:
        received.append(config)

    return on_change
