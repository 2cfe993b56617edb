from __future__ import annotations

from bot.safety import ADDRESS_HIDDEN, ZWSP, escape_markdown, hide_addresses, safe_text, truncate


class TestSafeText:
    def test_mass_mentions_are_broken(self):
        """@everyone and @here (any case) get a zero-width space and cannot ping."""
        assert safe_text("hi @everyone and @HERE") == f"hi @{ZWSP}everyone and @{ZWSP}HERE"

    def test_user_and_role_mentions_are_escaped(self):
        """<@id>, <@!id>, <@&id> and <#id> are escaped so Discord shows them as text."""
        assert safe_text("<@1> <@!2> <@&3> <#4>") == r"\<@1\> \<@!2\> \<@&3\> \<\#4\>"

    def test_markdown_is_escaped(self):
        """Bold, underline, code, spoilers, quotes and masked links show as typed."""
        assert escape_markdown("**b** __u__ `c` ||s|| > q [l](u)") == (
            r"\*\*b\*\* \_\_u\_\_ \`c\` \|\|s\|\| \> q \[l\]\(u\)"
        )

    def test_long_text_is_cut_before_escaping(self):
        """A 2,100-character line is cut to the limit with an ellipsis, one line."""
        result = safe_text("a\nb" + "x" * 2100, limit=100)

        assert result.endswith("…")
        assert "\n" not in result
        assert len(result) == 100

    def test_truncate_keeps_short_text(self):
        """Text within the limit is unchanged."""
        assert truncate("abc", 3) == "abc"


class TestSpoofingAndAddresses:
    def test_safe_text_strips_bidi_overrides_and_zero_width_characters(self):
        """Player text loses U+202E, U+202C, U+200D (between letters) and U+FEFF."""
        assert safe_text("\ufeffad\u200dmin \u202egnp\u202c") == "admin gnp"

    def test_addresses_and_ports_are_hidden(self):
        """IPv4, IPv6, host:port, Factorio's IP ADDR wrapper and "port N" are replaced."""
        text = hide_addresses(
            "at IP ADDR:({127.0.0.1:57359}) 10.0.0.7:34197 [::1]:34197 fe80::1 "
            "example.com:27015 port 4000"
        )

        assert text == f"at {' '.join([ADDRESS_HIDDEN] * 6)}"

    def test_versions_times_and_source_files_are_not_addresses(self):
        """2.0.77, 12:30:45, Main.cpp:839 and level::on_nth_tick stay as they are."""
        text = "Factorio 2.0.77 at 12:30:45 Main.cpp:839 level::on_nth_tick(1) ratio 1:2"
        assert hide_addresses(text) == text


def test_rcon_errors_and_alerts_hide_addresses():
    """A poller's socket error and an alert summary lose their IP address before Discord."""
    from datetime import UTC, datetime  # noqa: PLC0415

    from bot.commands.replies import rcon_error  # noqa: PLC0415
    from bot.render import render_alert  # noqa: PLC0415
    from common.contracts import Alert, AlertType, Severity, rcon  # noqa: PLC0415

    error = rcon.RconError(
        code=rcon.RconErrorCode.RCON_UNAVAILABLE,
        message="RCON connection lost: Connect call failed ('10.0.0.5', 27015)",
    )
    alert = Alert(
        id="a:1", server="a", type=AlertType.RCON_DOWN, severity=Severity.CRITICAL,
        raised_at=datetime.now(UTC), summary="lost 10.0.0.5:27015",
    )  # fmt: skip

    reply = rcon_error(error, server_name="A")
    item = render_alert(alert, server_name="A")

    assert reply.embed is not None
    assert "10.0.0.5" not in reply.embed.description
    assert item.embed is not None
    assert "10.0.0.5" not in item.embed.description
