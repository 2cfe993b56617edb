from __future__ import annotations

from pathlib import Path

from bot.commands.dispatch import Invocation, Plan, Refusal, plan
from bot.ratelimit import SlidingWindowLog
from common.config import IsrConfig, config_from_document, parse_yaml
from common.contracts import rcon

GUILD = 10
ADMIN, DANGER, QUERY = 1, 2, 3


def _config(tmp_path: Path) -> IsrConfig:
    text = f"""
discord: {{guild_ids: [{GUILD}]}}
servers:
  alpha:
    log_path: a.log
    rcon: {{password_env: ISR_TEST_PW}}
    permissions: {{admin: [{ADMIN}], danger: [{DANGER}]}}
  beta:
    log_path: b.log
    rcon: {{password_env: ISR_TEST_PW, port: 27016}}
    permissions: {{query: [{QUERY}]}}
"""
    from common.config import LoadContext  # noqa: PLC0415

    context = LoadContext.create(tmp_path, {"ISR_TEST_PW": "secret-pw"})
    config, issues = config_from_document(parse_yaml(text, tmp_path / "servers.yml"), context)
    assert config is not None, issues
    return config


def _plan(config: IsrConfig, name: str, roles: tuple[int, ...] = (), *, now: float = 0.0,
          cooldowns: SlidingWindowLog | None = None, default: str | None = None,
          guild: int | None = GUILD, **args: object) -> Plan | Refusal:  # fmt: skip
    invocation = Invocation("factorio", name, args, 7, frozenset(roles), guild)
    return plan(
        invocation,
        config,
        default_server=default,
        cooldowns=cooldowns or SlidingWindowLog(),
        now=now,
    )


class TestPlan:
    def test_admin_command_needs_the_admin_role(self, tmp_path: Path):
        """Kick is refused without the admin role and planned as a KickRequest with it."""
        config = _config(tmp_path)

        denied = _plan(config, "kick", player="Bob")
        allowed = _plan(config, "kick", (ADMIN,), player="Bob")

        assert isinstance(denied, Refusal)
        assert "Permission denied" in denied.title
        assert isinstance(allowed, Plan)
        assert allowed.request == rcon.KickRequest(player="Bob")

    def test_raw_rcon_needs_danger(self, tmp_path: Path):
        """The raw rcon command is denied to admins and allowed with the danger role."""
        config = _config(tmp_path)

        assert isinstance(_plan(config, "rcon", (ADMIN,), command="/time"), Refusal)
        assert isinstance(_plan(config, "rcon", (DANGER,), command="/time"), Plan)

    def test_queries_follow_the_server_list(self, tmp_path: Path):
        """Queries are open on alpha (null) and restricted to a role on beta."""
        config = _config(tmp_path)

        assert isinstance(_plan(config, "status"), Plan)
        assert isinstance(_plan(config, "status", server="beta"), Refusal)
        assert isinstance(_plan(config, "status", (QUERY,), server="beta"), Plan)

    def test_dm_and_foreign_guild_are_refused(self, tmp_path: Path):
        """Commands in a DM or a guild not on the allow-list are refused."""
        config = _config(tmp_path)

        assert "DMs" in _plan(config, "servers", guild=None).message  # type: ignore[union-attr]
        assert isinstance(_plan(config, "servers", guild=99), Refusal)

    def test_server_comes_from_option_then_default_then_first(self, tmp_path: Path):
        """The server option wins over the connect default, which wins over the first server."""
        config = _config(tmp_path)

        assert _plan(config, "servers").server == "alpha"  # type: ignore[union-attr]
        assert _plan(config, "servers", default="beta").server == "beta"  # type: ignore[union-attr]
        assert _plan(config, "servers", default="beta", server="ALPHA").server == "alpha"  # type: ignore[union-attr]

    def test_cooldown_per_user_server_and_class(self, tmp_path: Path):
        """The second danger command within 120 s is refused with the seconds left."""
        config = _config(tmp_path)
        cooldowns = SlidingWindowLog()

        first = _plan(config, "ban", (DANGER,), cooldowns=cooldowns, player="Eve")
        second = _plan(config, "unban", (DANGER,), cooldowns=cooldowns, now=20.0, player="Eve")

        assert isinstance(first, Plan)
        assert isinstance(second, Refusal)
        assert "100 seconds" in second.message

    def test_bad_arguments_do_not_use_the_cooldown(self, tmp_path: Path):
        """A refused argument is reported and leaves the cooldown untouched."""
        config = _config(tmp_path)
        cooldowns = SlidingWindowLog()

        bad = _plan(config, "ban", (DANGER,), cooldowns=cooldowns, player="a\nb")
        good = _plan(config, "ban", (DANGER,), cooldowns=cooldowns, player="Eve")

        assert isinstance(bad, Refusal)
        assert bad.title.endswith("Bad argument")
        assert isinstance(good, Plan)

    def test_original_argument_forms_are_kept(self, tmp_path: Path):
        """clock, research and evolution map the original's argument forms to requests."""
        config = _config(tmp_path)

        def request(name: str, **args: object) -> object:
            result = _plan(config, name, (ADMIN,), **args)
            assert isinstance(result, Plan)
            return result.request

        assert request("clock", value="eternal-night") == rcon.ClockRequest(action="night")
        assert request("clock", value="0.25") == rcon.ClockRequest(action="set", daytime=0.25)
        assert request("research", action="undo") == rcon.ResearchRequest(action="undo_all")
        assert request("research", action="automation") == rcon.ResearchRequest(
            action="research", technology="automation"
        )
        assert request("evolution", target="All") == rcon.EvolutionRequest()
        assert request("evolution", target="nauvis") == rcon.EvolutionRequest(surface="nauvis")
