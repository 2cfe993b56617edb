"""Every allow-listed operation against the simulator, with good and hostile input."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from common.contracts import RconErrorCode
from common.contracts import rcon as c
from rcon_poller.operations import (
    OperationContext,
    OperationFailed,
    UpsSnapshot,
    error_for,
    perform,
)
from rcon_poller.rcon.link import RconLink
from simulator import SimulatedServer

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


@pytest.fixture(name="speeds")
def _speeds() -> list[float]:
    """Game speeds the operations reported to the poller."""
    return []


@pytest.fixture(name="ctx")
def _ctx(link: RconLink, speeds: list[float]) -> OperationContext:
    """An operation context over the real link to the simulator."""
    health = c.HealthResult(
        is_connected=True,
        connected_since=NOW,
        last_error=None,
        retry_in_s=None,
        last_sample_at=NOW,
        poller="test",
    )
    return OperationContext(
        runner=link,
        get_ups=lambda: UpsSnapshot(59.5, 60.0, is_paused=False, sampled_at=NOW),
        get_health=lambda: health,
        on_game_speed=speeds.append,
        save_timeout_s=5,
    )


async def run(ctx: OperationContext, request: c.AnyRconRequest) -> object:
    """Perform; return the result, or the error result on failure."""
    try:
        return await perform(request, ctx)
    except Exception as exc:
        error = error_for(exc)
        if error is None:
            raise
        return error


def log_of(sim: SimulatedServer) -> str:
    """The simulator's console log so far."""
    return sim.settings.log_path.read_text()


class TestQueries:
    async def test_status(self, ctx: OperationContext):
        """Status reads players, game time, evolution and version, plus the poller's UPS."""
        result = await run(ctx, c.StatusRequest())

        assert isinstance(result, c.StatusResult)
        assert result.players_online == ("Cool-Guy", "grilled ham")
        assert result.game_time_s is not None
        assert result.evolution["Nauvis"] == pytest.approx(0.4213)
        assert result.version == "2.0.77"
        assert (result.ups, result.ups_target, result.is_paused) == (59.5, 60.0, False)

    async def test_players_version_seed_admins(self, ctx: OperationContext, sim: SimulatedServer):
        """players, version, seed and admins return the game's values."""
        sim.state.add_admin("Cool-Guy")

        assert (await run(ctx, c.PlayersRequest())).players == ("Cool-Guy", "grilled ham")  # type: ignore[attr-defined]
        assert (await run(ctx, c.VersionRequest())).version == "2.0.77"  # type: ignore[attr-defined]
        assert (await run(ctx, c.SeedRequest())).seed == 3_141_592_653  # type: ignore[attr-defined]
        admins = await run(ctx, c.AdminsRequest())
        assert c.AdminsResult(admins=("Cool-Guy",), online=("Cool-Guy",)) == admins

    async def test_evolution_all_one_and_unknown(self, ctx: OperationContext):
        """Evolution lists every surface, one surface, or says the surface does not exist."""
        every = await run(ctx, c.EvolutionRequest())
        one = await run(ctx, c.EvolutionRequest(surface="gleba"))
        unknown = await run(ctx, c.EvolutionRequest(surface="Mars"))

        assert isinstance(every, c.EvolutionResult)
        assert {"Nauvis", "Vulcanus", "Gleba", "platform-1"} == set(every.surfaces)
        assert c.EvolutionResult(surfaces={"Gleba": 0.1352}) == one
        assert isinstance(unknown, c.RconError)
        assert unknown.code == RconErrorCode.UNKNOWN_SURFACE

    async def test_health_sends_nothing(self, ctx: OperationContext, sim: SimulatedServer):
        """Health answers from the poller's state without a console command."""
        assert sim.rcon is not None
        before = sim.rcon.commands_received

        result = await run(ctx, c.HealthRequest())

        assert isinstance(result, c.HealthResult)
        assert before == sim.rcon.commands_received


class TestModeration:
    async def test_kick_with_reason(self, ctx: OperationContext, sim: SimulatedServer):
        """Kick removes an online player and the reason reaches the log verbatim."""
        reason = 'griefing "the" base ]] again /c no'

        result = await run(ctx, c.KickRequest(player="grilled ham", reason=reason))

        assert c.ModerationResult(op="kick", player="grilled ham") == result
        assert "grilled ham" not in sim.get_online_players()
        assert f"[KICK] grilled ham was kicked by <server>. Reason: {reason}." in log_of(sim)

    async def test_kick_of_someone_offline_is_an_error(self, ctx: OperationContext):
        """Kick of a player who is not online is unknown_player, and nothing is sent."""
        result = await run(ctx, c.KickRequest(player="Nobody"))

        assert isinstance(result, c.RconError)
        assert result.code == RconErrorCode.UNKNOWN_PLAYER

    async def test_name_prefix_does_not_hit_another_player(
        self, ctx: OperationContext, sim: SimulatedServer
    ):
        """Kick 'grilled' does not kick 'grilled ham' (names are checked exactly)."""
        result = await run(ctx, c.KickRequest(player="grilled"))

        assert isinstance(result, c.RconError)
        assert "grilled ham" in sim.get_online_players()

    async def test_ban_and_unban(self, ctx: OperationContext, sim: SimulatedServer):
        """Ban puts a player on the ban list, unban lifts it, a second unban is not_banned."""
        banned = await run(ctx, c.BanRequest(player="Cool-Guy", reason="cheating"))
        lifted = await run(ctx, c.UnbanRequest(player="Cool-Guy"))
        again = await run(ctx, c.UnbanRequest(player="Cool-Guy"))

        assert c.ModerationResult(op="ban", player="Cool-Guy") == banned
        assert c.ModerationResult(op="unban", player="Cool-Guy") == lifted
        assert isinstance(again, c.RconError)
        assert again.code == RconErrorCode.NOT_BANNED
        assert "[BAN] Cool-Guy was banned by <server>. Reason: cheating." in log_of(sim)

    async def test_ban_of_an_unknown_name_with_a_space_is_refused(self, ctx: OperationContext):
        """A name with a space must be a known player (it is ambiguous as an argument)."""
        result = await run(ctx, c.BanRequest(player="grilled ham sandwich"))

        assert isinstance(result, c.RconError)
        assert result.code == RconErrorCode.UNKNOWN_PLAYER

    async def test_mute_and_unmute(self, ctx: OperationContext, sim: SimulatedServer):
        """Mute and unmute work for known players and refuse unknown ones."""
        muted = await run(ctx, c.MuteRequest(player="Cool-Guy"))
        assert "Cool-Guy" in sim.state.mutes
        unmuted = await run(ctx, c.UnmuteRequest(player="Cool-Guy"))
        unknown = await run(ctx, c.MuteRequest(player="Ghost"))

        assert c.ModerationResult(op="mute", player="Cool-Guy") == muted
        assert c.ModerationResult(op="unmute", player="Cool-Guy") == unmuted
        assert "Cool-Guy" not in sim.state.mutes
        assert isinstance(unknown, c.RconError)
        assert unknown.code == RconErrorCode.UNKNOWN_PLAYER

    async def test_promote_and_demote(self, ctx: OperationContext, sim: SimulatedServer):
        """Promote and demote change the admin list; Factorio's remarks come back as detail."""
        promoted = await run(ctx, c.PromoteRequest(player="grilled ham"))
        again = await run(ctx, c.PromoteRequest(player="grilled ham"))
        demoted = await run(ctx, c.DemoteRequest(player="grilled ham"))
        not_admin = await run(ctx, c.DemoteRequest(player="grilled ham"))

        assert c.ModerationResult(op="promote", player="grilled ham") == promoted
        assert (
            c.ModerationResult(
                op="promote", player="grilled ham", detail="grilled ham is already an admin."
            )
            == again
        )
        assert c.ModerationResult(op="demote", player="grilled ham") == demoted
        assert isinstance(not_admin, c.RconError)
        assert not_admin.code == RconErrorCode.NOT_ADMIN
        assert not sim.state.is_admin("grilled ham")


class TestMessages:
    async def test_whisper(self, ctx: OperationContext):
        """Whisper reaches an online player and refuses an offline one."""
        sent = await run(ctx, c.WhisperRequest(player="Cool-Guy", message='hi "you" ]]'))
        offline = await run(ctx, c.WhisperRequest(player="Ghost", message="hi"))

        assert c.WhisperResult(player="Cool-Guy") == sent
        assert isinstance(offline, c.RconError)

    async def test_chat_is_plain_text_without_lua(
        self, ctx: OperationContext, sim: SimulatedServer
    ):
        """Chat says the text as <server> and leaves achievements enabled."""
        text = '[Discord] bob: he said "]] /c game.speed=10" -- ok? Jörg 日本語'

        assert c.ChatResult() == await run(ctx, c.ChatRequest(text=text))
        assert f"[CHAT] <server>: {text}" in log_of(sim)
        assert sim.state.is_achievements_enabled

    @pytest.mark.parametrize(
        "message",
        [
            'quote " and backslash \\ and ]] and [[ and --[[',
            "/c game.speed = 10",
            "')) game.speed = 10 --",
            "Jörg 日本語 🚀",
            "x" * 1000,
        ],
    )
    async def test_broadcast_keeps_hostile_text_inside_the_string(
        self, ctx: OperationContext, sim: SimulatedServer, message: str
    ):
        """Hostile broadcast text is printed, never executed (game speed unchanged)."""
        result = await run(ctx, c.BroadcastRequest(message=message))

        assert c.BroadcastResult() == result
        assert sim.state.speed == 1.0


class TestGameChanges:
    async def test_save_with_a_name(self, ctx: OperationContext, sim: SimulatedServer):
        """Save writes a named save and waits for it to finish."""
        result = await run(ctx, c.SaveRequest(name="before-update"))

        assert c.SaveResult(name="before-update") == result
        assert "Saving to before-update (blocking)." in log_of(sim)
        assert "Saving finished" in log_of(sim)

    async def test_whitelist_actions(self, ctx: OperationContext, sim: SimulatedServer):
        """Whitelist add, list, remove, enable and disable change and read the whitelist."""
        await run(ctx, c.WhitelistRequest(action="add", player="J.R."))
        await run(ctx, c.WhitelistRequest(action="add", player="Jörg"))
        listed = await run(ctx, c.WhitelistRequest(action="list"))
        await run(ctx, c.WhitelistRequest(action="remove", player="J.R."))
        await run(ctx, c.WhitelistRequest(action="enable"))

        assert c.WhitelistResult(action="list", players=("J.R.", "Jörg")) == listed
        assert list(sim.state.whitelist) == ["Jörg"]
        assert sim.state.is_whitelist_enabled
        await run(ctx, c.WhitelistRequest(action="disable"))
        assert not sim.state.is_whitelist_enabled

    async def test_clock(self, ctx: OperationContext, sim: SimulatedServer):
        """Clock reads, freezes at noon or midnight, sets and releases the time of day."""
        read = await run(ctx, c.ClockRequest())
        day = await run(ctx, c.ClockRequest(action="day"))
        night = await run(ctx, c.ClockRequest(action="night", surface="gleba"))
        set_ = await run(ctx, c.ClockRequest(action="set", daytime=0.25))

        assert isinstance(read, c.ClockResult)
        assert not read.is_frozen
        assert (day.daytime, day.is_frozen) == (0.0, True)  # type: ignore[union-attr]
        assert (night.daytime, night.is_frozen, night.surface) == (0.5, True, "gleba")  # type: ignore[union-attr]
        assert (set_.daytime, set_.is_frozen) == (0.25, False)  # type: ignore[union-attr]
        assert sim.state.surfaces["gleba"].frozen_daytime == 0.5

    async def test_clock_of_an_unknown_surface(self, ctx: OperationContext):
        """Clock on a surface the game does not have is unknown_surface."""
        result = await run(ctx, c.ClockRequest(surface="mars"))

        assert isinstance(result, c.RconError)
        assert result.code == RconErrorCode.UNKNOWN_SURFACE

    async def test_speed(self, ctx: OperationContext, sim: SimulatedServer, speeds: list[float]):
        """Speed sets game.speed, returns what the game reports and tells the poller."""
        result = await run(ctx, c.SpeedRequest(speed=2.5))

        assert c.SpeedResult(speed=2.5) == result
        assert sim.state.speed == 2.5
        assert speeds == [2.5]

    async def test_research(self, ctx: OperationContext, sim: SimulatedServer):
        """Research reports counts and researches, reverts, completes and resets."""
        status = await run(ctx, c.ResearchRequest())
        one = await run(ctx, c.ResearchRequest(action="research", technology="technology-200"))
        undo = await run(ctx, c.ResearchRequest(action="undo", technology="automation"))
        every = await run(ctx, c.ResearchRequest(action="all"))
        none = await run(ctx, c.ResearchRequest(action="undo_all"))

        assert (status.researched, status.total) == (42, 231)  # type: ignore[union-attr]
        assert one.researched == 43  # type: ignore[union-attr]
        assert undo.researched == 42  # type: ignore[union-attr]
        assert not sim.state.technologies["automation"]
        assert every.researched == 231  # type: ignore[union-attr]
        assert none.researched == 0  # type: ignore[union-attr]

    @pytest.mark.parametrize(
        ("request_", "code"),
        [
            (c.ResearchRequest(force="aliens"), RconErrorCode.UNKNOWN_FORCE),
            (
                c.ResearchRequest(action="research", technology="warp-drive"),
                RconErrorCode.UNKNOWN_TECHNOLOGY,
            ),
        ],
    )
    async def test_research_checks_names_against_the_game(
        self, ctx: OperationContext, request_: c.ResearchRequest, code: RconErrorCode
    ):
        """Unknown forces and technologies are errors, not successes."""
        result = await run(ctx, request_)

        assert isinstance(result, c.RconError)
        assert code == result.code


class TestRaw:
    async def test_raw_command_reply(self, ctx: OperationContext):
        """A raw command returns Factorio's reply as is."""
        assert c.RawResult(reply="2.0.77\n") == await run(ctx, c.RawRequest(command="/version"))

    @pytest.mark.parametrize(
        ("command", "code"),
        [
            ("/sc rcon.print(nil .. 1)", RconErrorCode.LUA_ERROR),
            ("/teleport-everyone", RconErrorCode.COMMAND_FAILED),
            ("/kick", RconErrorCode.COMMAND_FAILED),
        ],
    )
    async def test_raw_errors_are_error_results(
        self, ctx: OperationContext, command: str, code: RconErrorCode
    ):
        """Lua errors, unknown commands and bad usage come back as errors."""
        await run(ctx, c.RawRequest(command="/sc rcon.print(1)"))  # past the achievements prompt

        result = await run(ctx, c.RawRequest(command=command))

        assert isinstance(result, c.RconError)
        assert code == result.code


class TestFailures:
    async def test_rcon_down_is_rcon_unavailable(self, ctx: OperationContext, sim: SimulatedServer):
        """With RCON refusing connections an operation fails with rcon_unavailable."""
        await sim.refuse_rcon()

        result = await run(ctx, c.PlayersRequest())

        assert isinstance(result, c.RconError)
        assert result.code == RconErrorCode.RCON_UNAVAILABLE

    async def test_stalled_server_is_a_timeout(self, ctx: OperationContext, sim: SimulatedServer):
        """A server that answers nothing makes the operation time out."""
        await run(ctx, c.VersionRequest())
        sim.stall_rcon()
        try:
            result = await run(ctx, c.VersionRequest())
        finally:
            sim.release_rcon()

        assert isinstance(result, c.RconError)
        assert result.code == RconErrorCode.TIMEOUT

    async def test_failed_operation_is_never_a_success(self):
        """OperationFailed maps to its own code."""
        error = error_for(OperationFailed(RconErrorCode.UNKNOWN_PLAYER, "x"))

        assert c.RconError(code=RconErrorCode.UNKNOWN_PLAYER, message="x") == error
