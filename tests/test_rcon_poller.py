"""The rcon-poller against a simulated Factorio server and a real nats-server.

Metrics, UPS and pause, alert sequences (hysteresis, restart mid-alert, RCON down/up, refused
password), leave reconciliation, the command subject and lease takeover between replicas.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nats
import pytest
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy
from nats.js.errors import KeyNotFoundError

from common.config import IsrConfig, load_config
from common.contracts import (
    Alert,
    AlertType,
    AuditRecord,
    AuditResult,
    GameEvent,
    MetricSample,
    RconErrorCode,
    RconReply,
    SourcePosition,
    decode_events,
)
from common.contracts import rcon as c
from common.settings import NatsSettings, PipelineSettings, RuntimeSettings
from common.topology import Topology
from isr_testing.streams import read_subject
from isr_testing.waiting import wait_for
from rcon_poller.poller import Poller
from rcon_poller.settings import PollerSettings
from simulator import ServerSettings, SimulatedServer

pytestmark = pytest.mark.nats

PASSWORD = "poller-test-pw"
TAG = "srv"


@pytest.fixture(name="sim")
async def _sim(tmp_path: Path) -> AsyncIterator[SimulatedServer]:
    """A simulated server with RCON and two players online (so the game ticks)."""
    settings = ServerSettings(
        log_path=tmp_path / "console.log",
        rcon_port=0,
        rcon_password=PASSWORD,
        is_rcon_connection_logged=True,
    )
    async with SimulatedServer(settings) as server:
        server.add_player("Cool-Guy")
        server.add_player("grilled ham")
        yield server


def write_config(tmp_path: Path, sim: SimulatedServer, **sections: str) -> IsrConfig:
    """servers.yml for one server pointing at ``sim``; sections override the defaults."""
    blocks = {
        "metrics": "interval_s: 0.1\n      lua_metrics: true",
        "alerts": (
            "samples_required: 3\n      ups_warning_threshold: 55\n"
            "      ups_recovery_threshold: 58\n      cooldown_s: 0\n      ups_ema_alpha: 1.0"
        ),
    } | sections
    config_dir = tmp_path / "config"
    config_dir.mkdir(exist_ok=True)
    text = (
        f"servers:\n  {TAG}:\n    log_path: {tmp_path / 'console.log'}\n"
        f"    rcon:\n      port: {sim.rcon_port}\n      password_env: SIM_PW\n"
        "      timeout_s: 1\n"
    )
    for name, body in blocks.items():
        text += f"    {name}:\n      {body}\n"
    (config_dir / "servers.yml").write_text(text)
    return load_config(config_dir, environ={"SIM_PW": PASSWORD})


def poller_settings(prefix: str, url: str, name: str, **overrides: Any) -> PollerSettings:
    """Fast settings for tests."""
    values: dict[str, Any] = {
        "runtime": RuntimeSettings(
            pipeline=PipelineSettings(prefix=prefix), nats=NatsSettings(url=url)
        ),
        "instance_id": name,
        "lease_ttl_s": 1.0,
        "lease_check_interval_s": 0.1,
        "backoff_initial_s": 0.05,
        "backoff_max_s": 0.2,
        "auth_failure_backoff_s": 30.0,
        "ups_window_s": 1.0,
        "ups_max_error": 5.0,
        "reconcile_grace_s": 0.3,
        "down_after_failures": 2,
    } | overrides
    return PollerSettings(**values)


@dataclass
class Replica:
    """One poller replica running in this process."""

    poller: Poller
    stop: asyncio.Event
    task: asyncio.Task[None]

    async def stop_cleanly(self) -> None:
        """SIGTERM-like stop: finish, release the leases."""
        self.stop.set()
        await self.task

    async def die(self) -> None:
        """Like SIGKILL for the leases: stop working without releasing them."""
        self.poller.leases.release = _forget_only(self.poller.leases)  # type: ignore[method-assign]
        self.stop.set()
        await self.task


def _forget_only(leases: Any) -> Callable[[str], Any]:
    async def release(key: str) -> None:
        leases.forget(key)

    return release


@dataclass
class Harness:
    """NATS, the topology and collected output for one test."""

    nc: NatsClient
    js: JetStreamContext
    topology: Topology
    url: str
    prefix: str
    metrics: list[MetricSample] = field(default_factory=list)
    events: list[GameEvent | Alert] = field(default_factory=list)
    replicas: list[Replica] = field(default_factory=list)

    @property
    def alerts(self) -> list[Alert]:
        """Alerts seen so far."""
        return [e for e in self.events if isinstance(e, Alert)]

    def alert_types(self) -> list[AlertType]:
        """Types of the alerts seen so far, in order."""
        return [a.type for a in self.alerts]

    async def start(self, config: IsrConfig, name: str = "a", **overrides: Any) -> Replica:
        """Start a poller replica."""
        settings = poller_settings(self.prefix, self.url, name, **overrides)
        poller = Poller(
            self.nc,
            self.js,
            self.topology,
            config,
            settings,
            lease_kv=await self.js.key_value(self.topology.bucket("leases")),
            alert_kv=await self.js.key_value(self.topology.bucket("alert_state")),
        )
        stop = asyncio.Event()
        replica = Replica(poller, stop, asyncio.create_task(poller.run(stop)))
        self.replicas.append(replica)
        return replica

    async def request(
        self, request: c.RconRequestBase | bytes, timeout_s: float = 5, *, caller: str = "bot"
    ) -> RconReply:
        """Send a request on the server's subject as ``caller`` and decode the reply."""
        data = request if isinstance(request, bytes) else request.to_json()
        subject = self.topology.rcon_subject(TAG, caller)
        msg = await self.nc.request(subject, data, timeout=timeout_s)
        return RconReply.from_json(msg.data, strict=True)

    def samples_after(
        self, count: int, predicate: Callable[[MetricSample], bool]
    ) -> Callable[[], bool]:
        """A condition: ``count`` samples matching ``predicate`` have arrived."""
        return lambda: sum(1 for m in self.metrics if predicate(m)) >= count


@pytest.fixture(name="harness")
async def _harness(nats_server: Any, nats_prefix: str) -> AsyncIterator[Harness]:
    """NATS with the topology declared, collecting metrics and events of the server."""
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    topology = Topology(nats_prefix)
    await topology.ensure(js)
    harness = Harness(nc, js, topology, nats_server.url, nats_prefix)

    async def on_metric(msg: Any) -> None:
        harness.metrics.append(MetricSample.from_json(msg.data, strict=True))

    async def on_event(msg: Any) -> None:
        harness.events.extend(decode_events(msg.data, strict=True))

    subs = [
        # nats-py fills in the config it is given, so each subscription gets its own.
        await js.subscribe(
            subject,
            cb=cb,
            ordered_consumer=True,
            config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL),
        )
        for subject, cb in (
            (topology.metrics_subject(TAG), on_metric),
            (topology.events_filter(TAG), on_event),
        )
    ]
    try:
        yield harness
    finally:
        for replica in harness.replicas:
            if not replica.task.done():
                replica.stop.set()
                with contextlib.suppress(Exception):
                    await replica.task
        for sub in subs:
            await sub.unsubscribe()
        await nc.close()


class TestMetrics:
    async def test_samples_carry_players_time_evolution_version_and_ups(
        self, harness: Harness, sim: SimulatedServer, tmp_path: Path
    ):
        """Each sample has the online names, game time, evolution per surface, version, UPS."""
        await harness.start(write_config(tmp_path, sim))

        await wait_for(harness.samples_after(1, lambda m: m.ups is not None), what="a UPS")

        sample = next(m for m in harness.metrics if m.ups is not None)
        assert sample.players_online == ("Cool-Guy", "grilled ham")
        assert sample.player_count == 2
        assert sample.game_time_s is not None
        assert sample.evolution is not None
        assert {"Nauvis", "Vulcanus", "Gleba", "platform-1"} == set(sample.evolution)
        assert sample.version == "2.0.77"
        assert sample.ups_method == "lua_tick"
        assert sample.ups_error is not None
        assert abs(sample.ups - 60) <= sample.ups_error
        assert sample.ups_target == 60.0
        assert sample.scheduled_at is not None
        assert sample.sampled_at >= sample.scheduled_at
        assert sample.id.startswith(f"{TAG}:metric:")

    async def test_without_lua_ups_comes_from_time_and_achievements_stay(
        self, harness: Harness, sim: SimulatedServer, tmp_path: Path
    ):
        """The default method uses /time only: samples say so and no Lua command is sent."""
        config = write_config(tmp_path, sim, metrics="interval_s: 0.2\n      lua_metrics: false")
        await harness.start(config, ups_window_s=3.0, ups_max_error=40.0)

        await wait_for(harness.samples_after(1, lambda m: m.ups is not None), what="a UPS")

        sample = next(m for m in harness.metrics if m.ups is not None)
        assert sample.ups_method == "time_command"
        assert sample.ups_error is not None
        assert sim.state.is_achievements_enabled
        assert not sim.state.is_achievements_warning_shown

    async def test_pause_is_reported_as_paused_not_zero(
        self, harness: Harness, sim: SimulatedServer, tmp_path: Path
    ):
        """A paused game gives samples with is_paused and no UPS, never 0 UPS."""
        await harness.start(write_config(tmp_path, sim))
        await wait_for(harness.samples_after(1, lambda m: m.ups is not None), what="a UPS")

        sim.pause()

        await wait_for(harness.samples_after(3, lambda m: m.is_paused), what="paused samples")
        assert all(m.ups is None for m in harness.metrics if m.is_paused)
        assert not any(m.ups == 0 for m in harness.metrics)

    async def test_game_speed_sets_the_target(
        self, harness: Harness, sim: SimulatedServer, tmp_path: Path
    ):
        """With Lua metrics the target follows game.speed (120 at speed 2)."""
        await harness.start(write_config(tmp_path, sim))
        sim.state.set_speed(2.0)

        await wait_for(
            harness.samples_after(1, lambda m: m.ups_target == 120 and (m.ups or 0) > 110),
            what="a sample at speed 2",
        )


class TestUpsAlerts:
    async def test_low_band_recovered_sequence(
        self, harness: Harness, sim: SimulatedServer, tmp_path: Path
    ):
        """Low UPS alerts once; the band neither recovers nor re-alerts; 60 UPS recovers once."""
        await harness.start(write_config(tmp_path, sim))
        await wait_for(harness.samples_after(2, lambda m: (m.ups or 0) > 58), what="60 UPS")

        sim.set_ups(30)
        await wait_for(lambda: AlertType.UPS_LOW in harness.alert_types(), what="ups_low")
        sim.set_ups(56.5)
        band = len(harness.metrics)
        await wait_for(
            lambda: sum(1 for m in harness.metrics[band:] if 55 <= (m.ups or 0) < 58) >= 10,
            what="ten samples in the band",
        )
        assert _ups_alerts(harness) == [AlertType.UPS_LOW]
        sim.set_ups(60)
        await wait_for(
            lambda: AlertType.UPS_RECOVERED in harness.alert_types(), what="ups_recovered"
        )

        assert _ups_alerts(harness) == [AlertType.UPS_LOW, AlertType.UPS_RECOVERED]
        low, recovered = [a for a in harness.alerts if a.type in _UPS_TYPES]
        assert f"{TAG}:ups_low:1" == low.id
        assert f"{TAG}:ups_recovered:1" == recovered.id
        assert recovered.details["worst_ups"] < 55

    async def test_no_alert_while_paused(
        self, harness: Harness, sim: SimulatedServer, tmp_path: Path
    ):
        """A paused server raises no low-UPS alert however long it stays paused."""
        await harness.start(write_config(tmp_path, sim))
        await wait_for(harness.samples_after(2, lambda m: (m.ups or 0) > 58), what="60 UPS")

        sim.pause()
        await wait_for(harness.samples_after(15, lambda m: m.is_paused), what="paused samples")

        assert _ups_alerts(harness) == []

    async def test_restart_mid_alert_neither_repeats_nor_forgets(
        self, harness: Harness, sim: SimulatedServer, tmp_path: Path
    ):
        """A replica taking over mid-alert does not raise it again and still recovers it."""
        config = write_config(tmp_path, sim)
        first = await harness.start(config, name="a")
        await wait_for(harness.samples_after(2, lambda m: (m.ups or 0) > 58), what="60 UPS")
        sim.set_ups(30)
        await wait_for(lambda: AlertType.UPS_LOW in harness.alert_types(), what="ups_low")

        await first.stop_cleanly()
        restarted_at = len(harness.metrics)
        await harness.start(config, name="b")
        await wait_for(
            lambda: sum(1 for m in harness.metrics[restarted_at:] if (m.ups or 99) < 40) >= 6,
            what="low samples after the restart",
        )
        assert _ups_alerts(harness) == [AlertType.UPS_LOW]
        sim.set_ups(60)
        await wait_for(
            lambda: AlertType.UPS_RECOVERED in harness.alert_types(), what="ups_recovered"
        )

        assert _ups_alerts(harness) == [AlertType.UPS_LOW, AlertType.UPS_RECOVERED]
        assert f"{TAG}:ups_recovered:1" == harness.alerts[-1].id


class TestRconAlerts:
    async def test_down_and_up_with_the_true_downtime(
        self, harness: Harness, sim: SimulatedServer, tmp_path: Path
    ):
        """Refused connections raise rcon_down; recovery raises rcon_up with the outage time."""
        await harness.start(write_config(tmp_path, sim))
        await wait_for(harness.samples_after(2, lambda m: m.rcon_up), what="samples")

        await sim.refuse_rcon()
        await sim.drop_rcon_connections()
        went_down = datetime.now(UTC)
        await wait_for(lambda: AlertType.RCON_DOWN in harness.alert_types(), what="rcon_down")
        await wait_for(harness.samples_after(3, lambda m: not m.rcon_up), what="down samples")
        await asyncio.sleep(0.5)  # an outage of measurable length, not synchronisation
        await sim.accept_rcon()
        came_back = datetime.now(UTC)
        await wait_for(lambda: AlertType.RCON_UP in harness.alert_types(), what="rcon_up")

        down, up = [a for a in harness.alerts if a.type in (AlertType.RCON_DOWN, AlertType.RCON_UP)]
        outage_s = (came_back - went_down).total_seconds()
        assert up.details["downtime_s"] >= outage_s - 0.3
        assert up.details["since"] == down.details["since"]
        assert f"{TAG}:rcon_down:1" == down.id

    async def test_refused_password_alerts_once_and_does_not_hammer(
        self, harness: Harness, sim: SimulatedServer, tmp_path: Path
    ):
        """A changed password raises rcon_auth_failed once and logins are not retried fast."""
        await harness.start(write_config(tmp_path, sim))
        await wait_for(harness.samples_after(2, lambda m: m.rcon_up), what="samples")
        logins_before = sim.settings.log_path.read_text().count("New RCON connection")

        sim.set_rcon_password("rotated-password")
        await sim.drop_rcon_connections()
        await wait_for(
            lambda: AlertType.RCON_AUTH_FAILED in harness.alert_types(), what="auth alert"
        )
        await wait_for(harness.samples_after(20, lambda m: not m.rcon_up), what="down samples")

        assert harness.alert_types().count(AlertType.RCON_AUTH_FAILED) == 1
        logins = sim.settings.log_path.read_text().count("New RCON connection") - logins_before
        assert logins == 1
        assert PASSWORD not in repr(harness.alerts)


class TestReconciliation:
    async def test_missing_leave_is_published_as_reconciled(
        self, harness: Harness, sim: SimulatedServer, tmp_path: Path
    ):
        """A logged join RCON does not confirm gets a reconciled leave placed after that line."""
        join = GameEvent(
            id=f"{TAG}:f:1",
            server=TAG,
            type="join",
            observed_at=datetime.now(UTC),
            player="Ghost",
            source=SourcePosition(file_id="f", generation=2, offset=1),
        )
        await harness.js.publish(harness.topology.event_subject(TAG, "join"), join.to_json())
        for name in ("Cool-Guy", "grilled ham"):
            event = GameEvent(
                id=f"{TAG}:f:{name}",
                server=TAG,
                type="join",
                observed_at=datetime.now(UTC),
                player=name,
            )
            await harness.js.publish(harness.topology.event_subject(TAG, "join"), event.to_json())
        await harness.start(write_config(tmp_path, sim))

        await wait_for(lambda: _reconciled(harness), what="a reconciled event")
        await wait_for(harness.samples_after(10, lambda m: m.rcon_up), what="more samples")

        reconciled = _reconciled(harness)
        assert [(e.type, e.player) for e in reconciled] == [("leave", "Ghost")]
        assert reconciled[0].flags == ("reconciled",)
        assert reconciled[0].after == SourcePosition(file_id="f", generation=2, offset=1)

    async def test_leave_without_a_log_line_is_reconciled(
        self, harness: Harness, sim: SimulatedServer, tmp_path: Path
    ):
        """A player who disappears from RCON without [LEAVE] gets a reconciled leave."""
        await harness.start(write_config(tmp_path, sim))
        await wait_for(lambda: len(_reconciled(harness)) >= 2, what="reconciled joins")
        assert {("join", "Cool-Guy"), ("join", "grilled ham")} == {
            (e.type, e.player) for e in _reconciled(harness)
        }

        sim.remove_player("grilled ham", is_logged=False)

        await wait_for(lambda: len(_reconciled(harness)) >= 3, what="a reconciled leave")
        assert (
            _reconciled(harness)[-1].type,
            _reconciled(harness)[-1].player,
        ) == ("leave", "grilled ham")


class TestCommandSubject:
    async def test_requests_get_structured_replies(
        self, harness: Harness, sim: SimulatedServer, tmp_path: Path
    ):
        """Requests over NATS are answered with results or error codes."""
        await harness.start(write_config(tmp_path, sim))
        await wait_for(harness.samples_after(1, lambda m: m.ups is not None), what="a UPS")

        status = await harness.request(c.StatusRequest(request_id="r-1"))
        kick = await harness.request(c.KickRequest(player="Ghost"))
        garbage = await harness.request(b'{"op": "kick", "player": "a\\n/ban b"}')
        health = await harness.request(c.HealthRequest())

        assert status.ok
        assert status.request_id == "r-1"
        assert isinstance(status.result, c.StatusResult)
        assert status.result.ups is not None
        assert not kick.ok
        assert kick.error is not None
        assert kick.error.code == RconErrorCode.UNKNOWN_PLAYER
        assert not garbage.ok
        assert garbage.error is not None
        assert garbage.error.code == RconErrorCode.INVALID_REQUEST
        assert isinstance(health.result, c.HealthResult)
        assert health.result.is_connected
        assert health.result.poller == "a"

    async def test_the_audit_names_the_subjects_caller_whatever_the_payload_claims(
        self, harness: Harness, sim: SimulatedServer, tmp_path: Path
    ):
        """A ban on ``...rcon.srv.web`` whose payload claims the bot is audited as ``web``."""
        await harness.start(write_config(tmp_path, sim))
        await wait_for(harness.samples_after(1, lambda m: m.rcon_up), what="a sample")
        forged = (
            b'{"op": "ban", "player": "Cool-Guy", "reason": "grief", "request_id": "w-1",'
            b' "requested_by": "discord:7", "service": "bot", "caller": "bot"}'
        )

        players = await harness.request(c.PlayersRequest(), caller="web")
        ban = await harness.request(forged, caller="web")
        msgs = await read_subject(harness.js, harness.topology.audit_subject(TAG), count=1)

        assert players.ok
        assert ban.ok
        assert "Cool-Guy" in sim.get_banned_players()
        records = [AuditRecord.from_json(m.data, strict=True) for m in msgs]
        assert [
            (r.service, r.requested_by, r.request_id, r.operation, r.result, r.actor_id)
            for r in records
        ] == [("web", "discord:7", "w-1", "ban", AuditResult.OK, None)]
        assert records[0].parameters == {"player": "Cool-Guy", "reason": "grief"}
        assert records[0].id.startswith(f"rcon:{TAG}:")

    async def test_unknown_callers_and_the_old_subject_reach_nothing(
        self, harness: Harness, sim: SimulatedServer, tmp_path: Path
    ):
        """An unknown caller is refused before the game; the old subject has no responder."""
        await harness.start(write_config(tmp_path, sim))
        await wait_for(harness.samples_after(1, lambda m: m.rcon_up), what="a sample")
        ban = c.BanRequest(player="grilled ham", requested_by="discord:7")

        refused = await harness.request(ban, caller="intruder")
        with pytest.raises(nats.errors.NoRespondersError):
            await harness.nc.request(f"{harness.prefix}.rcon.{TAG}", ban.to_json(), timeout=2)
        msgs = await read_subject(
            harness.js, harness.topology.audit_subject(TAG), count=1, timeout_s=1
        )

        assert not refused.ok
        assert refused.error is not None
        assert refused.error.code == RconErrorCode.UNKNOWN_CALLER
        assert "'intruder'" in refused.error.message
        assert "grilled ham" not in sim.get_banned_players()
        assert msgs == []

    async def test_save_pauses_sampling_instead_of_breaking_the_connection(
        self, harness: Harness, tmp_path: Path
    ):
        """A long save answers ok while samples wait, and the connection survives it."""
        settings = ServerSettings(
            log_path=tmp_path / "console.log",
            rcon_port=0,
            rcon_password=PASSWORD,
            save_duration_s=2.0,
        )
        async with SimulatedServer(settings) as sim:
            sim.add_player("a")
            await harness.start(write_config(tmp_path, sim))
            await wait_for(harness.samples_after(2, lambda m: m.rcon_up), what="samples")

            reply = await harness.request(c.SaveRequest(name="snap"), timeout_s=10)

            assert reply.ok
            assert not any(not m.rcon_up for m in harness.metrics)
            assert AlertType.RCON_DOWN not in harness.alert_types()


class TestLeases:
    async def test_two_replicas_never_poll_the_same_server(
        self, harness: Harness, sim: SimulatedServer, tmp_path: Path
    ):
        """With two replicas running, exactly one works the server."""
        config = write_config(tmp_path, sim)
        a = await harness.start(config, name="a")
        b = await harness.start(config, name="b")
        await wait_for(harness.samples_after(20, lambda m: m.rcon_up), what="samples")

        holders = [r for r in (a, b) if TAG in r.poller.running]

        assert len(holders) == 1
        assert sim.settings.log_path.read_text().count("New RCON connection") == 1

    async def test_takeover_when_the_holder_dies(
        self, harness: Harness, sim: SimulatedServer, tmp_path: Path
    ):
        """When the holder stops without releasing, the other replica takes over within the ttl."""
        config = write_config(tmp_path, sim)
        a = await harness.start(config, name="a")
        await wait_for(lambda: TAG in a.poller.running, what="a holds the lease")
        b = await harness.start(config, name="b")
        await wait_for(harness.samples_after(5, lambda m: m.rcon_up), what="samples")

        loop = asyncio.get_running_loop()
        died_at = loop.time()
        await a.die()
        await wait_for(lambda: TAG in b.poller.running, timeout_s=5, what="b takes over")

        assert loop.time() - died_at < 1.0 + 1.0
        count = len(harness.metrics)
        await wait_for(harness.samples_after(count + 3, lambda m: m.rcon_up), what="b samples")

    async def test_clean_stop_hands_over_at_once(
        self, harness: Harness, sim: SimulatedServer, tmp_path: Path
    ):
        """A replica that stops cleanly releases its lease and the other takes it at once."""
        config = write_config(tmp_path, sim)
        a = await harness.start(config, name="a", lease_ttl_s=30.0)
        await wait_for(lambda: TAG in a.poller.running, what="a holds the lease")
        b = await harness.start(config, name="b", lease_ttl_s=30.0)

        await a.stop_cleanly()

        await wait_for(lambda: TAG in b.poller.running, timeout_s=3, what="b takes over")


class TestReload:
    async def test_reload_changes_interval_and_removal_releases(
        self, harness: Harness, sim: SimulatedServer, tmp_path: Path
    ):
        """A reloaded servers.yml applies at once; a server removed from it is released."""
        replica = await harness.start(write_config(tmp_path, sim))
        await wait_for(harness.samples_after(3, lambda m: m.rcon_up), what="samples")

        slower = write_config(tmp_path, sim, metrics="interval_s: 30\n      lua_metrics: true")
        await replica.poller.apply_config(slower)
        worker = replica.poller.running[TAG].worker
        assert worker.server.metrics.interval_s == 30
        without = slower.model_copy(
            update={"servers": {TAG: slower.servers[TAG].model_copy(update={"rcon": None})}}
        )
        await replica.poller.apply_config(without)

        assert TAG not in replica.poller.running
        kv = await harness.js.key_value(harness.topology.bucket("leases"))
        with pytest.raises(KeyNotFoundError):  # released leases are deleted
            await kv.get(TAG)


_UPS_TYPES = (AlertType.UPS_LOW, AlertType.UPS_RECOVERED)


def _ups_alerts(harness: Harness) -> list[AlertType]:
    return [t for t in harness.alert_types() if t in _UPS_TYPES]


def _reconciled(harness: Harness) -> list[GameEvent]:
    return [e for e in harness.events if isinstance(e, GameEvent) and "reconciled" in e.flags]
