"""Parser workers: scaling out, hot reload of pattern files, stdin tailing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nats
import pytest

from common.contracts import Alert, GameEvent
from isr_testing.pipeline import service_env, write_config
from isr_testing.processes import ServiceProcess
from isr_testing.streams import read_events
from isr_testing.waiting import wait_for

pytestmark = [pytest.mark.nats, pytest.mark.slow]


def _config(tmp_path: Path, log: Path) -> Path:
    config = write_config(tmp_path / "config", {"srv": log})
    (config / "patterns").mkdir(exist_ok=True)
    return config


def _env(url: str, prefix: str, config: Path) -> dict[str, str]:
    return service_env(url, prefix, config, ISR_PARSER_RELOAD_INTERVAL_S="0.2")


async def _read(url: str, subject: str, count: int) -> list[GameEvent | Alert]:
    nc = await nats.connect(url)
    try:
        return await read_events(nc.jetstream(), subject, count=count, timeout_s=60)
    finally:
        await nc.close()


async def test_three_workers_produce_each_event_once(tmp_path: Path, nats_server, nats_prefix):
    """Three workers on one durable consumer publish every event exactly once."""
    log = tmp_path / "console.log"
    log.write_text("".join(f"2026-11-27 12:00:00 [CHAT] p{i}: message {i}\n" for i in range(6000)))
    env = _env(nats_server.url, nats_prefix, _config(tmp_path, log))
    env["ISR_PARSER_BATCH_SIZE"] = "2"  # small fetches so all three workers take part
    procs = [ServiceProcess("tailer", ["tailer", "--server", "srv"], env, tmp_path)]
    procs += [ServiceProcess(f"parser{i}", ["parser"], env, tmp_path) for i in range(3)]
    for proc in procs:
        proc.start()
    try:
        events = await _read(nats_server.url, f"{nats_prefix}.events.srv.chat", 6000)
    finally:
        codes = [p.terminate() for p in procs]

    assert codes == [0, 0, 0, 0]
    assert sorted(e.message or "" for e in events) == sorted(f"message {i}" for i in range(6000))
    offsets = sorted(e.source.offset for e in events if isinstance(e, GameEvent) and e.source)
    assert len(set(offsets)) == 6000
    assert all("patterns_loaded" in p.output() for p in procs[1:])


RESTART_PATTERN = """\
patterns:
  - name: restart_warning
    type: restart_warning
    regex: '^\\[SERVER\\] Server restart in (?P<minutes>\\d+) minutes?$'
    examples:
      - line: '2026-11-27 12:00:00 [SERVER] Server restart in 5 minutes'
        expect: {minutes: '5'}
"""


async def test_hot_reload_switches_patterns_and_refuses_bad_edits(
    tmp_path: Path, nats_server, nats_prefix
):
    """A valid edit takes effect without restart; an invalid one keeps the old set and alerts."""
    log = tmp_path / "console.log"
    log.write_text("")
    config = _config(tmp_path, log)
    env = _env(nats_server.url, nats_prefix, config)
    procs = [
        ServiceProcess("tailer", ["tailer", "--server", "srv"], env, tmp_path),
        ServiceProcess("parser", ["parser"], env, tmp_path),
    ]
    for proc in procs:
        proc.start()
    try:
        await wait_for(lambda: "patterns_loaded" in procs[1].output(), what="parser started")
        (config / "patterns" / "server.yml").write_text(RESTART_PATTERN)
        await wait_for(lambda: "patterns_reloaded" in procs[1].output(), what="reload")
        with log.open("a") as f:
            f.write("2026-11-27 12:00:01 [SERVER] Server restart in 5 minutes\n")
        [event] = await _read(nats_server.url, f"{nats_prefix}.events.srv.restart_warning", 1)
        assert isinstance(event, GameEvent)
        assert event.data == {"minutes": "5"}

        (config / "patterns" / "server.yml").write_text(
            RESTART_PATTERN.replace("(?P<minutes>\\d+)", "(\\d+)")
        )
        [alert] = await _read(
            nats_server.url, f"{nats_prefix}.events._system.alert.patterns_invalid", 1
        )
        with log.open("a") as f:
            f.write("2026-11-27 12:00:02 [SERVER] Server restart in 7 minutes\n")
        events = await _read(nats_server.url, f"{nats_prefix}.events.srv.restart_warning", 2)
    finally:
        codes = [p.terminate() for p in procs]

    assert isinstance(alert, Alert)
    assert "unnamed" in " ".join(alert.details["problems"])
    assert [e.data for e in events if isinstance(e, GameEvent)] == [
        {"minutes": "5"},
        {"minutes": "7"},
    ]
    assert "pattern_reload_refused" in procs[1].output()
    assert codes == [0, 0]


async def test_stdin_mode_publishes_piped_output(tmp_path: Path, nats_server, nats_prefix):
    """`isr tailer --log -` publishes lines piped to it and exits 0 at end of input."""
    log = tmp_path / "unused.log"
    env = _env(nats_server.url, nats_prefix, _config(tmp_path, log))
    lines = "".join(f"2026-11-27 12:00:00 [JOIN] p{i} joined the game\n" for i in range(20))
    parser = ServiceProcess("parser", ["parser"], env, tmp_path).start()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "isr_cli", "tailer", "--server", "srv", "--log", "-"],
            input=lines.encode(),
            env={**parser.env},
            capture_output=True,
            timeout=60,
            check=False,
        )
        events = await _read(nats_server.url, f"{nats_prefix}.events.srv.join", 20)
    finally:
        parser.terminate()

    assert result.returncode == 0, result.stderr.decode()[-2000:]
    assert [e.player for e in events if isinstance(e, GameEvent)] == [f"p{i}" for i in range(20)]
