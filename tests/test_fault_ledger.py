"""The fault suite's counting itself: a burst's lines and sessions against stored rows."""

from __future__ import annotations

from isr_testing.burst import make_burst, stay_seconds
from isr_testing.ledger import SessionRow, tally


def _rows(lines: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(f"srv:f:{i}", line) for i, line in enumerate(lines)]


def _sessions(burst, **changes: SessionRow) -> list[SessionRow]:
    rows = {
        p: SessionRow(p, closed=True, duration_s=float(s)) for p, s in burst.session_seconds.items()
    }
    rows.update(changes)
    return list(rows.values())


def test_a_burst_stored_exactly_has_no_problems():
    """Every event line once and every session closed with its log duration count as clean."""
    burst = make_burst(20)
    assert tally(burst, _rows(burst.event_lines), _sessions(burst)).problems() == {}
    assert len(burst.event_lines) == 60
    assert burst.session_seconds["p000007"] == stay_seconds(7)


def test_missing_doubled_and_session_faults_are_each_counted():
    """A lost line, a line stored twice, an open and a wrongly timed session each show."""
    burst = make_burst(20)
    lines = list(burst.event_lines)
    lost = lines.pop(3)
    rows = [*_rows(tuple(lines)), ("srv:f2:0", lines[0])]
    sessions = _sessions(
        burst,
        p000001=SessionRow("p000001", closed=False, duration_s=None),
        p000002=SessionRow("p000002", closed=True, duration_s=0.0),
    )
    problems = tally(burst, rows, sessions).problems()
    assert problems["missing"] == 1
    assert problems["duplicated_lines"] == 1
    assert problems["sessions_open"] == 1
    assert problems["sessions_wrong_duration"] == 1
    assert problems["examples"]["missing"] == [lost]
