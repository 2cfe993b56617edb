"""`isr` entry points: a bad environment variable is one clear line (exit 2); --version."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def _run(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "isr_cli", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        (["parser"], {"ISR_NATS_URL": "http://x"}, "isr parser: ISR_NATS_URL must start with"),
        (
            ["parser"],
            {"ISR_PARSER_BATCH_SIZE": "abc"},
            "isr parser: ISR_PARSER_BATCH_SIZE: Input should be a valid integer",
        ),
        (
            ["persistence"],
            {"ISR_DATABASE_POOL_MAX_SIZE": "many"},
            "isr persistence: ISR_DATABASE_POOL_MAX_SIZE: Input should be a valid integer",
        ),
        (
            ["rcon-poller"],
            {"ISR_RCON_POLLER_BACKOFF_MAX_S": "-1"},
            "isr rcon-poller: ISR_RCON_POLLER_BACKOFF_MAX_S: Input should be greater than 0",
        ),
        (
            ["tailer", "--server", "a"],
            {"ISR_LOG_FORMAT": "fancy"},
            "isr tailer: ISR_LOG_FORMAT: Input should be 'auto', 'console' or 'json'",
        ),
        (["bot"], {"ISR_HEALTH_PORT": "99999"}, "isr bot: ISR_HEALTH_PORT: Input should be"),
    ],
)
def test_bad_variable_is_one_line_without_traceback(args, env, expected):
    """A bad variable prints one line naming it and the problem, exits 2, and shows no traceback."""
    result = _run(args, **env)

    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith(expected)
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_secret_value_is_never_echoed():
    """A bad database URL is reported by name without the password in it."""
    result = _run(["persistence"], ISR_DATABASE_URL="mysql://u:hunter2secret@h/db")

    assert "hunter2secret" not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


def test_version_prints_the_installed_version():
    """`isr --version` prints the version of the installed distribution and exits 0."""
    from importlib.metadata import version  # noqa: PLC0415

    result = _run(["--version"])

    assert result.returncode == 0
    assert result.stdout.strip() == f"isr {version('isr-cli')}"


@pytest.mark.parametrize("service", ["parser"])
def test_sigterm_while_nats_never_answered_exits_cleanly(tmp_path, service):
    """A service still waiting for its first NATS connection stops on SIGTERM with status 0."""
    env = {
        **os.environ,
        "ISR_NATS_URL": "nats://127.0.0.1:1",
        "ISR_HEALTH_ENABLED": "false",
        "ISR_CONFIG_DIR": str(tmp_path),
        "ISR_LOG_FORMAT": "json",
    }
    child = subprocess.Popen(
        [sys.executable, "-m", "isr_cli", service],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert child.stdout is not None
        for line in child.stdout:  # the first failed attempt proves it is waiting for NATS
            if "nats_error" in line or "nats_unreachable" in line:
                break
        child.terminate()
        code = child.wait(timeout=20)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert code == 0
