import pytest

from simulator import GameState, LuaSandbox, ManualClock


@pytest.fixture(name="lua")
def _lua():
    """A sandbox over a fresh game with one player online."""
    state = GameState(clock=ManualClock(), auto_pause=False)
    state.connect("Jörg")
    return LuaSandbox(state, instruction_limit=1_000_000)


class TestLuaSandbox:
    """Real Lua 5.2 against the simulated Factorio API."""

    def test_each_print_is_one_line(self, lua):
        """Every `rcon.print` adds one line ending in a newline; embedded newlines survive."""
        assert lua.run("rcon.print('a') rcon.print('b\\nc')").output == "a\nb\nc\n"

    def test_no_print_means_empty_output(self, lua):
        """A command that prints nothing has an empty result."""
        assert lua.run("local x = 1").output == ""

    def test_unknown_key_errors_like_factorio(self, lua):
        """Reading a missing key raises `LuaGameScript doesn't contain key ...`."""
        assert lua.run("rcon.print(game.evolution_factor)").error == (
            '[string "rcon.print(game.evolution_factor)"]:1:'
            " LuaGameScript doesn't contain key evolution_factor."
        )

    def test_globals_persist_between_commands(self, lua):
        """A global set by one command is visible to the next, as in a save."""
        lua.run("counter = 41")

        assert lua.run("counter = counter + 1 rcon.print(counter)").output == "42\n"

    def test_runaway_loops_are_stopped(self, lua):
        """An endless loop ends with an error instead of hanging the simulator."""
        assert "Script ran for too long." in (lua.run("while true do end").error or "")

    def test_no_os_or_io(self, lua):
        """The host's os and io libraries are not reachable."""
        assert [lua.run("rcon.print(type(os))").output, lua.run("rcon.print(type(io))").output] == [
            "nil\n",
            "nil\n",
        ]

    def test_table_to_json(self, lua):
        """`helpers.table_to_json` encodes compact JSON with raw UTF-8."""
        code = "rcon.print(helpers.table_to_json({name = game.players[1].name, n = {1, 2}}))"

        assert lua.run(code).output in (
            '{"name":"Jörg","n":[1,2]}\n',
            '{"n":[1,2],"name":"Jörg"}\n',
        )

    def test_game_player_is_nil_over_rcon(self, lua):
        """`game.player` is nil for commands from RCON."""
        assert lua.run("rcon.print(game.player == nil)").output == "true\n"

    def test_players_iterate_by_index_and_look_up_by_name(self, lua):
        """`game.players` counts with #, iterates by index and indexes by name."""
        code = (
            "for i, p in pairs(game.players) do rcon.print(i .. ' ' .. p.name) end"
            " rcon.print(#game.players) rcon.print(game.players['Jörg'].connected)"
        )

        assert lua.run(code).output == "1 Jörg\n1\ntrue\n"
