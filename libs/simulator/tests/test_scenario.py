import asyncio
from pathlib import Path

import pytest

from simulator import (
    Autosave,
    Ban,
    Chat,
    ConsoleLogWriter,
    Join,
    Kick,
    Leave,
    LogWorld,
    ManualClock,
    Scenario,
    ServerChat,
    Unban,
    Wait,
    player_names,
)


@pytest.fixture(name="clock")
def _clock():
    """A manual clock at 2026-11-27 14:03:10."""
    return ManualClock()


def _run_random(tmp_path: Path, name: str, seed: int, actions: int) -> str:
    clock = ManualClock()
    path = tmp_path / name
    with ConsoleLogWriter(path, clock=clock) as writer:
        scenario = Scenario.random(seed=seed)
        asyncio.run(
            scenario.run(LogWorld(writer), clock=clock, rate_lines_per_s=5, max_actions=actions)
        )
    return path.read_text(encoding="utf-8")


class TestScenario:
    """Random and scripted scenarios and their pacing."""

    async def test_scripted_actions_write_their_lines_at_the_rate(self, tmp_path: Path, clock):
        """A script plays in order, one action per 1/rate seconds, with `Wait` adding a pause."""
        path = tmp_path / "console.log"
        writer = ConsoleLogWriter(path, clock=clock)
        script = Scenario.scripted(
            [
                Join("Cool-Guy"),
                Chat("Cool-Guy", "hi"),
                Wait(10),
                ServerChat("welcome"),
                Kick("Cool-Guy"),
                Autosave(4),
            ]
        )

        applied = await script.run(LogWorld(writer), clock=clock, rate_lines_per_s=2)
        writer.close()

        assert applied == 5
        assert path.read_text(encoding="utf-8").splitlines() == [
            "2026-11-27 14:03:10 [JOIN] Cool-Guy joined the game",
            "2026-11-27 14:03:10 [CHAT] Cool-Guy: hi",
            "2026-11-27 14:03:21 [CHAT] <server>: welcome",
            "2026-11-27 14:03:21 [KICK] Cool-Guy was kicked by <server>. Reason: unspecified.",
            "  12.000 Info AppManager.cpp:287: Saving to _autosave4 (blocking).",
            "  12.017 Info AppManager.cpp:419: Saving finished",
        ]

    def test_same_seed_gives_the_same_log(self, tmp_path: Path):
        """Two runs with one seed and a manual clock produce byte-identical logs."""
        assert _run_random(tmp_path, "a.log", 7, 200) == _run_random(tmp_path, "b.log", 7, 200)

    def test_different_seeds_differ(self, tmp_path: Path):
        """Different seeds produce different logs."""
        assert _run_random(tmp_path, "a.log", 1, 50) != _run_random(tmp_path, "b.log", 2, 50)

    async def test_random_scenario_keeps_the_roster_consistent(self, clock):
        """Random actions never touch offline players nor let a banned player join."""
        online: set[str] = set()
        banned: set[str] = set()
        seen: list[object] = []

        class CheckingWorld:
            def get_online_players(self):
                return tuple(online)

            def get_banned_players(self):
                return tuple(banned)

            def apply(self, action):
                seen.append(action)
                match action:
                    case Join(name):
                        assert name not in online
                        assert name not in banned
                        online.add(name)
                    case Leave(name) | Kick(name):
                        assert name in online
                        online.discard(name)
                    case Ban(name):
                        assert name in online
                        online.discard(name)
                        banned.add(name)
                    case Unban(name):
                        assert name in banned
                        banned.discard(name)
                    case Chat(name, _):
                        assert name in online

        await Scenario.random(seed=3, players=4).run(
            CheckingWorld(), clock=clock, rate_lines_per_s=100, max_actions=2000
        )

        assert {type(a) for a in seen} >= {Join, Leave, Chat, Kick, Ban, Autosave}

    async def test_missing_leave_lines_can_be_simulated(self, tmp_path: Path, clock):
        """With missing_leave_probability=1 no `[LEAVE]` line is ever written."""
        path = tmp_path / "c.log"
        with ConsoleLogWriter(path, clock=clock) as writer:
            await Scenario.random(seed=5, missing_leave_probability=1.0).run(
                LogWorld(writer), clock=clock, rate_lines_per_s=50, max_actions=300
            )

        assert "[LEAVE]" not in path.read_text(encoding="utf-8")

    async def test_stop_event_ends_the_run(self, clock):
        """Setting the stop event ends `run` before the next action."""
        stop = asyncio.Event()
        applied: list[object] = []

        class World:
            def get_online_players(self):
                return ()

            def get_banned_players(self):
                return ()

            def apply(self, action):
                applied.append(action)
                stop.set()

        count = await Scenario.random(seed=1).run(World(), clock=clock, stop=stop)

        assert count == len(applied) == 1

    def test_player_names_start_with_the_tricky_ones(self):
        """The generated pool starts with names that break naive parsers, then numbers them."""
        assert player_names(12)[:5] + player_names(12)[-2:] == [
            "Cool-Guy",
            "J.R.",
            "grilled ham",
            "Jörg",
            "日本語",
            "Player-11",
            "Player-12",
        ]

    async def test_rate_must_be_positive(self, clock):
        """A zero rate is refused rather than spinning."""
        with pytest.raises(ValueError, match="rate_lines_per_s"):
            await Scenario.scripted([]).run(
                LogWorld.__new__(LogWorld), clock=clock, rate_lines_per_s=0
            )
