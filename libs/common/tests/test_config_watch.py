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


class TestWatcherSurvives:
    """Whatever an edit holds, the watcher keeps the last good config and applies the next."""

    async def test_python_tag_edit_is_rejected_then_a_fix_applies(
        self, config_dir: Path, watcher: ConfigWatcher[IsrConfig], received: list[IsrConfig]
    ) -> None:
        """A `!!python/tuple` edit (once fatal to the watcher) is an issue; a later fix applies."""
        with capture_logs() as logs:
            write_atomically(
                config_dir / "servers.yml",
                servers_yml("Bad").replace("log_path: a.log", "log_path: !!python/tuple [a]"),
            )
            await wait_for(lambda: any(e["event"] == "config.reload_rejected" for e in logs))
            write_atomically(config_dir / "servers.yml", servers_yml("Fixed"))
            await wait_for(lambda: len(received) == 1)

        [issue] = [e for e in logs if e["event"] == "config.issue"]
        assert (issue["line"], issue["field"]) == (4, "servers.alpha.log_path")
        assert "!!python/tuple is not supported" in issue["problem"]
        assert names(received) == ["Fixed"]

    async def test_alias_bomb_edit_is_rejected(
        self, config_dir: Path, watcher: ConfigWatcher[IsrConfig], received: list[IsrConfig]
    ) -> None:
        """A 7-level alias bomb (1.24 GB in the live poller once) is refused by its value count."""
        bomb = ["x0: &x0 [a, a, a, a, a, a, a, a, a]"]
        bomb += [f"x{i}: &x{i} [{', '.join([f'*x{i - 1}'] * 9)}]" for i in range(1, 7)]
        with capture_logs() as logs:
            write_atomically(config_dir / "servers.yml", "\n".join(bomb) + "\n")
            await wait_for(lambda: any(e["event"] == "config.reload_rejected" for e in logs))
            write_atomically(config_dir / "servers.yml", servers_yml("Fixed"))
            await wait_for(lambda: len(received) == 1)

        [issue] = [e for e in logs if e["event"] == "config.issue"]
        assert "counting each use of an alias" in issue["problem"]
        assert names(received) == ["Fixed"]

    async def test_dev_zero_in_place_of_the_file_is_rejected(
        self, config_dir: Path, watcher: ConfigWatcher[IsrConfig], received: list[IsrConfig]
    ) -> None:
        """servers.yml replaced by a symlink to /dev/zero is refused; the fix is applied."""
        with capture_logs() as logs:
            link = config_dir / "servers.yml.link"
            link.symlink_to("/dev/zero")
            link.replace(config_dir / "servers.yml")
            await wait_for(lambda: any(e["event"] == "config.reload_rejected" for e in logs))
            write_atomically(config_dir / "servers.yml", servers_yml("Fixed"))
            await wait_for(lambda: len(received) == 1)

        [issue] = [e for e in logs if e["event"] == "config.issue"]
        assert issue["problem"] == "file is a character device, not a regular file"
        assert names(received) == ["Fixed"]

    async def test_loader_exception_is_survived(
        self, tmp_path: Path, no_internal_errors: list[tuple[BaseException, str]]
    ) -> None:
        """A loader raising something other than ConfigError is reported; the next edit loads."""
        calls: list[int] = []
        seen: list[str] = []

        def load(config_dir: Path) -> str:
            calls.append(1)
            if len(calls) == 1:
                raise RuntimeError("loader bug")
            return (config_dir / "a.yml").read_text()

        async def on_change(value: str) -> None:
            seen.append(value)

        (tmp_path / "a.yml").write_text("first")
        watcher = ConfigWatcher(
            tmp_path, on_change, load=load, patterns=("a.yml",), interval_s=POLL_S
        )
        task = asyncio.create_task(watcher.run())
        try:
            await wait_for(lambda: len(calls) == 1)
            (tmp_path / "a.yml").write_text("second")
            await wait_for(lambda: seen == ["second"])
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

        assert [type(exc) for exc, _ in no_internal_errors] == [RuntimeError]
        no_internal_errors.clear()  # reported on purpose

    async def test_on_change_exception_is_survived(
        self, tmp_path: Path, no_internal_errors: list[tuple[BaseException, str]]
    ) -> None:
        """An on_change that raises is reported; the watcher keeps the old value and goes on."""
        seen: list[str] = []

        async def on_change(value: str) -> None:
            if value == "boom":
                raise ValueError("cannot apply")
            seen.append(value)

        (tmp_path / "a.yml").write_text("boom")
        watcher = ConfigWatcher(
            tmp_path,
            on_change,
            load=lambda d: (d / "a.yml").read_text(),
            patterns=("a.yml",),
            interval_s=POLL_S,
            current="start",
        )
        task = asyncio.create_task(watcher.run())
        try:
            await wait_for(lambda: len(no_internal_errors) == 1)
            current_after_failure = watcher.current
            (tmp_path / "a.yml").write_text("good")
            await wait_for(lambda: seen == ["good"])
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

        assert (current_after_failure, watcher.current) == ("start", "good")
        no_internal_errors.clear()  # reported on purpose


def _append_to(received: list[IsrConfig]) -> Callable[[IsrConfig], Any]:
    async def on_change(config: IsrConfig) -> None:
        received.append(config)

    return on_change


async def test_watcher_without_secrets_reloads_a_config_whose_password_is_unavailable(
    tmp_path: Path,
) -> None:
    """resolve_secrets=False delivers a reload naming a password nobody gave this process."""
    rcon = "    rcon: {password_file: secrets/alpha}\n"
    write_atomically(
        tmp_path / "servers.yml", servers_yml("One").replace("    rcon: {enabled: false}\n", rcon)
    )
    received: list[IsrConfig] = []

    async def on_change(config: IsrConfig) -> None:
        received.append(config)

    shape_only = ConfigWatcher(
        tmp_path, on_change, environ={}, resolve_secrets=False, interval_s=POLL_S
    )
    resolving = ConfigWatcher(tmp_path, on_change, environ={}, interval_s=POLL_S)

    assert await shape_only.poll() is True
    with capture_logs() as logs:
        assert await resolving.poll() is False
    (config,) = received
    rcon_config = config.servers["alpha"].rcon
    assert rcon_config is not None
    assert str(rcon_config.password_ref) == f"file:{tmp_path / 'secrets' / 'alpha'}"
    with pytest.raises(LookupError, match="only the rcon-poller reads them"):
        rcon_config.password  # noqa: B018 - the property raises
    assert any("does not exist" in str(entry.get("problem")) for entry in logs)
