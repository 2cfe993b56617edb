"""The work for one server whose lease this replica holds: sample, estimate, alert, reconcile.

:class:`ServerWorker` runs the sampling loop on the server's own ``metrics.interval_s``. Each
tick it takes a :class:`~rcon_poller.sampler.Sample`, feeds the UPS estimator, the alert
machines and the leave reconciler, and publishes (confirmed, with stable ids) the metric sample
to ``isr.metrics.<server>``, alerts to ``isr.events.<server>.alert.<type>`` and reconciled
joins/leaves to ``isr.events.<server>.join|leave``. The alert state is saved to the
``alert_state`` bucket after the alerts it produced were acknowledged.

Ticks are scheduled on the monotonic clock from a random phase (so many servers do not sample
in lock step); a tick that could not start in time is skipped, not bunched, and each sample
records when it was due (``scheduled_at``) so lateness is measurable.
"""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta

import structlog
from nats.js import JetStreamContext
from nats.js.errors import KeyNotFoundError
from nats.js.kv import KeyValue

from common.backoff import sleep_until_stop
from common.config import ServerConfig
from common.contracts import Alert, GameEvent, MetricSample, SourcePosition
from common.contracts import rcon as c
from common.internal_errors import report_internal_error
from common.publishing import Outgoing, publish_confirmed
from common.topology import Topology
from common.vocabulary import EventFlag
from rcon_poller import metrics
from rcon_poller.alerts import AlertDraft, AlertState, RconAlertMachine, UpsAlertMachine
from rcon_poller.game_time import GameTimeError
from rcon_poller.operations import OperationContext, UpsSnapshot
from rcon_poller.rcon.backoff import BackoffPolicy
from rcon_poller.rcon.client import RconConnectError, RconTimeout
from rcon_poller.rcon.link import Endpoint, RconLink, RconUnavailable
from rcon_poller.reconcile import Reconciler
from rcon_poller.replies import UnexpectedReply
from rcon_poller.sampler import Sample, Sampler
from rcon_poller.settings import PollerSettings
from rcon_poller.ups import UpsEstimate, UpsEstimator, ups_target

log = structlog.get_logger()


def endpoint_of(server: ServerConfig) -> Endpoint:
    """The RCON endpoint of a server with RCON enabled."""
    rcon = server.rcon
    assert rcon is not None, "only servers with RCON get a worker"
    return Endpoint(rcon.host, rcon.port, rcon.password, rcon.timeout_s)


class ServerWorker:
    """Polls one server and answers its command requests' RCON needs."""

    def __init__(
        self,
        tag: str,
        server: ServerConfig,
        *,
        js: JetStreamContext,
        topology: Topology,
        alert_kv: KeyValue,
        settings: PollerSettings,
    ) -> None:
        self.tag = tag
        self.server = server
        self._js = js
        self._topology = topology
        self._alert_kv = alert_kv
        self._settings = settings
        self.link = RconLink(
            endpoint_of(server),
            policy=BackoffPolicy(
                initial_s=settings.backoff_initial_s,
                max_s=settings.backoff_max_s,
                auth_failure_s=settings.auth_failure_backoff_s,
            ),
            server=tag,
        )
        self._sampler = Sampler(self.link)
        self._estimator = UpsEstimator(
            window_s=settings.ups_window_s, max_error_ups=settings.ups_max_error
        )
        self.reconciler = Reconciler(tag, grace_s=settings.reconcile_grace_s)
        self.is_presence_ready = False
        """Set once the join/leave history has been replayed into the reconciler."""
        self._state = AlertState()
        self._saved_state = b""
        self._ups_alerts = UpsAlertMachine(self._state.ups)
        self._rcon_alerts = RconAlertMachine(
            self._state.rcon, failures_required=settings.down_after_failures
        )
        self._game_speed: float | None = None
        self._last_estimate = UpsEstimate(None, is_paused=False)
        self._last_estimate_at: datetime | None = None
        self._last_sample_at: datetime | None = None
        self._long_ops = 0
        self.samples_taken = 0
        self.last_metric: MetricSample | None = None
        """The last sample published (read by the gauges; None before the first)."""

    # -- lifecycle --------------------------------------------------------------------------

    async def load_state(self) -> None:
        """Continue from the alert state the previous owner saved (if any)."""
        try:
            entry = await self._alert_kv.get(self.tag)
        except KeyNotFoundError:
            return
        if entry.value:
            self._state = AlertState.model_validate_json(entry.value)
            self._saved_state = self._state.model_dump_json(exclude={"ups": {"ema"}}).encode()
            self._ups_alerts.state = self._state.ups
            self._rcon_alerts.state = self._state.rcon

    async def update_config(self, server: ServerConfig) -> None:
        """Use a reloaded config (thresholds and intervals at once; a new endpoint reconnects)."""
        self.server = server
        await self.link.update_endpoint(endpoint_of(server))

    async def close(self) -> None:
        """Close the RCON connection."""
        await self.link.close("poller stopped working this server")

    async def run(self, stop: asyncio.Event) -> None:
        """Sample on the server's interval until ``stop`` is set."""
        unwatch = metrics.watch_server(self.tag, lambda: self.last_metric)
        try:
            await self._run(stop)
        finally:
            unwatch()

    async def _run(self, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        interval_s = self.server.metrics.interval_s
        due_s = loop.time() + random.uniform(0, min(interval_s, 5.0))  # noqa: S311 - phase
        while not stop.is_set():
            delay_s = due_s - loop.time()
            if delay_s > 0 and await sleep_until_stop(stop, delay_s):
                return
            scheduled_at = datetime.now(UTC) - timedelta(seconds=loop.time() - due_s)
            try:
                await self.tick(scheduled_at)
            except Exception as exc:
                report_internal_error(exc, f"rcon-poller sample of {self.tag}")
            interval_s = self.server.metrics.interval_s
            due_s += interval_s
            now_s = loop.time()
            if due_s < now_s:
                skipped = int((now_s - due_s) // interval_s) + 1
                due_s += skipped * interval_s
                log.warning("samples_skipped", server=self.tag, count=skipped)

    # -- one tick ---------------------------------------------------------------------------

    async def tick(self, scheduled_at: datetime) -> None:
        """Take one sample and publish everything it leads to."""
        if self._long_ops:
            # A save holds RCON; a sample would only time out and close the connection the
            # save's reply is waiting on.
            return
        config = self.server
        outgoing: list[Outgoing] = []
        drafts: list[AlertDraft] = []
        try:
            sample = await self._sampler.take(config.metrics)
        except (RconUnavailable, RconTimeout, RconConnectError) as exc:
            now = datetime.now(UTC)
            is_auth = isinstance(exc, RconUnavailable) and exc.is_auth_failure
            drafts += self._rcon_alerts.observe_failure(
                now=now, reason=str(exc), is_auth_failure=is_auth
            )
            self.last_metric = self._unreachable(now, scheduled_at)
            outgoing.append(self._metric(self.last_metric))
        except (UnexpectedReply, GameTimeError) as exc:
            metrics.record_error(self.tag, "protocol")
            log.warning("sample_unreadable", server=self.tag, error=str(exc))
            return
        else:
            now = datetime.now(UTC)
            self._last_sample_at = now
            self.samples_taken += 1
            drafts += self._rcon_alerts.observe_success(now=now)
            metric = self._observe(sample, now, scheduled_at)
            if config.alerts.enabled:
                drafts += self._ups_alerts.observe(
                    now=now,
                    ups=metric.ups,
                    target=metric.ups_target,
                    is_paused=metric.is_paused,
                    config=config.alerts,
                )
            self.last_metric = metric
            outgoing.append(self._metric(metric))
            if self.is_presence_ready:
                outgoing += self._reconcile(sample, now)
        drafts += self._rcon_alerts.observe_tick(now=now, config=config.alerts)
        if not config.alerts.enabled:
            drafts = []
        outgoing += [self._alert(draft, now) for draft in drafts]
        await publish_confirmed(self._js, outgoing)
        try:
            await self._save_state()
        except Exception as exc:  # NATS away: the next tick saves again (nothing is lost)
            log.warning("alert_state_save_failed", server=self.tag, error=repr(exc))

    def _observe(self, sample: Sample, now: datetime, scheduled_at: datetime) -> MetricSample:
        if sample.game_speed is not None:
            self._game_speed = sample.game_speed
        estimate = self._estimator.add(sample.reading) if self.server.metrics.ups else None
        if estimate is not None:
            self._last_estimate = estimate
            self._last_estimate_at = now
        target = ups_target(self._game_speed)
        return MetricSample(
            id=self._sample_id(now),
            server=self.tag,
            sampled_at=now,
            scheduled_at=scheduled_at,
            players_online=sample.players_online,
            player_count=len(sample.players_online),
            game_time_s=float(sample.game_time_s),
            tick=sample.tick,
            ups=None if estimate is None else estimate.ups,
            ups_target=target,
            is_paused=False if estimate is None else estimate.is_paused,
            ups_method=None
            if estimate is None
            else ("lua_tick" if sample.tick is not None else "time_command"),
            ups_error=None if estimate is None or estimate.ups is None else estimate.error_ups,
            ups_window_s=None if estimate is None else estimate.window_s,
            game_speed=self._game_speed,
            evolution=sample.evolution,
            version=sample.version,
        )

    def _unreachable(self, now: datetime, scheduled_at: datetime) -> MetricSample:
        return MetricSample(
            id=self._sample_id(now),
            server=self.tag,
            sampled_at=now,
            scheduled_at=scheduled_at,
            ups_target=ups_target(self._game_speed),
            rcon_up=False,
        )

    def _sample_id(self, now: datetime) -> str:
        return f"{self.tag}:metric:{int(now.timestamp() * 1000)}"

    def _metric(self, sample: MetricSample) -> Outgoing:
        return Outgoing(self._topology.metrics_subject(self.tag), sample.to_json(), sample.id)

    def _alert(self, draft: AlertDraft, now: datetime) -> Outgoing:
        alert = Alert(
            id=f"{self.tag}:{draft.type.value}:{draft.episode}",
            server=self.tag,
            type=draft.type,
            severity=draft.severity,
            raised_at=now,
            summary=draft.summary,
            details=draft.details,
        )
        log.info("alert_raised", server=self.tag, type=draft.type.value, summary=draft.summary)
        subject = self._topology.alert_subject(self.tag, draft.type.value)
        return Outgoing(subject, alert.to_json(), alert.id)

    def _reconcile(self, sample: Sample, now: datetime) -> list[Outgoing]:
        outgoing = []
        for event in self.reconciler.observe_sample(sample.players_online, now=now):
            payload = GameEvent(
                id=event.id,
                server=self.tag,
                type=event.type,
                observed_at=now,
                player=event.player,
                data={"source": "rcon /players online"},
                after=None
                if event.after is None
                else SourcePosition(
                    file_id=event.after[0], generation=event.after[1], offset=event.after[2]
                ),
                flags=(EventFlag.RECONCILED,),
            )
            log.info("presence_reconciled", server=self.tag, type=event.type, player=event.player)
            subject = self._topology.event_subject(self.tag, event.type)
            outgoing.append(Outgoing(subject, payload.to_json(), event.id))
        return outgoing

    async def _save_state(self) -> None:
        # The EMA moves with every sample; saving it each time would cost a KV write per
        # sample for nothing a restart needs (the next owner re-seeds it from its first
        # estimate). Everything else is saved as soon as it changes.
        significant = self._state.model_dump_json(exclude={"ups": {"ema"}}).encode()
        if significant != self._saved_state:
            await self._alert_kv.put(self.tag, self._state.model_dump_json().encode())
            self._saved_state = significant

    # -- what the command service needs -------------------------------------------------------

    def operation_context(self) -> OperationContext:
        """How operations reach this server."""
        return OperationContext(
            runner=self.link,
            get_ups=self._ups_snapshot,
            get_health=self._health,
            on_game_speed=self._note_game_speed,
            save_timeout_s=self._settings.save_timeout_s,
        )

    def begin_long_op(self) -> None:
        """An operation that blocks RCON (a save) started; sampling pauses until it ends."""
        self._long_ops += 1

    def end_long_op(self) -> None:
        """The blocking operation ended."""
        self._long_ops -= 1

    def _note_game_speed(self, speed: float) -> None:
        self._game_speed = speed

    def _ups_snapshot(self) -> UpsSnapshot:
        estimate = self._last_estimate
        return UpsSnapshot(
            ups=estimate.ups,
            target=ups_target(self._game_speed),
            is_paused=estimate.is_paused,
            sampled_at=self._last_estimate_at,
        )

    def _health(self) -> c.HealthResult:
        state = self.link.state
        return c.HealthResult(
            is_connected=state.is_connected,
            connected_since=state.connected_since,
            last_error=state.last_error,
            retry_in_s=None if state.retry_in_s is None else round(state.retry_in_s, 1),
            last_sample_at=self._last_sample_at,
            poller=self._settings.instance_id,
        )
