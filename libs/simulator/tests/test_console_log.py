from pathlib import Path

import pytest

from simulator import ConsoleLogWriter, ManualClock


@pytest.fixture(name="clock")
def _clock():
    """A manual clock at 2026-11-27 14:03:10."""
    return ManualClock()


class TestConsoleLogWriter:
    """The console-log file writer."""

    def test_creates_parent_dirs_and_writes_preamble(self, tmp_path: Path, clock):
        """Start creates missing directories and writes the banner first, RCON marker last."""
        path = tmp_path / "a" / "b" / "console.log"

        with ConsoleLogWriter(path, clock=clock) as writer:
            writer.start(rcon=("0.0.0.0", 27015))

        lines = path.read_text(encoding="utf-8").splitlines()
        assert lines[0].startswith("   0.000 2026-11-27 14:03:10; Factorio 2.0.77 (build 84539,")
        assert lines[-1].endswith("Starting RCON interface at IP ADDR:({0.0.0.0:27015})")

    def test_appends_to_an_existing_file(self, tmp_path: Path, clock):
        """Writing appends after what is already there, never truncates."""
        path = tmp_path / "console.log"
        path.write_text("old line\n", encoding="utf-8")

        with ConsoleLogWriter(path, clock=clock) as writer:
            writer.write("new line")

        assert path.read_text(encoding="utf-8") == "old line\nnew line\n"

    def test_each_write_is_visible_before_close(self, tmp_path: Path, clock):
        """A reader sees every line as soon as `write` returns, UTF-8 encoded."""
        path = tmp_path / "console.log"
        writer = ConsoleLogWriter(path, clock=clock)

        writer.write("2026-11-27 14:03:10 [JOIN] 日本語 joined the game")

        assert path.read_bytes() == "2026-11-27 14:03:10 [JOIN] 日本語 joined the game\n".encode()
        writer.close()

    def test_uptime_follows_the_clock(self, tmp_path: Path, clock):
        """Uptime counts from the writer's creation on the injected clock."""
        writer = ConsoleLogWriter(tmp_path / "c.log", clock=clock)
        clock.advance(16.011)

        writer.stop()
        writer.close()

        assert (tmp_path / "c.log").read_text(encoding="utf-8").splitlines()[
            -1
        ] == "  16.528 Goodbye"

    def test_keeps_writing_to_a_renamed_file_until_reopened(self, tmp_path: Path, clock):
        """Like Factorio, the writer follows its descriptor after a rename until `reopen`."""
        path = tmp_path / "console.log"
        writer = ConsoleLogWriter(path, clock=clock)
        writer.write("one")
        path.rename(tmp_path / "console.log.1")
        writer.write("two")
        writer.reopen()
        writer.write("three")
        writer.close()

        assert (
            (tmp_path / "console.log.1").read_text(encoding="utf-8"),
            path.read_text(encoding="utf-8"),
        ) == ("one\ntwo\n", "three\n")

    def test_write_after_close_raises(self, tmp_path: Path, clock):
        """A closed writer refuses further lines instead of dropping them."""
        writer = ConsoleLogWriter(tmp_path / "c.log", clock=clock)
        writer.close()

        with pytest.raises(ValueError, match="closed"):
            writer.write("late")
