"""Reading Factorio's replies and error texts."""

from __future__ import annotations

import pytest

from common.contracts import RconErrorCode
from rcon_poller import replies


class TestFindError:
    @pytest.mark.parametrize(
        ("reply", "code"),
        [
            ('Player "bob" doesn\'t exist.\n', RconErrorCode.UNKNOWN_PLAYER),
            ("bob is not banned.\n", RconErrorCode.NOT_BANNED),
            ("bob is not in the admin list.\n", RconErrorCode.NOT_ADMIN),
            ('Surface "mars" does not exist.\n', RconErrorCode.UNKNOWN_SURFACE),
            ('Unknown command "fly".\n', RconErrorCode.COMMAND_FAILED),
            ("Invalid usage of /kick.\n", RconErrorCode.COMMAND_FAILED),
            (
                'Cannot execute command. Error: [string "x"]:1: syntax error near <eof>\n',
                RconErrorCode.LUA_ERROR,
            ),
        ],
    )
    def test_factorio_error_texts_are_errors(self, reply: str, code: RconErrorCode):
        """Each error text Factorio answers with is recognised with its code."""
        error = replies.find_error(reply)

        assert error is not None
        assert code == error.code

    def test_lua_error_after_printed_output_is_still_an_error(self):
        """Output printed before a Lua error does not hide the error."""
        error = replies.find_error("partial\nCannot execute command. Error: boom\n")

        assert error is not None
        assert error.message == "Cannot execute command. Error: boom"

    @pytest.mark.parametrize("reply", ["", "2.0.77\n", "Players (0):\n", "ok 1 2\n"])
    def test_ordinary_replies_are_not_errors(self, reply: str):
        """Normal answers, empty ones included, are not errors."""
        assert replies.find_error(reply) is None


class TestPlayerLists:
    def test_online_list_keeps_names_verbatim(self):
        """Names with spaces, dots and any script survive; the (online) suffix is removed."""
        reply = "Online players (3):\n  grilled ham (online)\n  J.R. (online)\n  日本語 (online)\n"

        assert replies.parse_online_players(reply) == ("grilled ham", "J.R.", "日本語")

    def test_names_starting_with_player_are_kept(self):
        """Unlike the original, a player called PlayerOne is not dropped (R14)."""
        assert replies.parse_online_players("Online players (1):\n  PlayerOne (online)\n") == (
            "PlayerOne",
        )

    def test_full_list_marks_who_is_online(self):
        """`/players` lists everyone who has been on the map, online ones marked."""
        reply = "Players (2):\n  a (online)\n  b\n"

        assert replies.parse_player_list(reply) == (("a", True), ("b", False))

    def test_empty_server(self):
        """`Online players (0):` is an empty list."""
        assert replies.parse_online_players("Online players (0):\n") == ()

    @pytest.mark.parametrize("reply", ["", "Players (2):\n  a\n", "whatever\n"])
    def test_malformed_lists_are_refused(self, reply: str):
        """A missing header or a count that does not match is an unexpected reply."""
        with pytest.raises(replies.UnexpectedReply):
            replies.parse_player_list(reply)


class TestOtherReplies:
    def test_version(self):
        """`/version` is a dotted version."""
        assert replies.parse_version("2.0.77\n") == "2.0.77"

    def test_seed(self):
        """`/seed` is an integer."""
        assert replies.parse_seed("3141592653\n") == 3141592653

    def test_evolution_2x_per_surface(self):
        """2.x prints one line per surface, platforms included."""
        reply = (
            "Nauvis - Evolution factor: 0.4213. (Time 10%) (Pollution 84%) (Spawner kills 6%)\n"
            "platform-1 - Evolution factor: 0.0000. (Time 100%) (Pollution 0%) (Spawner kills 0%)\n"
        )

        assert replies.parse_evolution(reply) == {"Nauvis": 0.4213, "platform-1": 0.0}

    def test_evolution_1x_single_line(self):
        """1.1 prints one line without a surface, reported for Nauvis."""
        reply = "Evolution factor: 0.0500. (Time 0%) (Pollution 0%) (Spawner kills 0%)\n"

        assert replies.parse_evolution(reply) == {"Nauvis": 0.05}

    def test_admins(self):
        """`/admins` lists names indented, online ones marked; none is an empty list."""
        assert replies.parse_admins("  a (online)\n  b c\n") == (("a", True), ("b c", False))
        assert replies.parse_admins("There are no admins.\n") == ()

    def test_whitelist_names(self):
        """`A, B and C` is three names; an empty whitelist is an empty list."""
        assert replies.parse_name_list("Whitelisted players: A, B and C\n", what="w") == (
            "A",
            "B",
            "C",
        )
        assert replies.parse_name_list("Whitelisted players: A\n", what="w") == ("A",)
        assert replies.parse_name_list("The whitelist is empty.\n", what="w") == ()


class TestLuaReplies:
    def test_ok_line_gives_its_fields(self):
        """`ok a b` gives the fields after ok."""
        assert replies.parse_lua_reply("ok 42 231\n", what="t") == ["42", "231"]

    def test_err_line_is_a_refusal(self):
        """`err <code>` is a refusal carrying the code."""
        with pytest.raises(replies.LuaRefusal) as caught:
            replies.parse_lua_reply("err unknown_force\n", what="t")

        assert caught.value.code == "unknown_force"

    def test_lua_error_is_raised(self):
        """A Lua error in the reply raises FactorioLuaError."""
        with pytest.raises(replies.FactorioLuaError):
            replies.parse_lua_reply("Cannot execute command. Error: boom\n", what="t")

    @pytest.mark.parametrize("reply", ["", "ok\nok\n", "fine\n"])
    def test_anything_else_is_unexpected(self, reply: str):
        """An empty reply, two lines, or a line without ok is unexpected."""
        with pytest.raises(replies.UnexpectedReply):
            replies.parse_lua_reply(reply, what="t")
