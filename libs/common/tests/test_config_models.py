"""The servers.yml models: strict types, defaults and the cross-field rules."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from common.config import (
    AlertsConfig,
    BridgeConfig,
    CommandCooldown,
    DiscordConfig,
    IsrConfig,
    LoadContext,
    MetricsConfig,
    PermissionsConfig,
    RconConfig,
    ServerConfig,
    StatsConfig,
)


def server(config_dir: Path, **fields: Any) -> ServerConfig:
    """Validate a log-only server entry (plus ``fields``) as the loader does."""
    data: dict[str, Any] = {"name": "alpha", "log_path": "a.log", "rcon": {"enabled": False}}
    data.update(fields)
    return ServerConfig.model_validate(data, context=LoadContext.create(config_dir, {}))


def error_types(exc: ValidationError) -> list[tuple[tuple[Any, ...], str]]:
    """(loc, type) of each error."""
    return [(tuple(error["loc"]), error["type"]) for error in exc.errors()]


class TestStrictTypes:
    def test_string_false_is_not_a_bool(self) -> None:
        """The string "false" is rejected where a boolean is expected."""
        with pytest.raises(ValidationError) as caught:
            MetricsConfig.model_validate({"ups": "false"})

        assert error_types(caught.value) == [(("ups",), "bool_type")]

    def test_string_ten_is_not_an_int(self) -> None:
        """The string "10" is rejected where an integer is expected."""
        with pytest.raises(ValidationError) as caught:
            AlertsConfig.model_validate({"samples_required": "10"})

        assert error_types(caught.value) == [(("samples_required",), "int_type")]

    def test_bool_is_not_a_number(self) -> None:
        """A YAML true is rejected where a number is expected, though bool is an int in Python."""
        with pytest.raises(ValidationError) as caught:
            MetricsConfig.model_validate({"interval_s": True})

        assert error_types(caught.value) == [(("interval_s",), "float_type")]

    def test_int_is_accepted_for_a_float(self) -> None:
        """A whole number is fine where a decimal is expected."""
        metrics = MetricsConfig.model_validate({"interval_s": 5})

        assert metrics.interval_s == 5.0

    def test_nan_is_rejected(self) -> None:
        """NaN is not a threshold."""
        with pytest.raises(ValidationError) as caught:
            AlertsConfig.model_validate({"ups_warning_threshold": math.nan})

        assert error_types(caught.value) == [(("ups_warning_threshold",), "finite_number")]

    def test_unknown_key(self) -> None:
        """An unknown key is an error."""
        with pytest.raises(ValidationError) as caught:
            MetricsConfig.model_validate({"intervall_s": 5})

        assert error_types(caught.value) == [(("intervall_s",), "extra_forbidden")]

    def test_models_are_frozen(self) -> None:
        """A loaded config cannot be changed in place."""
        metrics = MetricsConfig()

        with pytest.raises(ValidationError):
            metrics.interval_s = 1.0  # type: ignore[misc]


class TestDefaults:
    def test_documented_defaults(self, tmp_path: Path) -> None:
        """A bare server gets the defaults docs/configuration.md documents."""
        config = server(tmp_path)

        assert (
            config.description,
            config.log_start,
            config.rcon,
            config.channels,
            (
                config.metrics.interval_s,
                config.metrics.lua_metrics,
                config.metrics.ups,
                config.metrics.evolution,
            ),
            (config.stats.enabled, config.stats.interval_s),
            (
                config.alerts.enabled,
                config.alerts.samples_required,
                config.alerts.ups_warning_threshold,
                config.alerts.ups_recovery_threshold,
                config.alerts.cooldown_s,
                config.alerts.ups_ema_alpha,
                config.alerts.rcon_status_mode,
                config.alerts.rcon_status_interval_s,
            ),
            (config.permissions.query, config.permissions.admin, config.permissions.danger),
            tuple(
                (c.rate, c.per_s)
                for c in (config.cooldowns.query, config.cooldowns.admin, config.cooldowns.danger)
            ),
            (
                config.bridge.enabled,
                config.bridge.channel_id,
                config.bridge.max_length,
                config.bridge.rate,
                config.bridge.per_s,
            ),
            config.simulator.enabled,
        ) == (
            "",
            "end",
            None,
            {},
            (10.0, False, True, True),
            (True, 300.0),
            (True, 3, 55.0, 58.0, 300.0, 0.2, "transition", 300.0),
            (None, (), ()),
            ((5, 30.0), (3, 60.0), (1, 120.0)),
            (False, None, 256, 5, 10.0),
            False,
        )

    def test_rcon_defaults(self) -> None:
        """RCON defaults to 127.0.0.1:27015 with a 10 s timeout."""
        rcon = RconConfig.model_validate(
            {"password_env": "PW"}, context=LoadContext.create(Path(), {"PW": "secret-pw"})
        )

        assert (rcon.host, rcon.port, rcon.timeout_s) == ("127.0.0.1", 27015, 10.0)

    def test_discord_defaults(self) -> None:
        """No guild is served and presence is on unless configured."""
        discord = DiscordConfig()

        assert (discord.guild_ids, discord.presence) == ((), True)


class TestRules:
    @pytest.mark.parametrize(
        ("model", "field"),
        [
            (MetricsConfig, "interval_s"),
            (StatsConfig, "interval_s"),
            (AlertsConfig, "rcon_status_interval_s"),
            (BridgeConfig, "per_s"),
        ],
    )
    def test_zero_interval(self, model: type[BaseModel], field: str) -> None:
        """A zero interval is refused (it would make a hot loop)."""
        with pytest.raises(ValidationError) as caught:
            model.model_validate({field: 0})

        assert [((field,), "greater_than")] == error_types(caught.value)

    def test_recovery_below_warning(self) -> None:
        """A recovery threshold below the warning threshold is an impossible combination."""
        with pytest.raises(ValidationError) as caught:
            AlertsConfig.model_validate({"ups_warning_threshold": 50, "ups_recovery_threshold": 40})

        (error,) = caught.value.errors()
        assert (
            error["loc"],
            error["msg"],
        ) == (
            ("ups_recovery_threshold",),
            "must be >= ups_warning_threshold (50.0), got 40.0",
        )

    def test_recovery_equal_to_warning(self) -> None:
        """Equal thresholds are allowed (no hysteresis band)."""
        alerts = AlertsConfig.model_validate(
            {"ups_warning_threshold": 50, "ups_recovery_threshold": 50}
        )

        assert alerts.ups_recovery_threshold == 50.0

    def test_ema_alpha_range(self) -> None:
        """The EMA factor must be in (0, 1]."""
        with pytest.raises(ValidationError) as caught:
            AlertsConfig.model_validate({"ups_ema_alpha": 1.5})

        assert error_types(caught.value) == [(("ups_ema_alpha",), "less_than_equal")]

    def test_rcon_port_range(self) -> None:
        """An RCON port outside 1-65535 is refused."""
        with pytest.raises(ValidationError) as caught:
            RconConfig.model_validate({"enabled": False, "port": 70000})

        assert error_types(caught.value) == [(("port",), "less_than_equal")]

    def test_two_passwords(self, tmp_path: Path) -> None:
        """password_env and password_file together are refused, pointing at password_file."""
        (tmp_path / "pw").write_text("file-secret")

        with pytest.raises(ValidationError) as caught:
            RconConfig.model_validate(
                {"password_env": "PW", "password_file": "pw"},
                context=LoadContext.create(tmp_path, {"PW": "env-secret"}),
            )

        (error,) = caught.value.errors()
        assert (error["type"], error["ctx"]["at"]) == ("isr_rule", "password_file")

    def test_disabled_rcon_becomes_none(self, tmp_path: Path) -> None:
        """rcon.enabled: false leaves the server without RCON and needs no password."""
        config = server(tmp_path, rcon={"enabled": False, "password_env": "UNSET_VAR"})

        assert None is config.rcon

    def test_bridge_needs_a_channel(self) -> None:
        """An enabled bridge without a channel id is refused at channel_id."""
        with pytest.raises(ValidationError) as caught:
            BridgeConfig.model_validate({"enabled": True})

        (error,) = caught.value.errors()
        assert (error["type"], error["ctx"]["at"]) == ("isr_rule", "channel_id")

    def test_bridge_needs_rcon(self, tmp_path: Path) -> None:
        """A bridge on a log-only server is refused: chat goes in over RCON."""
        with pytest.raises(ValidationError) as caught:
            server(tmp_path, bridge={"enabled": True, "channel_id": 42})

        (error,) = caught.value.errors()
        assert (error["loc"], error["ctx"]["at"]) == (("bridge",), "enabled")

    def test_cooldown_needs_rate_and_window(self) -> None:
        """A cooldown bucket needs both rate and per_s."""
        with pytest.raises(ValidationError) as caught:
            CommandCooldown.model_validate({"rate": 2})

        assert error_types(caught.value) == [(("per_s",), "missing")]

    def test_channel_keys_and_ids(self, tmp_path: Path) -> None:
        """Channel keys are lower-case tokens and ids are positive integers."""
        with pytest.raises(ValidationError) as caught:
            server(tmp_path, channels={"Chat": 1, "alert": 0})

        assert error_types(caught.value) == [
            (("channels", "Chat", "[key]"), "string_pattern_mismatch"),
            (("channels", "alert"), "greater_than"),
        ]

    def test_tag_rules(self, tmp_path: Path) -> None:
        """Tags are 1-32 lower-case letters, digits, '_' or '-', not starting with '_' or '-'."""
        good = server(tmp_path)
        tags = ["a" * 32, "a" * 33, "x.y", "_x", "x-1_2"]

        results = []
        for tag in tags:
            try:
                IsrConfig.model_validate({"servers": {tag: good}})
            except ValidationError:
                results.append(False)
            else:
                results.append(True)

        assert results == [True, False, False, False, True]


class TestServerConfig:
    def test_relative_log_path_is_absolute(self, tmp_path: Path) -> None:
        """A relative log path starts at the config directory, with '..' folded."""
        config = server(tmp_path / "config", log_path="../logs/./a.log")

        assert tmp_path.absolute() / "logs" / "a.log" == config.log_path

    def test_empty_log_path(self, tmp_path: Path) -> None:
        """An empty log path is refused rather than meaning the config directory."""
        with pytest.raises(ValidationError) as caught:
            server(tmp_path, log_path="  ")

        assert error_types(caught.value) == [(("log_path",), "string_too_short")]

    def test_channel_for_falls_back_to_default(self, tmp_path: Path) -> None:
        """An event kind without a channel goes to default; without default, nowhere."""
        routed = server(tmp_path, channels={"default": 1, "chat": 2})
        unrouted = server(tmp_path, channels={"chat": 2})

        assert (
            routed.channel_for("chat"),
            routed.channel_for("join"),
            unrouted.channel_for("join"),
        ) == (2, 1, None)

    def test_permission_lists_become_tuples(self, tmp_path: Path) -> None:
        """Role lists are kept as tuples; query null means everyone."""
        config = server(tmp_path, permissions={"query": None, "admin": [5, 6]})

        assert PermissionsConfig(query=None, admin=(5, 6), danger=()) == config.permissions
