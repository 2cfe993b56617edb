"""Leave and join reconciliation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rcon_poller.reconcile import JOIN, LEAVE, Reconciler

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    """T0 plus ``seconds``."""
    return T0 + timedelta(seconds=seconds)


class TestReconciler:
    def test_missing_leave_is_synthesised_after_the_grace(self):
        """A player the log has online but RCON does not gets a leave once grace_s passed."""
        reconciler = Reconciler("srv", grace_s=20)
        reconciler.observe_event(JOIN, "Jörg", sequence=5)

        early = reconciler.observe_sample([], now=at(0))
        still_early = reconciler.observe_sample([], now=at(10))
        due = reconciler.observe_sample([], now=at(20))

        assert early == []
        assert still_early == []
        assert [(e.type, e.player) for e in due] == [(LEAVE, "Jörg")]
        assert frozenset() == reconciler.log_online

    def test_late_leave_in_the_log_cancels_the_synthesised_one(self):
        """If the real leave arrives within the grace, nothing is synthesised."""
        reconciler = Reconciler("srv", grace_s=20)
        reconciler.observe_event(JOIN, "a", sequence=1)
        reconciler.observe_sample([], now=at(0))

        reconciler.observe_event(LEAVE, "a", sequence=2)

        assert reconciler.observe_sample([], now=at(30)) == []

    def test_missing_join_is_synthesised(self):
        """A player RCON lists but the log never saw join gets a reconciled join."""
        reconciler = Reconciler("srv", grace_s=0)

        events = reconciler.observe_sample(["grilled ham"], now=at(0))

        assert [(e.type, e.player) for e in events] == [(JOIN, "grilled ham")]

    def test_events_are_ordered_by_stream_sequence(self):
        """A join delivered after a later leave (two subscriptions) does not resurrect."""
        reconciler = Reconciler("srv", grace_s=0)
        reconciler.observe_event(LEAVE, "a", sequence=10)
        reconciler.observe_event(JOIN, "a", sequence=5)

        assert frozenset() == reconciler.log_online

    def test_logged_events_of_one_message_order_by_log_position(self):
        """Join, leave, rejoin in one raw batch arrive as a join batch then a leave message.

        The player is online: the rejoin (offset 200) is later than the leave (100) in the log,
        although the leave's message came later in the stream.
        """
        reconciler = Reconciler("srv", grace_s=0)
        reconciler.observe_event(JOIN, "a", sequence=10, position=(0, 0))
        reconciler.observe_event(JOIN, "a", sequence=10, position=(0, 200))
        reconciler.observe_event(LEAVE, "a", sequence=11, position=(0, 100))

        assert frozenset({"a"}) == reconciler.log_online

    def test_a_logged_event_carried_before_a_reconciled_one_is_older(self):
        """A logged join delivered late (other subscription) does not undo a reconciled leave."""
        reconciler = Reconciler("srv", grace_s=0)
        reconciler.observe_event(LEAVE, "a", sequence=10)
        reconciler.observe_event(JOIN, "a", sequence=5, position=(0, 100))

        assert frozenset() == reconciler.log_online

    def test_ids_are_stable_across_a_replay(self):
        """Two reconcilers fed the same history give the same event id (dedup on restart)."""
        ids = []
        for _ in range(2):
            reconciler = Reconciler("srv", grace_s=0)
            reconciler.observe_event(JOIN, "a", sequence=41)
            ids += [e.id for e in reconciler.observe_sample([], now=at(0))]

        assert ids[0] == ids[1]
        assert ids[0].startswith("srv:reconciled:leave:")
        assert ids[0].endswith(":41")

    def test_own_reconciled_event_coming_back_is_harmless(self):
        """Our published leave echoed by the stream keeps the player offline, no repeat."""
        reconciler = Reconciler("srv", grace_s=0)
        reconciler.observe_event(JOIN, "a", sequence=1)
        reconciler.observe_sample([], now=at(0))

        reconciler.observe_event(LEAVE, "a", sequence=2)

        assert reconciler.observe_sample([], now=at(10)) == []


class TestLogPositions:
    def test_synthesised_event_names_the_latest_logged_position(self):
        """A reconciled leave carries the latest log position the view had applied."""
        reconciler = Reconciler("srv", grace_s=0)
        reconciler.observe_event(JOIN, "a", sequence=1, position=(0, 300), file_id="f")
        reconciler.observe_event(JOIN, "b", sequence=2, position=(0, 100), file_id="f")

        due = reconciler.observe_sample(["b"], now=at(0))

        assert [(e.type, e.player, e.after) for e in due] == [(LEAVE, "a", ("f", 0, 300))]

    def test_a_stop_line_clears_the_view_so_no_leave_is_synthesised(self):
        """Players online before a server stop line are offline after it: nothing to reconcile."""
        reconciler = Reconciler("srv", grace_s=0)
        reconciler.observe_event(JOIN, "a", sequence=1, position=(0, 100), file_id="f")

        reconciler.observe_server_event((0, 200), file_id="f")

        assert frozenset() == reconciler.log_online
        assert reconciler.observe_sample([], now=at(0)) == []

    def test_a_join_logged_before_a_stop_it_arrives_after_stays_offline(self):
        """A join that arrives after a later stop line was ended by that stop."""
        reconciler = Reconciler("srv", grace_s=0)
        reconciler.observe_server_event((0, 200), file_id="f")

        reconciler.observe_event(JOIN, "a", sequence=3, position=(0, 100), file_id="f")
        reconciler.observe_event(JOIN, "b", sequence=4, position=(0, 300), file_id="f")

        assert frozenset({"b"}) == reconciler.log_online
