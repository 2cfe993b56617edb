import pytest

from simulator import GameState, ManualClock


@pytest.fixture(name="clock")
def _clock():
    """A manual clock."""
    return ManualClock()


class TestTick:
    """The tick follows the clock at ups x speed, and stands still while paused."""

    def test_tick_advances_at_ups_times_speed(self, clock):
        """At 60 UPS ten seconds are 600 ticks; at 30 UPS and speed 2 the next ten are 600 more."""
        state = GameState(clock=clock, auto_pause=False)
        clock.advance(10)
        ticks = [state.tick]
        state.set_ups(30)
        state.set_speed(2)
        clock.advance(10)
        ticks.append(state.tick)

        assert ticks == [600, 1200]

    def test_explicit_pause_freezes_the_tick(self, clock):
        """While paused the tick does not move; unpausing continues from the same tick."""
        state = GameState(clock=clock, auto_pause=False)
        clock.advance(1)
        state.set_paused(True)
        clock.advance(100)
        frozen = state.tick
        state.set_paused(False)
        clock.advance(1)

        assert (frozen, state.tick) == (60, 120)

    def test_auto_pause_runs_only_while_someone_is_online(self, clock):
        """With auto_pause the tick moves only between a join and the last leave."""
        state = GameState(clock=clock, auto_pause=True)
        clock.advance(5)
        state.connect("Cool-Guy")
        clock.advance(2)
        state.disconnect("Cool-Guy")
        clock.advance(5)

        assert state.tick == 120

    def test_online_time_counts_connected_ticks(self, clock):
        """A player's online time is the ticks they spent connected."""
        state = GameState(clock=clock, auto_pause=False)
        player = state.connect("J.R.")
        clock.advance(3)
        state.disconnect("J.R.")
        clock.advance(3)

        assert state.online_time_ticks(player) == 180

    def test_negative_ups_and_zero_speed_are_refused(self, clock):
        """UPS below zero and a speed of zero are errors, as in Factorio."""
        state = GameState(clock=clock)

        with pytest.raises(ValueError, match="ups"):
            state.set_ups(-1)
        with pytest.raises(ValueError, match="speed"):
            state.set_speed(0)


class TestLists:
    """Admins, bans and surfaces."""

    def test_admin_list_is_case_insensitive(self, clock):
        """Admin names match regardless of case and keep the first spelling."""
        state = GameState(clock=clock)
        state.add_admin("Test_Admin")

        assert (state.is_admin("test_admin"), state.get_admins()) == (True, ["Test_Admin"])

    def test_ban_disconnects(self, clock):
        """Banning an online player takes them offline and lists them."""
        state = GameState(clock=clock)
        state.connect("grilled ham")
        state.ban("grilled ham", None)

        assert (state.get_online_players(), state.get_banned_players()) == ([], ["grilled ham"])

    def test_surfaces_are_found_by_either_name(self, clock):
        """A surface is found by internal or printed name in any case."""
        state = GameState(clock=clock)

        assert [state.find_surface(n).name for n in ("nauvis", "Gleba", "PLATFORM-1")] == [
            "nauvis",
            "gleba",
            "platform-1",
        ]
