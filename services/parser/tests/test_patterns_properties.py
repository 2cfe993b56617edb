from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from common.contracts import GameEvent, RawLineBatch
from parser.events import events_from_batch
from parser.patterns.engine import PatternSet, PatternSpec
from parser.patterns.loader import SHIPPED_PACKS, load_patterns

_LOADED = load_patterns(None, packs=SHIPPED_PACKS).patterns
assert _LOADED is not None
PATTERNS: PatternSet = _LOADED

_PREFIXES = st.sampled_from(["", "2026-11-27 12:00:00 ", "   1.306 ", "2026-13-45 99:99:99 "])
_TAGS = st.sampled_from(["", "[JOIN] ", "[CHAT] ", "[KICK] ", "[BAN] ", "[PROMOTE] ", "[X] "])
LINES = st.builds(lambda p, t, rest: p + t + rest, _PREFIXES, _TAGS, st.text(max_size=300))


class TestParserProperties:
    @settings(max_examples=400, deadline=None)
    @given(line=LINES)
    def test_no_line_crashes_the_matcher(self, line: str):
        """Any text, including surrogates and control characters, matches or not without raising."""
        match = PATTERNS.match(line)

        assert match is None or match.spec.enabled

    @settings(max_examples=200, deadline=None)
    @given(lines=st.lists(LINES, min_size=1, max_size=20))
    def test_every_event_keeps_its_line(self, lines: list[str]):
        """Events come out in line order, each carrying the id and text of its own line."""
        batch = RawLineBatch(
            server="s",
            file_id="f",
            generation=0,
            offsets=tuple(range(0, 10 * len(lines), 10)),
            lines=tuple(lines),
            read_at=datetime.now(UTC),
        )

        encoded, unmatched = events_from_batch(batch, PATTERNS)
        events = [GameEvent.from_json(e.payload, strict=True) for e in encoded]

        assert len(events) + unmatched == len(lines)
        offsets = [e.source.offset for e in events if e.source]
        assert offsets == sorted(offsets)
        assert all(e.raw == lines[e.source.offset // 10] for e in events if e.source)
        assert [e.id for e in events] == [e.id for e in encoded]

    def test_pathological_pattern_and_input_complete(self):
        """A pattern that makes backtracking engines explode runs on RE2 and returns promptly."""
        patterns = PatternSet([PatternSpec("nested", "x", r"^(?P<body>(?:a+)+)b$", shape=None)])

        assert patterns.match("a" * 100_000 + "!") is None
        assert patterns.match("a" * 1000 + "b") is not None
