"""The allow-listed RCON operations: what the contract accepts and refuses."""

from __future__ import annotations

import pytest

from common.contracts import RconErrorCode, RconReply, decode_rcon_request, encode_rcon_request
from common.contracts import rcon as c
from common.contracts.audit import AuditResult, result_of
from common.errors import InvalidMessage

HOSTILE_NAMES = [
    "bob\nkick alice",
    "bob\r",
    'bob"',
    "bob]]",
    "/c game.print(1)",
    "bob; /ban alice",
    "a" * 61,
    "",
    " bob",
    "bob  smith",
    "bob\u200b",
    "x" * 10_000,
]


class TestRequests:
    def test_every_request_round_trips_strictly(self):
        """Each operation's request encodes and decodes back to an equal model, strictly."""
        requests = [
            c.StatusRequest(),
            c.PlayersRequest(requested_by="discord:1", request_id="r1"),
            c.VersionRequest(),
            c.SeedRequest(),
            c.EvolutionRequest(surface="Nauvis"),
            c.AdminsRequest(),
            c.HealthRequest(),
            c.KickRequest(player="grilled ham", reason="spam, again"),
            c.BanRequest(player="Jörg"),
            c.UnbanRequest(player="J.R."),
            c.MuteRequest(player="日本語"),
            c.UnmuteRequest(player="a"),
            c.PromoteRequest(player="Cool-Guy"),
            c.DemoteRequest(player="Cool-Guy"),
            c.SaveRequest(name="before-update"),
            c.BroadcastRequest(message='Restart in 5 "minutes" ]] \\o/'),
            c.WhisperRequest(player="a", message="hello there"),
            c.WhitelistRequest(action="add", player="a"),
            c.ClockRequest(action="set", daytime=0.25),
            c.SpeedRequest(speed=1.5),
            c.ResearchRequest(action="research", technology="automation-2"),
            c.ChatRequest(text="[Discord] bob: hi"),
            c.RawRequest(command="/sc rcon.print(game.tick)"),
        ]

        decoded = [decode_rcon_request(encode_rcon_request(r), strict=True) for r in requests]

        assert requests == decoded
        assert len({r.op for r in requests}) == 23

    @pytest.mark.parametrize("name", HOSTILE_NAMES)
    def test_hostile_player_names_are_refused(self, name: str):
        """Newlines, quotes, brackets, command prefixes, odd spacing and overlong names fail."""
        payload = f'{{"op": "kick", "player": {_json(name)}}}'

        with pytest.raises(InvalidMessage, match="player"):
            decode_rcon_request(payload)

    @pytest.mark.parametrize(
        ("op", "field", "value"),
        [
            ("kick", "reason", "spam\n/ban alice"),
            ("kick", "reason", "/c game.print(1)"),
            ("kick", "reason", "x" * 10_000),
            ("whisper", "message", "hi\u2028there"),
            ("whisper", "message", "  /sc rcon.print(1)"),
            ("chat", "text", "/c game.speed = 10"),
            ("chat", "text", "line one\nline two"),
            ("chat", "text", "x" * 10_000),
            ("chat", "text", "   "),
            ("broadcast", "message", "a\x00b"),
            ("broadcast", "message", "x" * 10_000),
        ],
    )
    def test_hostile_text_is_refused(self, op: str, field: str, value: str):
        """Text with control characters, a command prefix, or 10 KB is refused by field."""
        extra = ', "player": "a"' if op in ("kick", "whisper") else ""
        payload = f'{{"op": "{op}", "{field}": {_json(value)}{extra}}}'

        with pytest.raises(InvalidMessage, match=field):
            decode_rcon_request(payload)

    def test_broadcast_accepts_quotes_brackets_and_slashes(self):
        """Broadcast text goes to Lua as an escaped literal, so quotes, ]] and /c are fine."""
        request = c.BroadcastRequest(message='/c "]] --[[ \\ end')

        assert request.message == '/c "]] --[[ \\ end'

    @pytest.mark.parametrize(
        ("payload", "field"),
        [
            ('{"op": "evolution", "surface": "nauvis\\"]] os.exit()"}', "surface"),
            ('{"op": "research", "force": "player\\n", "action": "status"}', "force"),
            ('{"op": "research", "action": "research", "technology": "a\\" .. x"}', "technology"),
            ('{"op": "save", "name": "../../etc/passwd"}', "name"),
            ('{"op": "clock", "surface": "nauvis]]"}', "surface"),
        ],
    )
    def test_game_names_have_a_strict_charset(self, payload: str, field: str):
        """Surface, force, technology and save names outside their charset are refused."""
        with pytest.raises(InvalidMessage, match=field):
            decode_rcon_request(payload)

    @pytest.mark.parametrize(
        "payload",
        [
            '{"op": "whitelist", "action": "add"}',
            '{"op": "whitelist", "action": "list", "player": "a"}',
            '{"op": "clock", "action": "set"}',
            '{"op": "clock", "action": "day", "daytime": 0.3}',
            '{"op": "clock", "action": "set", "daytime": 1.5}',
            '{"op": "research", "action": "undo"}',
            '{"op": "research", "action": "all", "technology": "automation"}',
            '{"op": "speed", "speed": 0}',
            '{"op": "speed", "speed": 11}',
            '{"op": "raw", "command": "   "}',
            '{"op": "format_c_drive"}',
            '{"player": "a"}',
        ],
    )
    def test_impossible_combinations_are_refused(self, payload: str):
        """Missing or extra parameters for an action, ranges and unknown ops are refused."""
        with pytest.raises(InvalidMessage):
            decode_rcon_request(payload)

    def test_raw_commands_are_limited_to_what_factorio_accepts(self):
        """A raw command over 4000 bytes is refused; a multi-line Lua command is allowed."""
        with pytest.raises(InvalidMessage, match="4000"):
            decode_rcon_request(_raw("/sc " + "x" * 4000))
        assert decode_rcon_request(_raw("/sc local a = 1\nrcon.print(a)")).op == "raw"


class TestReply:
    def test_reply_has_a_result_or_an_error(self):
        """Ok with a result, or not ok with an error; anything else is a contract error."""
        RconReply(server="s", op="version", ok=True, result=c.VersionResult(version="2.0.77"))
        RconReply(
            server="s",
            op="kick",
            ok=False,
            error=c.RconError(code=RconErrorCode.UNKNOWN_PLAYER, message="x"),
        )
        with pytest.raises(ValueError, match="result when ok"):
            RconReply(server="s", op="version", ok=True)

    def test_reply_round_trips_with_its_result_type(self):
        """The result is decoded back to its own model by its op."""
        reply = RconReply(
            server="s",
            op="research",
            ok=True,
            result=c.ResearchResult(action="status", force="player", researched=42, total=231),
        )

        decoded = RconReply.from_json(reply.to_json(), strict=True)

        assert isinstance(decoded.result, c.ResearchResult)
        assert reply == decoded


def _json(value: str) -> str:
    import json  # noqa: PLC0415

    return json.dumps(value)


def _raw(command: str) -> str:
    return f'{{"op": "raw", "command": {_json(command)}}}'


class TestAudit:
    @pytest.mark.parametrize(
        ("payload", "expected"),
        [
            ('{"op": "status"}', False),
            ('{"op": "players"}', False),
            ('{"op": "health"}', False),
            ('{"op": "whitelist", "action": "list"}', False),
            ('{"op": "clock"}', False),
            ('{"op": "research"}', False),
            ('{"op": "chat", "text": "hi"}', False),
            ('{"op": "whitelist", "action": "add", "player": "bob"}', True),
            ('{"op": "clock", "action": "day"}', True),
            ('{"op": "research", "action": "all"}', True),
            ('{"op": "kick", "player": "bob"}', True),
            ('{"op": "save"}', True),
            ('{"op": "raw", "command": "/time"}', True),
        ],
    )
    def test_operations_that_change_the_game_are_audited(self, payload: str, expected: bool):
        """Reads and bridged chat are not audited by the poller; everything else is."""
        assert expected == c.is_audited(decode_rcon_request(payload, strict=True))

    def test_reply_outcomes_map_to_audit_results(self):
        """ok, failed (could not be carried out) and rejected (refused) come from the reply."""
        ok = RconReply(server="a", op="save", ok=True, result=c.SaveResult(name=None))

        def error(code: RconErrorCode) -> RconReply:
            return RconReply(
                server="a", op="kick", ok=False, error=c.RconError(code=code, message="x")
            )

        assert [
            result_of(ok),
            result_of(error(RconErrorCode.TIMEOUT)),
            result_of(error(RconErrorCode.UNKNOWN_PLAYER)),
            result_of(error(RconErrorCode.UNKNOWN_CALLER)),
        ] == [AuditResult.OK, AuditResult.FAILED, AuditResult.REJECTED, AuditResult.REJECTED]

    def test_a_payload_cannot_carry_the_service_identity(self):
        """A ``service`` key is no request field: ignored in production, refused when strict."""
        payload = '{"op": "kick", "player": "bob", "service": "bot", "caller": "bot"}'

        request = decode_rcon_request(payload)

        assert not hasattr(request, "service")
        assert not hasattr(request, "caller")
        with pytest.raises(InvalidMessage, match="service"):
            decode_rcon_request(payload, strict=True)
