"""Malformed config edits against running services: rejected with a located problem, survived."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nats
import pytest
from nats.js.api import ConsumerConfig, DeliverPolicy

from common.contracts import Alert, GameEvent, MetricSample
from common.topology import Topology
from isr_testing.pipeline import service_env, write_config
from isr_testing.processes import ServiceProcess
from isr_testing.streams import read_events
from isr_testing.waiting import wait_for
from simulator import ServerSettings, SimulatedServer

pytestmark = [pytest.mark.nats, pytest.mark.slow]

# Each of these crashed every parser replica in a loop (AttributeError, TypeError,
# RecursionError) instead of being refused with a `patterns_invalid` alert.
BAD_EDITS = {
    "merge key in a list": ("x: &a {p: 1}\npatterns: [{<<: *a}]\n", "unknown key"),
    "python tag on a sequence": ("patterns: !!python/tuple [1, 2]\n", "!!python/tuple"),
    "only key is <<": ("<<: {version: 2}\n", "version: expected 1"),
    "5,000 levels": ("[" * 5000 + "]" * 5000, "nested deeper than 64 levels"),
}

RESTART_PATTERN = """\
patterns:
  - name: restart_warning
    type: restart_warning
    regex: '^\\[SERVER\\] Server restart in (?P<minutes>\\d+) minutes?$'
    examples:
      - line: '2026-11-27 12:00:00 [SERVER] Server restart in 5 minutes'
        expect: {minutes: '5'}
"""


async def _read(url: str, subject: str, count: int) -> list[GameEvent | Alert]:
    nc = await nats.connect(url)
    try:
        return await read_events(nc.jetstream(), subject, count=count, timeout_s=60)
    finally:
        await nc.close()


async def test_parser_refuses_malformed_pattern_files_and_keeps_parsing(
    tmp_path: Path, nats_server, nats_prefix
):
    """Each malformed pattern file raises patterns_invalid; chat still flows; a fix applies."""
    log = tmp_path / "console.log"
    log.write_text("")
    config = write_config(tmp_path / "config", {"srv": log})
    (config / "patterns").mkdir()
    env = service_env(nats_server.url, nats_prefix, config, ISR_PARSER_RELOAD_INTERVAL_S="0.2")
    procs = [
        ServiceProcess("tailer", ["tailer", "--server", "srv"], env, tmp_path),
        ServiceProcess("parser", ["parser"], env, tmp_path),
    ]
    for proc in procs:
        proc.start()
    alert_subject = f"{nats_prefix}.events._system.alert.patterns_invalid"
    try:
        await wait_for(lambda: "patterns_loaded" in procs[1].output(), what="parser started")
        for count, (text, _) in enumerate(BAD_EDITS.values(), start=1):
            (config / "patterns" / "site.yml").write_text(text)
            await _read(nats_server.url, alert_subject, count)
        alerts = await _read(nats_server.url, alert_subject, len(BAD_EDITS))
        with log.open("a") as f:
            f.write("2026-11-27 12:00:01 [CHAT] alice: still here\n")
        [chat] = await _read(nats_server.url, f"{nats_prefix}.events.srv.chat", 1)
        (config / "patterns" / "site.yml").write_text(RESTART_PATTERN)
        await wait_for(lambda: "patterns_reloaded" in procs[1].output(), what="reload")
        with log.open("a") as f:
            f.write("2026-11-27 12:00:02 [SERVER] Server restart in 5 minutes\n")
        [restart] = await _read(nats_server.url, f"{nats_prefix}.events.srv.restart_warning", 1)
    finally:
        codes = [p.terminate() for p in procs]

    problems = [" ".join(a.details["problems"]) for a in alerts if isinstance(a, Alert)]
    for problem, (_, fragment) in zip(problems, BAD_EDITS.values(), strict=True):
        assert "site.yml:1:" in problem
        assert fragment in problem
    assert isinstance(chat, GameEvent)
    assert chat.message == "still here"
    assert isinstance(restart, GameEvent)
    assert restart.data == {"minutes": "5"}
    assert "Traceback" not in procs[1].output()
    assert codes == [0, 0]


async def test_poller_survives_a_python_tag_and_applies_the_fixed_password(
    tmp_path: Path, nats_server, nats_prefix
):
    """A `!!python` edit of servers.yml is refused; the later edit with a new password logs in."""
    settings = ServerSettings(
        log_path=tmp_path / "console.log", rcon_port=0, rcon_password="pw-one"
    )
    async with SimulatedServer(settings) as sim:
        sim.add_player("a")
        config = tmp_path / "config"
        config.mkdir()
        (config / "pw").write_text("pw-one\n")
        servers = (
            f"servers:\n  srv:\n    log_path: {tmp_path / 'console.log'}\n"
            f"    rcon:\n      port: {sim.rcon_port}\n      password_file: pw\n"
            "      timeout_s: 1\n    metrics:\n      interval_s: 0.2\n"
        )
        (config / "servers.yml").write_text(servers)
        env = service_env(
            nats_server.url,
            nats_prefix,
            config,
            ISR_RCON_POLLER_RELOAD_INTERVAL_S="0.2",
            ISR_RCON_POLLER_INSTANCE_ID="p1",
        )
        poller = ServiceProcess("poller", ["rcon-poller"], env, tmp_path).start()
        nc = await nats.connect(nats_server.url)
        samples: list[MetricSample] = []

        async def on_metric(msg: Any) -> None:
            samples.append(MetricSample.from_json(msg.data, strict=True))

        sub = None
        try:
            sub = await wait_for(
                lambda: nc.jetstream().subscribe(
                    Topology(nats_prefix).metrics_subject("srv"),
                    cb=on_metric,
                    ordered_consumer=True,
                    config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL),
                ),
                timeout_s=30,
                what="the metrics stream",
            )
            await wait_for(lambda: any(m.rcon_up for m in samples), timeout_s=30, what="up")
            sim.set_rcon_password("pw-two")
            await sim.drop_rcon_connections()
            await wait_for(lambda: not samples[-1].rcon_up, timeout_s=30, what="refused login")

            (config / "servers.yml").write_text(
                servers.replace("password_file: pw", "password_file: !!python/tuple [pw]")
            )
            await wait_for(
                lambda: '"config.reload_rejected"' in poller.output(),
                timeout_s=30,
                what="the bad edit refused",
            )
            (config / "pw").write_text("pw-two\n")
            (config / "servers.yml").write_text(servers + "# password rotated\n")
            await wait_for(lambda: samples[-1].rcon_up, timeout_s=30, what="login with pw-two")
        finally:
            if sub is not None:
                await sub.unsubscribe()
            await nc.close()
            code = poller.terminate()

        output = poller.output()
        assert "YAML tag !!python/tuple is not supported" in output
        assert '"config.reloaded"' in output
        assert "pw-two" not in output
        assert code == 0
