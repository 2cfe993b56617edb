"""Alert state machines for one server: low UPS, and RCON down/up/auth. Pure.

Both machines are plain classes over a serialisable state (:class:`AlertState`), which the
poller keeps in the ``alert_state`` KV bucket, so a restarted or replacing poller continues
exactly where the last one stopped: an active alert is not raised again, an outage that began
before the restart is reported with its true start.

Each alert has a deterministic id (``<server>:<type>:<episode>``). The poller publishes first
and saves the state after; if it dies in between, the next owner raises the same alert with
the same id and JetStream drops the duplicate.

**Low UPS** (:class:`UpsAlertMachine`) decides on an exponential moving average of the UPS
estimates (``alerts.ups_ema_alpha``). Thresholds are written for 60 UPS and scaled by
``target / 60`` when ``game.speed`` is known to differ. For each estimate:

- **low** (EMA below the warning threshold): the run of consecutive low samples grows; when it
  reaches ``samples_required`` and no alert is active and the cooldown since the last recovery
  has passed, ``ups_low`` fires;
- **band** (between the thresholds): the run is reset (a band sample breaks "consecutive"), an
  active alert stays active;
- **recovered** (at or above the recovery threshold): the run is reset and an active alert
  recovers (``ups_recovered``, with its duration and the worst EMA seen);
- **paused**: nothing is raised; the run and the EMA are reset (the next estimates start
  afresh), an active alert stays active until the game runs well again;
- **unknown** (no estimate yet): nothing changes.

**RCON** (:class:`RconAlertMachine`): ``rcon_down`` after ``failures_required`` consecutive
failed samples, dated from the *first* failure; ``rcon_up`` on the next success with the
downtime measured from that first failure. A refused password raises ``rcon_auth_failed`` once
per episode. In ``interval`` mode an ``rcon_status`` report is also raised every
``rcon_status_interval_s``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from common.config import AlertsConfig
from common.contracts import AlertType, Severity
from rcon_poller.ups import TICKS_PER_SECOND


@dataclass(frozen=True, slots=True)
class AlertDraft:
    """An alert to raise; the poller adds the server, the time and publishes it."""

    type: AlertType
    severity: Severity
    episode: int
    summary: str
    details: dict[str, Any] = field(default_factory=dict)


class UpsAlertState(BaseModel):
    """What the low-UPS machine remembers."""

    model_config = ConfigDict(frozen=False, extra="ignore")

    is_active: bool = False
    episode: int = 0
    low_run: int = 0
    ema: float | None = None
    raised_at: datetime | None = None
    worst_ema: float | None = None
    recovered_at: datetime | None = None


class RconAlertState(BaseModel):
    """What the RCON machine remembers."""

    model_config = ConfigDict(frozen=False, extra="ignore")

    is_down: bool = False
    episode: int = 0
    failures: int = 0
    first_failure_at: datetime | None = None
    last_error: str | None = None
    is_auth_alerted: bool = False
    auth_episode: int = 0
    last_status_at: datetime | None = None


class AlertState(BaseModel):
    """Everything kept per server in the ``alert_state`` bucket."""

    model_config = ConfigDict(frozen=False, extra="ignore")

    v: int = 1
    ups: UpsAlertState = UpsAlertState()
    rcon: RconAlertState = RconAlertState()


class UpsAlertMachine:
    """Low-UPS alerts with consecutive samples, hysteresis, cooldown and pause silence."""

    def __init__(self, state: UpsAlertState) -> None:
        self.state = state

    def observe(  # noqa: PLR0911 - one exit per outcome reads clearer than a result variable
        self,
        *,
        now: datetime,
        ups: float | None,
        target: float,
        is_paused: bool,
        config: AlertsConfig,
    ) -> list[AlertDraft]:
        """Feed one estimate; returns the alerts to raise (zero or one)."""
        state = self.state
        if is_paused:
            state.low_run = 0
            state.ema = None
            return []
        if ups is None:
            return []
        alpha = config.ups_ema_alpha
        state.ema = ups if state.ema is None else alpha * ups + (1 - alpha) * state.ema
        ema = state.ema
        scale = target / TICKS_PER_SECOND
        warning = config.ups_warning_threshold * scale
        recovery = config.ups_recovery_threshold * scale
        if ema < warning:
            state.low_run += 1
            if state.is_active:
                state.worst_ema = min(ema, state.worst_ema if state.worst_ema is not None else ema)
                return []
            is_cooling_down = (
                state.recovered_at is not None
                and (now - state.recovered_at).total_seconds() < config.cooldown_s
            )
            if state.low_run < config.samples_required or is_cooling_down:
                return []
            state.is_active = True
            state.episode += 1
            state.raised_at = now
            state.worst_ema = ema
            return [
                AlertDraft(
                    AlertType.UPS_LOW,
                    Severity.WARNING,
                    state.episode,
                    f"UPS is low: {ema:.1f} (warning below {warning:g}, target {target:g})",
                    {
                        "ups": round(ema, 2),
                        "raw_ups": round(ups, 2),
                        "threshold": warning,
                        "target": target,
                        "samples": state.low_run,
                    },
                )
            ]
        state.low_run = 0
        if ema < recovery or not state.is_active:
            return []
        state.is_active = False
        state.recovered_at = now
        duration_s = (now - state.raised_at).total_seconds() if state.raised_at else None
        return [
            AlertDraft(
                AlertType.UPS_RECOVERED,
                Severity.INFO,
                state.episode,
                f"UPS recovered: {ema:.1f} (target {target:g})",
                {
                    "ups": round(ema, 2),
                    "threshold": recovery,
                    "target": target,
                    "worst_ups": None if state.worst_ema is None else round(state.worst_ema, 2),
                    "duration_s": None if duration_s is None else round(duration_s, 1),
                },
            )
        ]


class RconAlertMachine:
    """RCON down/up (true downtime), refused password, and interval status reports."""

    def __init__(self, state: RconAlertState, *, failures_required: int = 2) -> None:
        if failures_required < 1:
            raise ValueError("failures_required must be at least 1")
        self.state = state
        self.failures_required = failures_required

    def observe_failure(
        self, *, now: datetime, reason: str, is_auth_failure: bool
    ) -> list[AlertDraft]:
        """A sample could not reach RCON."""
        state = self.state
        drafts: list[AlertDraft] = []
        state.failures += 1
        state.last_error = reason
        if state.first_failure_at is None:
            state.first_failure_at = now
        if is_auth_failure and not state.is_auth_alerted:
            state.is_auth_alerted = True
            state.auth_episode += 1
            drafts.append(
                AlertDraft(
                    AlertType.RCON_AUTH_FAILED,
                    Severity.CRITICAL,
                    state.auth_episode,
                    "RCON refused the password; retrying slowly until the password is fixed",
                    {"reason": reason},
                )
            )
        if not state.is_down and state.failures >= self.failures_required:
            state.is_down = True
            state.episode += 1
            drafts.append(
                AlertDraft(
                    AlertType.RCON_DOWN,
                    Severity.CRITICAL,
                    state.episode,
                    "RCON connection lost; commands are unavailable until it is back",
                    {"since": state.first_failure_at.isoformat(), "reason": reason},
                )
            )
        return drafts

    def observe_success(self, *, now: datetime) -> list[AlertDraft]:
        """A sample reached RCON."""
        state = self.state
        drafts: list[AlertDraft] = []
        if state.is_down:
            since = state.first_failure_at or now
            downtime_s = (now - since).total_seconds()
            drafts.append(
                AlertDraft(
                    AlertType.RCON_UP,
                    Severity.INFO,
                    state.episode,
                    f"RCON connection restored after {_duration(downtime_s)}",
                    {"since": since.isoformat(), "downtime_s": round(downtime_s, 1)},
                )
            )
        state.is_down = False
        state.failures = 0
        state.first_failure_at = None
        state.last_error = None
        state.is_auth_alerted = False
        return drafts

    def observe_tick(self, *, now: datetime, config: AlertsConfig) -> list[AlertDraft]:
        """In ``interval`` mode, a status report every ``rcon_status_interval_s``."""
        state = self.state
        if config.rcon_status_mode != "interval":
            return []
        last = state.last_status_at
        if last is not None and (now - last).total_seconds() < config.rcon_status_interval_s:
            return []
        state.last_status_at = now
        is_up = not state.is_down
        details: dict[str, Any] = {"is_up": is_up}
        if not is_up and state.first_failure_at is not None:
            details["since"] = state.first_failure_at.isoformat()
        return [
            AlertDraft(
                AlertType.RCON_STATUS,
                Severity.INFO,
                int(now.timestamp() * 1000),
                "RCON is up" if is_up else "RCON is down",
                details,
            )
        ]


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{secs} s"
