"""The poller's OTel metrics: game gauges from each worker's last sample, RCON timing and errors.

The gauges read what the worker already keeps (its last :class:`MetricSample`), so a
collection never touches RCON. While RCON is down the game gauges report nothing (a stale UPS
would hide the outage) and ``isr.rcon.up`` reports 0.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from common.contracts import MetricSample
from common.metric_names import Metric
from common.telemetry import counter, histogram, observe_gauge

LastSample = Callable[[], MetricSample | None]

# Console commands the poller and its operations send; anything else is "other", so the
# operation attribute stays a small fixed set whatever an admin types.
_KNOWN_OPERATIONS = frozenset(
    {
        "players", "time", "evolution", "version", "sc", "silent-command", "c", "command",
        "save", "server-save", "ban", "unban", "kick", "mute", "unmute", "promote", "demote",
        "whitelist", "shout", "admins", "seed", "config", "research",
    }
)  # fmt: skip


def operation_of(command: str) -> str:
    """The ``operation`` attribute of an RCON command: its console command name, or ``other``."""
    head = command.split(maxsplit=1)[0] if command.strip() else ""
    name = head.removeprefix("/")
    return name if head.startswith("/") and name in _KNOWN_OPERATIONS else "other"


def record_command(server: str, command: str, duration_s: float) -> None:
    """One RCON command answered (or failed) after ``duration_s``."""
    histogram(Metric.RCON_COMMAND_DURATION).record(
        duration_s, {"server": server, "operation": operation_of(command)}
    )


def record_error(server: str, kind: str) -> None:
    """One RCON failure: ``connect``, ``auth``, ``timeout`` or ``protocol``."""
    counter(Metric.RCON_ERRORS).add(1, {"server": server, "kind": kind})


def record_reconnect(server: str) -> None:
    """A connection opened again after an earlier one was lost."""
    counter(Metric.RCON_RECONNECTS).add(1, {"server": server})


def _game(sample: MetricSample) -> dict[Metric, float | None]:
    return {
        Metric.GAME_UPS: sample.ups,
        Metric.GAME_TARGET_UPS: sample.ups_target,
        Metric.GAME_PLAYERS_ONLINE: sample.player_count,
        Metric.GAME_TIME: sample.game_time_s,
        Metric.GAME_PAUSED: 1.0 if sample.is_paused else 0.0,
    }


def watch_server(server: str, last: LastSample) -> Callable[[], None]:
    """Report ``server``'s gauges from ``last()`` at every collection; returns the undo."""
    labels = {"server": server}

    def rcon_up() -> Iterable[tuple[float, dict[str, str]]]:
        sample = last()
        return [] if sample is None else [(1.0 if sample.rcon_up else 0.0, labels)]

    def game(metric: Metric) -> Callable[[], Iterable[tuple[float, dict[str, str]]]]:
        def read() -> Iterable[tuple[float, dict[str, str]]]:
            sample = last()
            if sample is None or not sample.rcon_up:
                return []
            value = _game(sample)[metric]
            return [] if value is None else [(float(value), labels)]

        return read

    def evolution() -> Iterable[tuple[float, dict[str, str]]]:
        sample = last()
        if sample is None or not sample.rcon_up or not sample.evolution:
            return []
        return [
            (factor, {"server": server, "surface": surface})
            for surface, factor in sample.evolution.items()
        ]

    undos = [
        observe_gauge(Metric.RCON_UP, rcon_up),
        observe_gauge(Metric.GAME_EVOLUTION, evolution),
    ]
    undos += [
        observe_gauge(metric, game(metric))
        for metric in (
            Metric.GAME_UPS,
            Metric.GAME_TARGET_UPS,
            Metric.GAME_PLAYERS_ONLINE,
            Metric.GAME_TIME,
            Metric.GAME_PAUSED,
        )
    ]

    def undo() -> None:
        for one in undos:
            one()

    return undo
