from pathlib import Path

import pytest

from simulator import Chat, ManualClock, ServerSettings, SimulatedServer
from simulator.commands import format_game_time, join_names, split_player_argument


@pytest.fixture(name="clock")
def _clock():
    """A manual clock at 2026-11-27 14:03:10."""
    return ManualClock()


@pytest.fixture(name="sim")
async def _sim(tmp_path: Path, clock):
    """A started server without RCON on a manual clock, whose save already ran Lua."""
    settings = ServerSettings(
        log_path=tmp_path / "console.log", is_achievements_enabled=False, auto_pause=False
    )
    server = SimulatedServer(settings, clock=clock)
    await server.start()
    yield server
    await server.stop()


def _tail(server: SimulatedServer, count: int = 1) -> list[str]:
    return server.settings.log_path.read_text(encoding="utf-8").splitlines()[-count:]


class TestPureHelpers:
    """Formatting helpers used by the replies."""

    @pytest.mark.parametrize(
        ("seconds", "expected"),
        [
            (0, "0 seconds"),
            (7, "7 seconds"),
            (61, "1 minute and 1 second"),
            (126086, "1 day, 11 hours, 1 minute and 26 seconds"),
            (7200, "2 hours"),
        ],
    )
    def test_game_time_words(self, seconds, expected):
        """`/time` words use singular and plural units joined by commas and a final `and`."""
        assert format_game_time(seconds) == expected

    def test_join_names(self):
        """Name lists read `A`, `A and B`, `A, B and C`."""
        assert [join_names(["A"]), join_names(["A", "B"]), join_names(["A", "B", "C"])] == [
            "A",
            "A and B",
            "A, B and C",
        ]

    def test_player_argument_prefers_the_longest_known_name(self):
        """A known name with a space is taken whole; an unknown one is the first word."""
        assert [
            split_player_argument("grilled ham being rude", ["grilled", "grilled ham"]),
            split_player_argument("J.R. afk", []),
        ] == [("grilled ham", "being rude"), ("J.R.", "afk")]


class TestQueries:
    """Replies of the read-only commands, quoted from facts §4.3."""

    async def test_players_lists_everyone_with_online_marks(self, sim):
        """`/players` lists every known player, `(online)` after the connected ones."""
        sim.add_player("Cool-Guy")
        sim.add_player("grilled ham")
        sim.remove_player("Cool-Guy")

        assert await sim.execute("/players") == "Players (2):\n  Cool-Guy\n  grilled ham (online)\n"

    async def test_players_online_and_alias(self, sim):
        """`/players online` and `/p o` list only connected players."""
        sim.add_player("Jörg")
        sim.add_player("日本語")
        sim.remove_player("日本語")

        expected = "Online players (1):\n  Jörg (online)\n"
        assert [await sim.execute("/players online"), await sim.execute("/p o")] == [expected] * 2

    async def test_empty_player_lists(self, sim):
        """With nobody ever joined the headers say zero."""
        assert [await sim.execute("/players"), await sim.execute("/players online")] == [
            "Players (0):\n",
            "Online players (0):\n",
        ]

    async def test_time_version_seed(self, sim, clock):
        """`/time` counts game seconds from the tick; `/version` and `/seed` are bare values."""
        clock.advance(126086)

        assert [
            await sim.execute("/time"),
            await sim.execute("/version"),
            await sim.execute("/seed"),
        ] == ["1 day, 11 hours, 1 minute and 26 seconds\n", "2.0.77\n", "3141592653\n"]

    async def test_evolution_lists_every_surface(self, sim):
        """`/evolution` prints one 2.x line per surface, planets and the platform."""
        sim.set_evolution("nauvis", 0.9495)

        assert await sim.execute("/evolution") == (
            "Nauvis - Evolution factor: 0.9495. (Time 10%) (Pollution 84%) (Spawner kills 6%)\n"
            "Vulcanus - Evolution factor: 0.2101. (Time 100%) (Pollution 0%) (Spawner kills 0%)\n"
            "Gleba - Evolution factor: 0.1352. (Time 65%) (Pollution 16%) (Spawner kills 19%)\n"
            "platform-1 - Evolution factor: 0.0000. (Time 100%) (Pollution 0%) (Spawner kills 0%)\n"
        )

    async def test_evolution_of_one_surface(self, sim):
        """`/evolution <surface>` prints that surface, or says an unknown one does not exist."""
        assert [await sim.execute("/evolution gleba"), await sim.execute("/evolution Fulgora")] == [
            "Gleba - Evolution factor: 0.1352. (Time 65%) (Pollution 16%) (Spawner kills 19%)\n",
            'Surface "Fulgora" does not exist.\n',
        ]

    async def test_unknown_command(self, sim):
        """An unknown command is answered with `Unknown command` (our assumption)."""
        assert await sim.execute("/frobnicate now") == 'Unknown command "frobnicate".\n'


class TestChatAndLua:
    """Plain text, Lua commands and the achievements quirk."""

    async def test_plain_text_is_server_chat(self, sim):
        """Text without a slash is logged as `[CHAT] <server>:` and answered with an empty body."""
        assert await sim.execute("hello from probe") == ""
        assert _tail(sim) == ["2026-11-27 14:03:10 [CHAT] <server>: hello from probe"]

    async def test_empty_command_gets_nothing(self, sim):
        """An empty or blank command has no reply at all."""
        assert [await sim.execute(""), await sim.execute("   ")] == [None, None]

    async def test_first_lua_command_of_a_fresh_save_is_swallowed(self, tmp_path, clock):
        """The first `/sc` answers empty and logs the warning; the repeat runs; later ones too."""
        settings = ServerSettings(log_path=tmp_path / "fresh.log")
        async with SimulatedServer(settings, clock=clock) as fresh:
            replies = [await fresh.execute("/sc rcon.print('success')") for _ in range(3)]
            warnings = fresh.settings.log_path.read_text(encoding="utf-8").count("[WARNING]")

        assert (replies, warnings) == (["", "success\n", "success\n"], 1)

    async def test_c_is_echoed_and_its_errors_logged(self, sim):
        """`/c` logs a `[COMMAND]` line; its error goes to the log, the reply stays empty."""
        reply = await sim.execute("/c rcon.print(game.nope)")

        assert reply == ""
        assert _tail(sim, 2) == [
            "2026-11-27 14:03:10 [COMMAND] <server> (command): rcon.print(game.nope)",
            "2026-11-27 14:03:10 Cannot execute command. Error: "
            '[string "rcon.print(game.nope)"]:1: LuaGameScript doesn\'t contain key nope.',
        ]

    async def test_sc_returns_its_error(self, sim):
        """`/sc` errors come back in the reply and nothing is logged."""
        before = _tail(sim)

        reply = await sim.execute("/sc rcon.print(")

        assert reply == (
            "Cannot execute command. Error:"
            ' [string "rcon.print("]:1: unexpected symbol near <eof>\n'
        )
        assert _tail(sim) == before

    async def test_poller_expressions(self, sim, clock):
        """Tick, speed, research counts and per-surface evolution come out of `/sc rcon.print`."""
        sim.add_player("Cool-Guy")
        clock.advance(10)
        research = (
            "/sc local r, t = 0, 0 for _, x in pairs(game.forces['player'].technologies) do"
            " t = t + 1 if x.researched then r = r + 1 end end rcon.print(r .. '/' .. t)"
        )

        replies = [
            await sim.execute("/sc rcon.print(game.tick)"),
            await sim.execute("/sc rcon.print(game.speed)"),
            await sim.execute(research),
            await sim.execute(
                "/sc rcon.print(game.forces.enemy.get_evolution_factor(game.surfaces.gleba))"
            ),
            await sim.execute("/sc rcon.print(#game.connected_players)"),
            await sim.execute("/sc rcon.print(game.surfaces['nauvis'].daytime)"),
        ]

        assert replies == ["600\n", "1\n", "42/231\n", "0.1352\n", "1\n", "0.024\n"]

    async def test_game_speed_can_be_set(self, sim, clock):
        """`game.speed = 2` doubles the tick rate from then on."""
        await sim.execute("/sc game.speed = 2")
        clock.advance(1)

        assert await sim.execute("/sc rcon.print(game.tick)") == "120\n"


class TestModeration:
    """Commands that change lists and write console-log lines."""

    async def test_kick_logs_and_disconnects(self, sim):
        """`/kick` logs `[KICK] ... Reason: ...` and the player goes offline."""
        sim.add_player("grilled ham")

        assert await sim.execute("/kick grilled ham being rude") == ""
        assert _tail(sim) == [
            "2026-11-27 14:03:10 [KICK] grilled ham was kicked by <server>. Reason: being rude."
        ]
        assert sim.get_online_players() == []

    async def test_kick_unknown_player(self, sim):
        """Kicking someone not online changes nothing and says so."""
        assert await sim.execute("/kick nobody") == 'Player "nobody" doesn\'t exist.\n'

    async def test_ban_unban_and_bans(self, sim):
        """`/ban` and `/unban` log their lines and `/bans` lists the banned names."""
        sim.add_player("J.R.")

        await sim.execute("/ban J.R. griefing")
        await sim.execute("/ban Stranger")
        listed = await sim.execute("/bans")
        await sim.execute("/unban J.R.")

        assert listed == "Banned players: J.R. and Stranger\n"
        assert _tail(sim, 3) == [
            "2026-11-27 14:03:10 [BAN] J.R. was banned by <server>. Reason: griefing.",
            "2026-11-27 14:03:10 [BAN] Stranger (not on map) was banned by <server>."
            " Reason: unspecified.",
            "2026-11-27 14:03:10 [UNBANNED] J.R. was unbanned by <server>.",
        ]
        assert [
            await sim.execute("/banlist get J.R."),
            await sim.execute("/banlist get Stranger"),
        ] == [
            "J.R. is not banned.\n",
            "Stranger is banned.\n",
        ]

    async def test_promote_demote_and_admins(self, sim):
        """Promote and demote log their lines; `/admins` lists admins with online marks."""
        sim.add_player("Jörg")

        assert await sim.execute("/promote Jörg") == ""
        assert await sim.execute("/admins") == "  Jörg (online)\n"
        assert await sim.execute("/demote Jörg") == ""
        assert await sim.execute("/demote Jörg") == "Jörg is not in the admin list.\n"
        assert _tail(sim, 2) == [
            "2026-11-27 14:03:10 [PROMOTE] Jörg was promoted to admin by <server>.",
            "2026-11-27 14:03:10 [DEMOTE] Jörg was demoted from admin by <server>.",
        ]

    async def test_promote_is_case_insensitive_for_listed_offline_admins(self, sim):
        """Promoting a listed admin who is offline, in any case, gives Factorio's sentence."""
        await sim.execute("/promote test_rcon_admin")

        assert await sim.execute("/promote test_RCON_admin") == (
            "test_RCON_admin is already in the admin list and will be promoted upon joining the"
            " game.\n"
        )

    async def test_mute_unmute_and_whisper(self, sim):
        """Mute, unmute and whisper answer empty for an online player; muted chat is not logged."""
        sim.add_player("bob")

        replies = [await sim.execute("/mute bob"), await sim.execute("/mutes")]
        sim.apply(Chat("bob", "can anyone hear me"))
        replies.append(await sim.execute("/whisper bob psst"))
        replies.append(await sim.execute("/unmute bob"))
        sim.apply(Chat("bob", "back"))

        assert replies == ["", "  bob (online)\n", "", ""]
        assert _tail(sim) == ["2026-11-27 14:03:10 [CHAT] bob: back"]
        assert await sim.execute("/w nobody hi") == 'Player "nobody" doesn\'t exist.\n'

    async def test_whitelist(self, sim):
        """Whitelist add/remove/get/enable/disable keep the list Factorio reports."""
        for command in ("/whitelist add Alice", "/whitelist add bob", "/whitelist add Cool-Guy"):
            await sim.execute(command)
        await sim.execute("/whitelist remove bob")
        await sim.execute("/whitelist enable")

        assert [
            await sim.execute("/whitelist get"),
            await sim.execute("/whitelist get Alice"),
            await sim.execute("/whitelist get bob"),
        ] == [
            "Whitelisted players: Alice and Cool-Guy\n",
            "Alice is whitelisted.\n",
            "bob is not whitelisted.\n",
        ]
        assert sim.state.is_whitelist_enabled

    async def test_server_save_logs_saving_lines(self, sim, clock):
        """`/server-save name` logs `Saving to name (blocking).` and `Saving finished`."""
        clock.advance(4802.196)

        assert await sim.execute("/server-save backup") == ""
        assert _tail(sim, 2) == [
            "4802.763 Info AppManager.cpp:287: Saving to backup (blocking).",
            "4802.763 Info AppManager.cpp:419: Saving finished",
        ]
