from datetime import UTC, datetime, timedelta

from common.contracts import GameEvent, SourcePosition
from persistence.rows import event_row
from persistence.session_store import plan_rederivation
from persistence.sessions import EndedBy, LifecycleEvent, Session, derive_sessions
from persistence.writer import new_lifecycle

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    """T0 plus ``minutes``."""
    return T0 + timedelta(minutes=minutes)


def ev(event_id: str, kind: str, minutes: float, player: str | None = None, **kw) -> LifecycleEvent:
    """A lifecycle event at T0 + ``minutes``."""
    return LifecycleEvent(id=event_id, type=kind, at=at(minutes), player=player, **kw)


class TestDeriveSessions:
    def test_join_then_logged_leave_is_one_closed_session(self):
        """A join followed by a logged leave gives one session ended by the log."""
        sessions = derive_sessions("s", [ev("j", "join", 0, "bob"), ev("l", "leave", 30, "bob")])

        assert sessions == [
            Session("j", "s", "bob", at(0), at(30), EndedBy.LOGGED, leave_event_id="l")
        ]

    def test_reconciled_leave_is_marked_reconciled(self):
        """A leave synthesised by the poller ends the session as reconciled."""
        sessions = derive_sessions(
            "s", [ev("j", "join", 0, "bob"), ev("r", "leave", 5, "bob", is_reconciled=True)]
        )

        assert sessions[0].ended_by is EndedBy.RECONCILED

    def test_server_stop_ends_every_open_session(self):
        """A stopping server ends every open session at the stop line."""
        sessions = derive_sessions(
            "s",
            [
                ev("j1", "join", 0, "bob"),
                ev("j2", "join", 1, "ann"),
                ev("q", "server_stopping", 10),
                ev("g", "server_stopped", 11),
            ],
        )

        assert [(s.player, s.left_at, s.ended_by) for s in sessions] == [
            ("bob", at(10), EndedBy.SERVER_STOPPED),
            ("ann", at(10), EndedBy.SERVER_STOPPED),
        ]

    def test_restart_without_stop_line_ends_sessions_at_the_start(self):
        """A server that starts again without logging a stop ends the open sessions at the start."""
        sessions = derive_sessions(
            "s",
            [ev("j", "join", 0, "bob"), ev("st", "server_start", 20), ev("j2", "join", 25, "bob")],
        )

        assert [(s.id, s.left_at, s.ended_by) for s in sessions] == [
            ("j", at(20), EndedBy.SERVER_RESTARTED),
            ("j2", None, None),
        ]

    def test_second_join_without_leave_does_not_open_another_session(self):
        """A join for a player who is already online keeps the first session."""
        sessions = derive_sessions(
            "s",
            [
                ev("j1", "join", 0, "bob", is_reconciled=True),
                ev("j2", "join", 1, "bob"),
                ev("l", "leave", 9, "bob"),
            ],
        )

        assert [(s.id, s.joined_at, s.left_at, s.join_reconciled) for s in sessions] == [
            ("j1", at(0), at(9), True)
        ]

    def test_leave_without_join_is_ignored(self):
        """A leave of a player with no open session creates nothing."""
        assert derive_sessions("s", [ev("l", "leave", 3, "bob")]) == []

    def test_order_of_arrival_does_not_matter(self):
        """Events are applied in time order whatever order they are given in."""
        events = [ev("j", "join", 0, "bob"), ev("l", "leave", 5, "bob"), ev("j2", "join", 7, "bob")]

        assert derive_sessions("s", reversed(events)) == derive_sessions("s", events)

    def test_equal_times_follow_log_position(self):
        """Lines read together (same time) apply in log order: join before leave."""
        events = [
            ev("l", "leave", 0, "bob", generation=0, offset=200),
            ev("j", "join", 0, "bob", generation=0, offset=100),
        ]

        assert derive_sessions("s", events)[0].ended_by is EndedBy.LOGGED

    def test_sessions_open_at_start_can_be_closed(self):
        """A session already open before the events is closed by a later leave."""
        before = Session("j", "s", "bob", at(-60))

        sessions = derive_sessions("s", [ev("l", "leave", 5, "bob")], open_at_start=[before])

        assert sessions == [
            Session("j", "s", "bob", at(-60), at(5), EndedBy.LOGGED, leave_event_id="l")
        ]

    def test_sessions_open_at_start_are_reopened_before_rederiving(self):
        """A session given closed is re-derived: with no later end it comes back open."""
        before = Session("j", "s", "bob", at(-60), at(5), EndedBy.LOGGED, leave_event_id="l")

        assert derive_sessions("s", [], open_at_start=[before])[0].is_open


class TestPlanRederivation:
    def test_unchanged_sessions_are_not_rewritten(self):
        """Re-deriving from events whose sessions are already stored writes and deletes nothing."""
        events = [ev("j", "join", 0, "bob"), ev("l", "leave", 5, "bob"), ev("j2", "join", 7, "ann")]
        stored = derive_sessions("s", events)

        assert plan_rederivation("s", stored, events) == ([], [])

    def test_only_the_changed_session_is_written(self):
        """A new leave rewrites the session it closes and leaves the others alone."""
        events = [ev("j", "join", 0, "bob"), ev("j2", "join", 1, "ann")]
        stored = derive_sessions("s", events)
        leave = ev("l", "leave", 5, "bob")

        deleted, written = plan_rederivation("s", stored, [leave])

        assert deleted == []
        assert written == [
            Session("j", "s", "bob", at(0), at(5), EndedBy.LOGGED, leave_event_id="l")
        ]

    def test_sessions_no_longer_derived_are_deleted(self):
        """A stored session whose join turns out to come while the player was online is deleted."""
        first, second = ev("j1", "join", 10, "bob"), ev("j0", "join", 0, "bob")
        stored = derive_sessions("s", [first])

        deleted, written = plan_rederivation("s", stored, [second, first])

        assert deleted == ["j1"]
        assert written == [Session("j0", "s", "bob", at(0))]

    def test_sessions_that_ended_before_since_are_left_alone(self):
        """Sessions over before the re-derived range are neither rewritten nor deleted."""
        old = Session("j0", "s", "ann", at(-60), at(-30), EndedBy.LOGGED, leave_event_id="l0")

        assert plan_rederivation("s", [old], [ev("j", "join", 0, "bob")]) == (
            [],
            [Session("j", "s", "bob", at(0))],
        )


class TestLogOrder:
    def test_leave_parsed_before_its_join_still_closes_the_session(self):
        """Rows whose parse times (observed_at) disagree with log order give the log's session."""

        def logged(kind: str, offset: int, ts: datetime, parsed: datetime) -> GameEvent:
            return GameEvent(
                id=f"s:f:{offset}", server="s", type=kind, ts=ts, observed_at=parsed,
                player="bob", source=SourcePosition(file_id="f", generation=0, offset=offset),
            )  # fmt: skip

        join = logged("join", 100, at(0), parsed=at(10))  # redelivered: parsed last
        leave = logged("leave", 200, at(5), parsed=at(1))
        lifecycle = new_lifecycle([event_row(leave), event_row(join)])["s"]

        assert derive_sessions("s", lifecycle) == [
            Session("s:f:100", "s", "bob", at(0), at(5), EndedBy.LOGGED, leave_event_id="s:f:200")
        ]

    def test_log_position_wins_over_times_that_go_backwards(self):
        """A leave logged after its join closes it even when its time is earlier (a clock step)."""
        events = [
            ev("l", "leave", 0, "bob", generation=0, offset=200),
            ev("j", "join", 3, "bob", generation=0, offset=100),
        ]

        assert [(s.id, s.joined_at, s.left_at) for s in derive_sessions("s", events)] == [
            ("j", at(3), at(3))
        ]

    def test_reconciled_event_applies_right_after_its_position(self):
        """A reconciled leave placed after a join's line ends it; a later rejoin opens anew."""
        events = [
            ev("j", "join", 0, "bob", generation=0, offset=100),
            ev("r", "leave", 9, "bob", is_reconciled=True, generation=0, offset=100),
            ev("j2", "join", 10, "bob", generation=0, offset=300),
            ev("l2", "leave", 12, "bob", generation=0, offset=400),
        ]

        assert [(s.id, s.left_at, s.ended_by) for s in derive_sessions("s", events)] == [
            ("j", at(9), EndedBy.RECONCILED),
            ("j2", at(12), EndedBy.LOGGED),
        ]

    def test_reconciled_event_after_a_stop_line_is_ignored(self):
        """A reconciled leave placed after a stop line finds no open session: the stop ended it."""
        events = [
            ev("j", "join", 0, "bob", generation=0, offset=100),
            ev("q", "server_stopping", 5, generation=0, offset=200),
            ev("r", "leave", 9, "bob", is_reconciled=True, generation=0, offset=200),
        ]

        assert [(s.left_at, s.ended_by) for s in derive_sessions("s", events)] == [
            (at(5), EndedBy.SERVER_STOPPED)
        ]
