import json
import subprocess
import sys
from pathlib import Path

LINES = (
    "2019-01-20 10:30:04 [JOIN] Cool-Guy joined the game\n"
    "   0.567 Hosting game at IP ADDR:({0.0.0.0:34199})\n"
    "noise that no pattern claims\n"
    "2019-01-20 15:46:34 [KICK] grilled ham was kicked by <server>. Reason: afk.\n"
)


def _isr(*args: str, stdin: str = "", cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "isr_cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=cwd,
    )


class TestIsrParse:
    def test_prints_one_json_object_per_matched_line(self, tmp_path: Path):
        """`isr parse -` reads stdin and prints type, server, player, message, ts, data, raw."""
        result = _isr("parse", "-", "--server", "vanilla", "--config", str(tmp_path), stdin=LINES)

        records = [json.loads(line) for line in result.stdout.splitlines()]
        assert result.returncode == 0, result.stderr
        assert [(r["type"], r["player"], r["message"]) for r in records] == [
            ("join", "Cool-Guy", None),
            ("server_hosting", None, None),
            ("kick", "grilled ham", "afk"),
        ]
        assert records[2]["data"] == {"actor": "<server>"}
        assert records[0]["ts"] == "2019-01-20T10:30:04"
        assert {r["server"] for r in records} == {"vanilla"}
        assert records[1]["raw"] == "   0.567 Hosting game at IP ADDR:({0.0.0.0:34199})"

    def test_reads_a_file_and_uses_the_users_patterns(self, tmp_path: Path):
        """User pattern files in <config>/patterns/ apply, and a file argument is read."""
        (tmp_path / "patterns").mkdir()
        (tmp_path / "patterns" / "x.yml").write_text(
            "patterns:\n  - name: noise\n    type: noise\n    shape: bare\n"
            "    regex: '^noise (?P<what>.+)$'\n"
            "    examples: [{line: 'noise a', expect: {what: a}}]\n"
        )
        log = tmp_path / "console.log"
        log.write_text(LINES)

        result = _isr("parse", str(log), "--config", str(tmp_path))

        types = [json.loads(line)["type"] for line in result.stdout.splitlines()]
        assert types == ["join", "server_hosting", "noise", "kick"]

    def test_invalid_pattern_set_exits_2_listing_problems(self, tmp_path: Path):
        """A broken pattern file stops `isr parse` with every problem and its line."""
        (tmp_path / "patterns").mkdir()
        (tmp_path / "patterns" / "bad.yml").write_text("patterns:\n  - name: x\n")

        result = _isr("parse", "-", "--config", str(tmp_path), stdin=LINES)

        assert result.returncode == 2
        assert "bad.yml:2" in result.stderr
