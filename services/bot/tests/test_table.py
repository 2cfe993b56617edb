from __future__ import annotations

from bot.commands.replies import help_text
from bot.commands.table import COMMANDS, ROOT, command_tree

ORIGINAL = [
    "servers",
    "connect",
    "status",
    "players",
    "version",
    "seed",
    "evolution",
    "admins",
    "health",
    "kick",
    "ban",
    "unban",
    "mute",
    "unmute",
    "promote",
    "demote",
    "save",
    "broadcast",
    "whisper",
    "whitelist",
    "clock",
    "speed",
    "research",
    "rcon",
    "help",
]


class TestTable:
    def test_the_original_25_commands_keep_their_names_and_order(self):
        """/factorio has exactly the original's 25 subcommands."""
        assert [c.name for c in COMMANDS if c.root == ROOT] == ORIGINAL

    def test_every_subcommand_takes_a_server_with_autocomplete(self):
        """Every registered subcommand has a ``server`` option with autocomplete."""
        for root in command_tree():
            for sub in root["options"]:
                server = [o for o in sub["options"] if o["name"] == "server"]
                assert server, sub["name"]
                assert server[0]["autocomplete"] is True

    def test_tree_fits_discord_limits(self):
        """At most 25 subcommands and 25 options each; names lower case; guild-only."""
        for root in command_tree():
            assert len(root["options"]) <= 25
            assert root["contexts"] == [0]
            for sub in root["options"]:
                assert len(sub["options"]) <= 25
                assert sub["name"] == sub["name"].lower()
                assert 1 <= len(sub["description"]) <= 100
                required = [o["required"] for o in sub["options"]]
                assert required == sorted(required, reverse=True), sub["name"]

    def test_help_lists_every_command(self):
        """Help is generated from the table and names every command."""
        text = help_text()

        assert all(f"/{c.root} {c.name}" in text for c in COMMANDS)
