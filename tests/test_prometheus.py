"""A real Prometheus scrapes a real rcon-poller and evaluates the shipped alert rules.

The game metrics arrive, every scraped family is in the catalog, and the low-UPS and RCON-down
alerts fire and resolve.

The stack starts once for the module (:func:`prometheus_stack`): the simulator, one
``isr rcon-poller`` process with ``ISR_HEALTH_METRICS=true`` and Prometheus (scrape and
evaluation every second) with deploy/prometheus/alerts.yml as shipped except that every
``for:`` is shortened to 2 s. Another test can evaluate its own PromQL against the same
Prometheus with ``prometheus_stack.prometheus.query(expr)``.
"""

from __future__ import annotations

import asyncio
import logging
import re
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import yaml

from common.metric_names import SPECS, Metric, prometheus_name
from isr_testing.nats import new_prefix
from isr_testing.processes import ServiceProcess
from isr_testing.prometheus import PrometheusServer, PrometheusTools, free_port
from isr_testing.waiting import wait_for
from simulator import ServerSettings, SimulatedServer

pytestmark = [pytest.mark.nats, pytest.mark.slow]
module_loop = pytest.mark.asyncio(loop_scope="module")
"""The stack's tests share the module's event loop (the simulator runs in it)."""

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
PASSWORD = "prometheus-test-pw"
SERVER = "srv"
TEST_FOR = "2s"
"""Every rule's ``for:`` in the test copy (the shipped expressions stay as they are)."""
_LABELS_ADDED = {"job", "instance"}
"""Labels Prometheus adds to every scraped series (besides ``otel_scope_*``)."""


def shortened_rules(source: Path, target: Path, for_: str = TEST_FOR) -> Path:
    """Copy an alert rules file with every ``for:`` set to ``for_``; returns ``target``."""
    rules = yaml.safe_load(source.read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            rule["for"] = for_
    target.write_text(yaml.safe_dump(rules, sort_keys=False))
    return target


def prometheus_config(targets: list[str], rule_file: Path) -> str:
    """A Prometheus config scraping ``targets`` every second and evaluating ``rule_file``."""
    return yaml.safe_dump(
        {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(rule_file)],
            "scrape_configs": [{"job_name": "isr", "static_configs": [{"targets": targets}]}],
        }
    )


@dataclass
class PrometheusStack:
    """What :func:`prometheus_stack` runs."""

    sim: SimulatedServer
    poller: ServiceProcess
    prometheus: PrometheusServer


@pytest_asyncio.fixture(scope="module", loop_scope="module", name="prometheus_stack")
async def _prometheus_stack(
    tmp_path_factory: pytest.TempPathFactory, nats_server: Any, prometheus_tools: PrometheusTools
) -> AsyncIterator[PrometheusStack]:
    """Simulator, one rcon-poller process serving /metrics, and Prometheus scraping it."""
    tmp = tmp_path_factory.mktemp("prometheus")
    settings = ServerSettings(
        log_path=tmp / "console.log", rcon_port=0, rcon_password=PASSWORD, name=SERVER
    )
    async with SimulatedServer(settings) as sim:
        sim.add_player("alice")
        sim.set_evolution("nauvis", 0.25)
        config = tmp / "config"
        config.mkdir()
        (config / "servers.yml").write_text(
            f"servers:\n  {SERVER}:\n    log_path: {tmp / 'console.log'}\n"
            f"    rcon:\n      port: {sim.rcon_port}\n      password_env: SIM_PW\n"
            "    metrics:\n      interval_s: 0.25\n      lua_metrics: true\n"
        )
        health_port = free_port()
        poller = ServiceProcess(
            "rcon-poller",
            ["rcon-poller"],
            {
                "ISR_NATS_URL": nats_server.url,
                "ISR_PREFIX": new_prefix(),
                "ISR_CONFIG_DIR": str(config),
                "ISR_HEALTH_PORT": str(health_port),
                "ISR_HEALTH_METRICS": "true",
                "ISR_LOG_FORMAT": "json",
                # A short UPS window and backoff so a drop and a recovery show within seconds.
                "ISR_RCON_POLLER_UPS_WINDOW_S": "2",
                "ISR_RCON_POLLER_BACKOFF_MAX_S": "1",
                "SIM_PW": PASSWORD,
            },
            tmp,
        ).start()
        rules = shortened_rules(ALERTS, tmp / "alerts.yml")
        (tmp / "prometheus.yml").write_text(prometheus_config([f"127.0.0.1:{health_port}"], rules))
        prometheus = PrometheusServer(prometheus_tools, tmp / "prometheus.yml", tmp / "prom")
        try:
            await prometheus.start()
            yield PrometheusStack(sim, poller, prometheus)
        finally:
            prometheus.stop()
            poller.terminate()


async def _has_data(prometheus: PrometheusServer, promql: str) -> list[dict[str, Any]]:
    return await prometheus.query(promql)


@module_loop
async def test_game_and_rcon_metrics_reach_prometheus(prometheus_stack: PrometheusStack):
    """Prometheus scraping the poller's /metrics returns every game gauge and the RCON timing."""
    prom = prometheus_stack.prometheus
    expected = {
        f'{prometheus_name(Metric.GAME_UPS)}{{server="{SERVER}"}} > 50': 1,
        f'{prometheus_name(Metric.GAME_TARGET_UPS)}{{server="{SERVER}"}} == 60': 1,
        f'{prometheus_name(Metric.GAME_PLAYERS_ONLINE)}{{server="{SERVER}"}} == 1': 1,
        f'{prometheus_name(Metric.GAME_TIME)}{{server="{SERVER}"}} >= 0': 1,
        f'{prometheus_name(Metric.GAME_EVOLUTION)}{{server="{SERVER}",surface="Nauvis"}}'
        " == 0.25": 1,
        f'{prometheus_name(Metric.GAME_PAUSED)}{{server="{SERVER}"}} == 0': 1,
        f'{prometheus_name(Metric.RCON_UP)}{{server="{SERVER}"}} == 1': 1,
        f"{prometheus_name(Metric.RCON_COMMAND_DURATION)}_count"
        f'{{server="{SERVER}",operation="sc"}} > 0': 1,
    }
    for promql, count in expected.items():
        result = await wait_for(
            lambda q=promql: _has_data(prom, q), timeout_s=60, what=f"{promql} ({prom.url})"
        )
        assert len(result) == count, (promql, result)


def _families() -> dict[str, Metric]:
    names: dict[str, Metric] = {}
    for metric, spec in SPECS.items():
        name = prometheus_name(metric)
        names[name] = metric
        if spec.kind == "histogram":
            for part in ("_bucket", "_sum", "_count"):
                names[f"{name}{part}"] = metric
    return names


@module_loop
async def test_every_scraped_family_is_in_the_catalog_with_its_attributes(
    prometheus_stack: PrometheusStack,
):
    """Each scraped isr_* series is a catalog metric carrying only its declared attributes."""
    prom = prometheus_stack.prometheus
    await wait_for(
        lambda: _has_data(prom, prometheus_name(Metric.GAME_UPS)), timeout_s=60, what="a scrape"
    )
    series = await prom.query('{__name__=~"isr_.*"}')
    families = _families()
    seen: set[str] = set()
    for one in series:
        labels = dict(one["metric"])
        name = labels.pop("__name__")
        assert name in families, f"{name} is not prometheus_name() of any catalog metric"
        spec = SPECS[families[name]]
        allowed = (
            set(spec.attributes) | _LABELS_ADDED | ({"le"} if name.endswith("_bucket") else set())
        )
        extra = {k for k in labels if k not in allowed and not k.startswith("otel_scope_")}
        assert not extra, f"{name} carries undeclared labels {extra}"
        seen.add(name)
    assert prometheus_name(Metric.RCON_UP) in seen


async def _wait_alert(prom: PrometheusServer, name: str, state: str | None) -> float:
    loop = asyncio.get_running_loop()
    started = loop.time()
    await wait_for(
        lambda: _alert_is(prom, name, state), timeout_s=60, what=f"{name} {state or 'inactive'}"
    )
    return loop.time() - started


async def _alert_is(prom: PrometheusServer, name: str, state: str | None) -> bool:
    return await prom.alert_state(name, server=SERVER) == state


@module_loop
async def test_low_ups_alert_fires_and_resolves(prometheus_stack: PrometheusStack):
    """IsrLowUps fires while the simulated game runs at 30 of 60 UPS and resolves at 60 again."""
    prom, sim = prometheus_stack.prometheus, prometheus_stack.sim
    await wait_for(
        lambda: _has_data(prom, f"{prometheus_name(Metric.GAME_UPS)} > 50"),
        timeout_s=60,
        what="normal UPS first",
    )
    assert await prom.alert_state("IsrLowUps", server=SERVER) is None
    sim.set_ups(30)
    try:
        fired_s = await _wait_alert(prom, "IsrLowUps", "firing")
    finally:
        sim.set_ups(60)
    resolved_s = await _wait_alert(prom, "IsrLowUps", None)
    log.warning("IsrLowUps fired %.1f s after the drop, resolved %.1f s after", fired_s, resolved_s)


@module_loop
async def test_rcon_down_alert_fires_and_resolves(prometheus_stack: PrometheusStack):
    """IsrRconDown fires while the simulator refuses RCON and resolves when it listens again."""
    prom, sim = prometheus_stack.prometheus, prometheus_stack.sim
    up = prometheus_name(Metric.RCON_UP)
    await wait_for(lambda: _has_data(prom, f"{up} == 1"), timeout_s=60, what="RCON up first")
    await sim.refuse_rcon()
    await sim.drop_rcon_connections()
    try:
        fired_s = await _wait_alert(prom, "IsrRconDown", "firing")
        errors = await prom.query(
            f'{prometheus_name(Metric.RCON_ERRORS)}{{server="{SERVER}",kind="connect"}} > 0'
        )
        assert errors, "connect errors counted"
    finally:
        await sim.accept_rcon()
    resolved_s = await _wait_alert(prom, "IsrRconDown", None)
    reconnects = await wait_for(
        lambda: _has_data(prom, f"{prometheus_name(Metric.RCON_RECONNECTS)} > 0"),
        timeout_s=30,
        what="a reconnect counted",
    )
    assert reconnects[0]["metric"]["server"] == SERVER
    log.warning(
        "IsrRconDown fired %.1f s after the refusal, resolved %.1f s after", fired_s, resolved_s
    )


def test_alert_rules_pass_promtool(prometheus_tools: PrometheusTools):
    """`promtool check rules` accepts deploy/prometheus/alerts.yml as shipped."""
    result = subprocess.run(
        [str(prometheus_tools.promtool), "check", "rules", str(ALERTS)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 rules found" in result.stdout, result.stdout


def test_alert_rules_use_catalog_names_and_the_five_alerts():
    """The rules file names only catalog metrics (prometheus_name) and holds the five alerts."""
    rules = yaml.safe_load(ALERTS.read_text())
    (group,) = rules["groups"]
    assert group["name"] == "factorio-isr"
    assert [r["alert"] for r in group["rules"]] == [
        "IsrLowUps",
        "IsrRconDown",
        "IsrConsumerLagGrowing",
        "IsrDeadLetters",
        "IsrDiscordFailing",
    ]
    families = _families()
    for rule in group["rules"]:
        for name in re.findall(r"\bisr_[a-z_]+", rule["expr"]):
            assert name in families, f"{rule['alert']}: {name} is not a catalog metric"
        assert rule["labels"]["severity"] in {"warning", "critical"}
        assert {"summary", "description"} <= set(rule["annotations"])
