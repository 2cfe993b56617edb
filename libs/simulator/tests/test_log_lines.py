from datetime import UTC, datetime

import pytest

from simulator import log_lines

WHEN = datetime(2026, 11, 27, 14, 3, 10, tzinfo=UTC)


class TestEventLines:
    """Date-prefixed `[TAG]` lines."""

    @pytest.mark.parametrize("name", ["Cool-Guy", "J.R.", "grilled ham", "Jörg", "日本語"])
    def test_join_and_leave_keep_names_verbatim(self, name):
        """Join and leave lines carry any player name, including dots, spaces and non-ASCII."""
        assert (
            log_lines.join_line(WHEN, name),
            log_lines.leave_line(WHEN, name),
        ) == (
            f"2026-11-27 14:03:10 [JOIN] {name} joined the game",
            f"2026-11-27 14:03:10 [LEAVE] {name} left the game",
        )

    def test_chat_from_player_and_server(self):
        """Player chat is `name: text` and console chat uses the `<server>` actor."""
        assert [
            log_lines.chat_line(WHEN, "grilled ham", "ratio is 3:2"),
            log_lines.server_chat_line(WHEN, "hello from probe"),
        ] == [
            "2026-11-27 14:03:10 [CHAT] grilled ham: ratio is 3:2",
            "2026-11-27 14:03:10 [CHAT] <server>: hello from probe",
        ]

    def test_command_line(self):
        """A Lua command is logged with its author and `(command):`."""
        assert (
            log_lines.command_line(WHEN, "<server>", "rcon.print('asdf')")
            == "2026-11-27 14:03:10 [COMMAND] <server> (command): rcon.print('asdf')"
        )

    def test_moderation_lines(self):
        """Kick, ban and unban lines match the Clusterio fixtures, with `unspecified` by default."""
        assert [
            log_lines.kick_line(WHEN, "Cool-Guy"),
            log_lines.ban_line(WHEN, "J.R.", "admin", "griefing"),
            log_lines.ban_line(WHEN, "Jörg", is_on_map=False),
            log_lines.unban_line(WHEN, "J.R."),
        ] == [
            "2026-11-27 14:03:10 [KICK] Cool-Guy was kicked by <server>. Reason: unspecified.",
            "2026-11-27 14:03:10 [BAN] J.R. was banned by admin. Reason: griefing.",
            (
                "2026-11-27 14:03:10 [BAN] Jörg (not on map) was banned by <server>."
                " Reason: unspecified."
            ),
            "2026-11-27 14:03:10 [UNBANNED] J.R. was unbanned by <server>.",
        ]

    def test_promote_and_demote(self):
        """Promote and demote lines fit the parser regexes quoted in facts §3.3."""
        assert [
            log_lines.promote_line(WHEN, "grilled ham"),
            log_lines.demote_line(WHEN, "grilled ham", "admin"),
        ] == [
            "2026-11-27 14:03:10 [PROMOTE] grilled ham was promoted to admin by <server>.",
            "2026-11-27 14:03:10 [DEMOTE] grilled ham was demoted from admin by admin.",
        ]

    def test_achievements_warning(self):
        """The achievements warning is a dated `[WARNING]` line with Factorio's wording."""
        assert log_lines.achievements_warning_line(WHEN) == (
            "2026-11-27 14:03:10 [WARNING] Using Lua console commands will disable achievements."
            " Please repeat the command to proceed."
        )


class TestEngineLines:
    """Seconds-prefixed engine lines."""

    def test_uptime_is_right_aligned_to_eight_and_grows(self):
        """Uptime has three decimals, pads to eight characters and grows past that."""
        assert [
            log_lines.hosting_line(0.567, "0.0.0.0", 34197),
            log_lines.rcon_started_line(1.306, "0.0.0.0", 27015),
            log_lines.saving_to_line(4802.763, "_autosave4"),
            log_lines.goodbye_line(29973.149),
        ] == [
            "   0.567 Hosting game at IP ADDR:({0.0.0.0:34197})",
            (
                "   1.306 Info RemoteCommandProcessor.cpp:126: Starting RCON interface at IP ADDR:"
                "({0.0.0.0:27015})"
            ),
            "4802.763 Info AppManager.cpp:287: Saving to _autosave4 (blocking).",
            "29973.149 Goodbye",
        ]

    def test_banner_is_the_first_startup_line(self):
        """The preamble opens with the dated version banner and ends with the RCON marker."""
        lines = log_lines.startup_lines(
            datetime(2026, 8, 2, 2, 16, 26, tzinfo=UTC), game_port=34197, rcon=("0.0.0.0", 27015)
        )

        assert (lines[0], lines[-1]) == (
            (
                "   0.000 2026-08-02 02:16:26; Factorio 2.0.77 (build 84539, linux64, headless,"
                " space-age)"
            ),
            (
                "   0.567 Info RemoteCommandProcessor.cpp:126: Starting RCON interface at IP ADDR:"
                "({0.0.0.0:27015})"
            ),
        )

    def test_startup_without_rcon_has_no_rcon_marker(self):
        """A server started without RCON never prints the RCON marker."""
        lines = log_lines.startup_lines(WHEN)

        assert not any("RCON" in line for line in lines)

    def test_shutdown_ends_with_goodbye(self):
        """A graceful stop prints the signal, `Quitting: signal.`, the save and `Goodbye`."""
        assert log_lines.shutdown_lines(16.011, save_path="saves/probe.zip") == [
            "  16.011 Received SIGINT, shutting down",
            "  16.011 Quitting: signal.",
            "  16.011 Info MainLoop.cpp:437: Saving map as saves/probe.zip",
            "  16.030 Info MainLoop.cpp:448: Saving progress: 100.000000%",
            "  16.528 Goodbye",
        ]

    def test_saving_finished_and_quitting(self):
        """Save completion and quit lines use Factorio's wording."""
        assert [
            log_lines.saving_finished_line(4202.78),
            log_lines.quitting_line(640.91, "remote-quit"),
        ] == [
            "4202.780 Info AppManager.cpp:419: Saving finished",
            " 640.910 Quitting: remote-quit.",
        ]

    def test_command_error_line_is_dated_but_untagged(self):
        """A failed `/c` writes a dated line without a tag, as in the Clusterio fixture."""
        assert log_lines.command_error_line(WHEN, '[string "blah"]:1: syntax error near <eof>') == (
            "2026-11-27 14:03:10 Cannot execute command. Error:"
            ' [string "blah"]:1: syntax error near <eof>'
        )
