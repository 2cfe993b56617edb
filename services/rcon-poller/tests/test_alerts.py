"""The low-UPS and RCON alert state machines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from common.config import AlertsConfig
from common.contracts import AlertType
from rcon_poller.alerts import (
    AlertState,
    RconAlertMachine,
    RconAlertState,
    UpsAlertMachine,
    UpsAlertState,
)

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
CONFIG = AlertsConfig(
    samples_required=3,
    ups_warning_threshold=55,
    ups_recovery_threshold=58,
    cooldown_s=300,
    ups_ema_alpha=1.0,
)


def feed(machine: UpsAlertMachine, values, *, start=T0, step_s=10, config=CONFIG, target=60.0):
    """Feed UPS values (None = unknown, 'P' = paused); return the alert types raised."""
    raised = []
    for i, value in enumerate(values):
        now = start + timedelta(seconds=step_s * i)
        drafts = machine.observe(
            now=now,
            ups=None if value in (None, "P") else value,
            target=target,
            is_paused=value == "P",
            config=config,
        )
        raised += [d.type for d in drafts]
    return raised


class TestUpsAlerts:
    def test_fires_after_n_consecutive_low_samples(self):
        """Three samples below the warning threshold raise one ups_low, not more."""
        machine = UpsAlertMachine(UpsAlertState())

        assert feed(machine, [60, 50, 50, 50, 40, 40]) == [AlertType.UPS_LOW]

    def test_band_samples_break_the_run(self):
        """A sample in the hysteresis band resets 'consecutive' (the original did not, R6)."""
        machine = UpsAlertMachine(UpsAlertState())

        assert feed(machine, [50, 50, 56, 50, 50, 56, 50]) == []

    def test_band_samples_do_not_recover_an_active_alert(self):
        """Between the thresholds an active alert stays active; at recovery it recovers once."""
        machine = UpsAlertMachine(UpsAlertState())

        raised = feed(machine, [50, 50, 50, 56, 57, 56, 58, 60])

        assert raised == [AlertType.UPS_LOW, AlertType.UPS_RECOVERED]

    def test_recovery_reports_duration_and_worst(self):
        """ups_recovered carries how long it lasted and the worst UPS seen."""
        machine = UpsAlertMachine(UpsAlertState())
        feed(machine, [50, 50, 50, 30, 45])

        drafts = machine.observe(
            now=T0 + timedelta(seconds=100), ups=59, target=60, is_paused=False, config=CONFIG
        )

        assert drafts[0].type == AlertType.UPS_RECOVERED
        assert drafts[0].details["worst_ups"] == 30
        assert drafts[0].details["duration_s"] == 80

    def test_cooldown_holds_the_next_alert_then_lets_it_fire(self):
        """Within cooldown_s of a recovery no new alert fires; after it, the next low one does."""
        machine = UpsAlertMachine(UpsAlertState())
        assert feed(machine, [50, 50, 50, 60]) == [AlertType.UPS_LOW, AlertType.UPS_RECOVERED]

        during = feed(machine, [50] * 10, start=T0 + timedelta(seconds=40))
        after = feed(machine, [50], start=T0 + timedelta(seconds=40 + 300))

        assert during == []
        assert after == [AlertType.UPS_LOW]

    def test_silent_while_paused_and_run_restarts_after(self):
        """Pauses raise nothing and reset the run: two lows, a pause, two lows is no alert."""
        machine = UpsAlertMachine(UpsAlertState())

        assert feed(machine, [50, 50, "P", "P", 50, 50]) == []

    def test_unknown_estimates_change_nothing(self):
        """Samples without an estimate neither count nor break the run."""
        machine = UpsAlertMachine(UpsAlertState())

        assert feed(machine, [50, None, 50, None, 50]) == [AlertType.UPS_LOW]

    def test_thresholds_scale_with_game_speed(self):
        """At game speed 2 (target 120) 100 UPS is low and 118 recovers."""
        machine = UpsAlertMachine(UpsAlertState())

        raised = feed(machine, [100, 100, 100, 118], target=120.0)

        assert raised == [AlertType.UPS_LOW, AlertType.UPS_RECOVERED]

    def test_ema_smooths_single_dips(self):
        """With alpha 0.2 a single dip to 40 UPS between normal samples is not even low."""
        machine = UpsAlertMachine(UpsAlertState())
        config = CONFIG.model_copy(update={"ups_ema_alpha": 0.2})

        assert feed(machine, [60, 60, 40, 60, 60, 60, 60], config=config) == []

    def test_state_survives_a_round_trip_through_json(self):
        """A restarted machine from saved state neither repeats nor forgets an active alert."""
        first = UpsAlertMachine(UpsAlertState())
        feed(first, [50, 50, 50])
        saved = AlertState(ups=first.state).model_dump_json()

        second = UpsAlertMachine(AlertState.model_validate_json(saved).ups)

        assert feed(second, [50, 50, 60], start=T0 + timedelta(hours=1)) == [
            AlertType.UPS_RECOVERED
        ]

    def test_episodes_number_alerts(self):
        """Each new alert has the next episode number; its recovery shares it."""
        machine = UpsAlertMachine(UpsAlertState())
        config = CONFIG.model_copy(update={"cooldown_s": 0})
        episodes = []
        for i in range(2):
            for value in (50, 50, 50, 60):
                now = T0 + timedelta(minutes=i, seconds=value)
                drafts = machine.observe(
                    now=now, ups=value, target=60, is_paused=False, config=config
                )
                episodes += [(d.type, d.episode) for d in drafts]

        assert episodes == [
            (AlertType.UPS_LOW, 1),
            (AlertType.UPS_RECOVERED, 1),
            (AlertType.UPS_LOW, 2),
            (AlertType.UPS_RECOVERED, 2),
        ]


class TestRconAlerts:
    def test_down_after_required_failures_dated_from_the_first(self):
        """rcon_down fires at the second failure and names the first failure as its start."""
        machine = RconAlertMachine(RconAlertState(), failures_required=2)

        first = machine.observe_failure(now=T0, reason="refused", is_auth_failure=False)
        second = machine.observe_failure(
            now=T0 + timedelta(seconds=10), reason="refused", is_auth_failure=False
        )

        assert first == []
        assert [d.type for d in second] == [AlertType.RCON_DOWN]
        assert T0.isoformat() == second[0].details["since"]

    def test_up_reports_the_true_downtime(self):
        """rcon_up measures downtime from the first failure, not from the last connect."""
        machine = RconAlertMachine(RconAlertState(), failures_required=2)
        for i in range(5):
            machine.observe_failure(
                now=T0 + timedelta(seconds=10 * i), reason="x", is_auth_failure=False
            )

        drafts = machine.observe_success(now=T0 + timedelta(seconds=95))

        assert [d.type for d in drafts] == [AlertType.RCON_UP]
        assert drafts[0].details["downtime_s"] == 95

    def test_one_failure_then_success_raises_nothing(self):
        """A single failed sample followed by a good one is not an outage."""
        machine = RconAlertMachine(RconAlertState(), failures_required=2)
        machine.observe_failure(now=T0, reason="x", is_auth_failure=False)

        assert machine.observe_success(now=T0 + timedelta(seconds=10)) == []
        assert (
            machine.observe_failure(
                now=T0 + timedelta(seconds=20), reason="x", is_auth_failure=False
            )
            == []
        )

    def test_refused_password_alerts_once_per_episode(self):
        """rcon_auth_failed is raised once however many refusals follow, again after a fix."""
        machine = RconAlertMachine(RconAlertState(), failures_required=5)
        raised = []
        for i in range(4):
            drafts = machine.observe_failure(
                now=T0 + timedelta(seconds=i), reason="refused", is_auth_failure=True
            )
            raised += [d.type for d in drafts]
        machine.observe_success(now=T0 + timedelta(seconds=10))
        again = machine.observe_failure(
            now=T0 + timedelta(seconds=20), reason="refused", is_auth_failure=True
        )

        assert raised == [AlertType.RCON_AUTH_FAILED]
        assert [d.type for d in again] == [AlertType.RCON_AUTH_FAILED]
        assert again[0].episode == 2

    def test_restart_mid_outage_keeps_the_start(self):
        """State saved mid-outage makes the next owner report up with the original start."""
        machine = RconAlertMachine(RconAlertState(), failures_required=1)
        machine.observe_failure(now=T0, reason="x", is_auth_failure=False)
        saved = AlertState(rcon=machine.state).model_dump_json()

        restarted = RconAlertMachine(
            AlertState.model_validate_json(saved).rcon, failures_required=1
        )
        again = restarted.observe_failure(
            now=T0 + timedelta(seconds=30), reason="x", is_auth_failure=False
        )
        up = restarted.observe_success(now=T0 + timedelta(seconds=60))

        assert again == []
        assert up[0].details["downtime_s"] == 60

    def test_interval_mode_reports_status_every_interval(self):
        """In interval mode a status report comes at once and then every interval."""
        machine = RconAlertMachine(RconAlertState())
        config = AlertsConfig(rcon_status_mode="interval", rcon_status_interval_s=60)
        raised = []
        for i in range(13):
            raised += machine.observe_tick(now=T0 + timedelta(seconds=10 * i), config=config)

        assert len(raised) == 3
        assert {AlertType.RCON_STATUS} == {d.type for d in raised}

    def test_transition_mode_sends_no_status_reports(self):
        """In transition mode ticks raise nothing."""
        machine = RconAlertMachine(RconAlertState())

        assert machine.observe_tick(now=T0, config=AlertsConfig()) == []
