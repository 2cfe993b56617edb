from pathlib import Path

import pytest

from parser.line_shapes import Shape, split_line
from parser.patterns.engine import PatternCompileError, PatternSet, PatternSpec, compile_regex
from parser.patterns.loader import SHIPPED_PACKS, load_patterns

ALL_PACKS = SHIPPED_PACKS

# Every sample line of shared/research/factorio-facts.md §5, with what it must become (None: no
# event). Engine noise that admins do not need is counted, not published.
GOLDEN: list[tuple[str, str | None, dict[str, str]]] = [
    (
        "   1.306 Info RemoteCommandProcessor.cpp:131: Starting RCON interface at port 4000",
        "rcon_ready",
        {"port": "4000"},
    ),
    ("   0.622 Warning FileUtil.cpp:527: test not found; using test.zip", None, {}),
    (
        "   0.554 Error Main.cpp:839: require_user_verification must be enabled for public games.",
        "engine_error",
        {"source": "Main.cpp:839"},
    ),
    (" 640.910 Quitting: remote-quit.", "server_stopping", {"message": "remote-quit"}),
    ("1641.421 Goodbye", "server_stopped", {}),
    ("2019-01-20 10:30:04 [JOIN] User joined the game", "join", {"player": "User"}),
    (
        "2019-01-20 10:30:07 [CHAT] User: chat message",
        "chat",
        {"player": "User", "message": "chat message"},
    ),
    (
        "2019-01-20 10:30:14 [COMMAND] User (command): blah",
        "command",
        {"player": "User", "message": "blah"},
    ),
    (
        "2019-01-20 10:30:14 Cannot execute command. Error: "
        '[string "blah"]:1: syntax error near <eof>',
        "command_error",
        {},
    ),
    ("2019-01-20 10:30:21 [LEAVE] User left the game", "leave", {"player": "User"}),
    (
        "2019-01-20 15:46:34 [KICK] User was kicked by <server>. Reason: unspecified.",
        "kick",
        {"player": "User", "actor": "<server>", "message": "unspecified"},
    ),
    (
        "2019-01-20 15:47:50 [BAN] User was banned by <server>. Reason: unspecified.",
        "ban",
        {"player": "User", "actor": "<server>"},
    ),
    ("2019-01-20 15:48:28 [UNBANNED] User was unbanned by <server>.", "unban", {"player": "User"}),
    ("Error while running event level::on_nth_tick(1)", "engine_error", {}),
    (
        "4802.763 Info AppManager.cpp:287: Saving to _autosave4 (blocking).",
        "save_started",
        {"save": "_autosave4"},
    ),
    ("4202.780 Info AppManagerStates.cpp:1802: Saving finished", "save_finished", {}),
    (" 344.683 Script =(command):1: test", None, {}),
    ("   0.751 Verbose ModManager.cpp:554: Time to load mods: 0.746762", None, {}),
    (
        "   0.000 2026-08-02 02:16:26; Factorio 2.0.77 (build 84539, linux64, headless, space-age)",
        "server_start",
        {"version": "2.0.77"},
    ),
    ("   0.013 Running in headless mode", None, {}),
    (
        "   0.542 Info ServerMultiplayerManager.cpp:808: updateTick(18446744073709551615) changing "
        "state from(Ready) to(PreparedToHostGame)",
        None,
        {},
    ),
    (
        "   0.567 Hosting game at IP ADDR:({0.0.0.0:34199})",
        "server_hosting",
        {"address": "0.0.0.0:34199"},
    ),
    (
        "   0.567 Info RemoteCommandProcessor.cpp:126: Starting RCON interface at IP "
        "ADDR:({0.0.0.0:27019})",
        "rcon_ready",
        {"address": "0.0.0.0:27019"},
    ),
    ("Players (0):", None, {}),
    ("2.0.77", None, {}),
    ("7 seconds", None, {}),
    (
        "2026-08-02 02:16:35 [CHAT] <server>: hello from probe",
        "chat",
        {"player": "<server>", "message": "hello from probe"},
    ),
    ("  16.011 Received SIGINT, shutting down", "server_stopping", {"signal": "SIGINT"}),
    ("  16.011 Quitting: signal.", "server_quitting", {"message": "signal"}),
    ("  16.030 Info MainLoop.cpp:448: Saving progress: 100.000000%", None, {}),
    ("  16.528 Goodbye", "server_stopped", {}),
]


@pytest.fixture(name="shipped", scope="module")
def _shipped() -> PatternSet:
    """The default shipped pattern set, loaded and self-tested."""
    result = load_patterns(None)
    assert result.issues == ()
    assert result.patterns is not None
    return result.patterns


class TestShippedPatterns:
    @pytest.mark.parametrize(("line", "event_type", "fields"), GOLDEN)
    def test_golden_corpus(self, shipped: PatternSet, line: str, event_type, fields):
        """Each real sample line from the facts file becomes the expected event (or none)."""
        match = shipped.match(line)

        assert (match.spec.type if match else None) == event_type
        if match is not None:
            assert {k: match.fields().get(k) for k in fields} == fields

    def test_every_pack_passes_its_own_examples(self):
        """All shipped packs together load with no problem (examples claimed by their own)."""
        result = load_patterns(None, packs=ALL_PACKS)

        assert result.issues == ()

    def test_names_with_punctuation_spaces_and_non_ascii(self, shipped: PatternSet):
        """Player names with '-', '.', spaces and non-ASCII parse whole."""
        names = ["Cool-Guy", "J.R.", "grilled ham", "Jörg", "日本語", "Player_123"]

        got = [shipped.match(f"2026-11-27 12:00:00 [JOIN] {n} joined the game") for n in names]

        assert [m.player if m else None for m in got] == names


def _write(tmp_path: Path, name: str, text: str) -> Path:
    folder = tmp_path / "patterns"
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


USER_PATTERN = """\
version: 1
patterns:
  - name: restart_warning
    type: restart_warning
    priority: 50
    regex: '^\\[SERVER\\] Server restart in (?P<minutes>\\d+) minutes?$'
    examples:
      - line: '2026-11-27 12:00:00 [SERVER] Server restart in 5 minutes'
        expect: {minutes: '5'}
"""


class TestLoader:
    def test_user_pattern_is_loaded_after_packs(self, tmp_path: Path):
        """A valid user file adds its patterns to the shipped ones."""
        _write(tmp_path, "server.yml", USER_PATTERN)

        result = load_patterns(tmp_path)

        assert result.issues == ()
        assert result.patterns is not None
        match = result.patterns.match("2026-11-27 12:00:00 [SERVER] Server restart in 5 minutes")
        assert match is not None
        assert match.data == {"minutes": "5"}

    def test_shadowed_example_is_refused_naming_the_winner(self, tmp_path: Path):
        """An example claimed first by an earlier pattern is an error naming that pattern."""
        _write(
            tmp_path,
            "shadow.yml",
            """\
patterns:
  - name: milestone_any
    type: milestone
    priority: 5
    regex: '\\[MILESTONE\\]'
    examples:
      - line: '2026-11-27 12:00:00 [MILESTONE] anything'
  - name: milestone_produced
    type: milestone
    priority: 11
    regex: '^\\[MILESTONE\\] Produced (?P<count>[0-9,]+) (?P<item>.+)\\.$'
    examples:
      - line: '2026-11-27 12:00:00 [MILESTONE] Produced 1,000 iron plates.'
""",
        )

        result = load_patterns(tmp_path)

        assert result.patterns is None
        [issue] = result.issues
        assert issue.line == 13
        assert "claimed first by 'milestone_any'" in issue.message

    def test_backtracking_regex_is_refused_with_reason(self, tmp_path: Path):
        """A regex RE2 cannot run in linear time (a back-reference) is refused with the reason."""
        _write(
            tmp_path,
            "bad.yml",
            """\
patterns:
  - name: repeated
    type: chat
    regex: '^(?P<a>x)\\1$'
    examples:
      - line: '2026-11-27 12:00:00 xx'
""",
        )

        result = load_patterns(tmp_path)

        assert result.patterns is None
        assert "linear time" in result.issues[0].message
        assert result.issues[0].line == 2

    def test_every_problem_is_reported_at_once(self, tmp_path: Path):
        """Schema errors, duplicate names and failing examples from several files all appear."""
        _write(
            tmp_path,
            "a.yml",
            "patterns:\n  - name: chat\n    type: chat\n    regex: x\n"
            "    examples: [{line: '2026-01-01 00:00:00 x'}]\n",
        )
        _write(
            tmp_path,
            "b.yml",
            "patterns:\n  - name: Bad Name\n    type: chat\n    regex: x\n"
            "    colour: red\n    examples: [{line: x}]\n",
        )

        result = load_patterns(tmp_path)

        messages = [f"{i.file.name}:{i.line}: {i.field}: {i.message}" for i in result.issues]
        assert any("a.yml:2" in m and "already used" in m for m in messages), messages
        assert any("b.yml" in m and "colour" in m for m in messages), messages
        assert any("b.yml" in m and "name" in m for m in messages), messages

    def test_unnamed_group_is_refused(self):
        """Positional groups are refused, so no field is ever filled by position."""
        with pytest.raises(PatternCompileError, match="unnamed"):
            compile_regex("p", r"^\[JOIN\] (.+) joined the game$")

    def test_disable_switches_off_a_shipped_pattern(self, tmp_path: Path):
        """A user file can disable a shipped pattern by name."""
        _write(tmp_path, "quiet.yml", "disable: [chat]\n")

        result = load_patterns(tmp_path)

        assert result.patterns is not None
        assert result.patterns.match("2026-11-27 12:00:00 [CHAT] a: b") is None

    def test_disable_of_unknown_name_is_an_error(self, tmp_path: Path):
        """Disabling a name nothing defines is reported with its line."""
        _write(tmp_path, "quiet.yml", "disable:\n  - no_such_pattern\n")

        result = load_patterns(tmp_path)

        assert [(i.line, "no_such_pattern" in i.message) for i in result.issues] == [(2, True)]


class TestEngine:
    def test_lower_priority_number_wins(self):
        """When two patterns match, the one with the lower priority number claims the line."""
        patterns = PatternSet(
            [
                PatternSpec("broad", "chat", r"(?P<message>.+)", priority=200),
                PatternSpec("narrow", "join", r"^\[JOIN\] (?P<player>.+) joined", priority=10),
            ]
        )

        match = patterns.match("2026-11-27 12:00:00 [JOIN] a joined the game")

        assert match is not None
        assert match.spec.name == "narrow"

    def test_shape_restricts_patterns(self):
        """A dated-shape pattern never sees an engine line."""
        patterns = PatternSet([PatternSpec("g", "x", r"Goodbye", shape=Shape.DATED)])

        assert patterns.match("1641.421 Goodbye") is None

    def test_split_line_shapes(self):
        """Dated, engine and bare lines are told apart and their prefix removed."""
        assert split_line("2019-01-20 10:30:04 [JOIN] a").shape is Shape.DATED
        assert split_line(" 640.910 Quitting: remote-quit.").body == "Quitting: remote-quit."
        assert split_line("Players (0):").shape is Shape.BARE
