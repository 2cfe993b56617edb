import json
from datetime import UTC, datetime
from pathlib import Path

import nats
import pytest

from common.contracts import GameEvent
from common.publishing import Outgoing, publish_confirmed
from common.topology import Topology
from isr_cli.terminal import printable, printable_json
from isr_cli.watching import format_event
from isr_testing.processes import ServiceProcess
from isr_testing.waiting import wait_for

pytestmark = pytest.mark.nats


def _event(i: int, *, player: str = "Jörg", message: str | None = None) -> GameEvent:
    return GameEvent(
        id=f"w:f:{i}",
        server="w",
        type="chat",
        ts=datetime(2026, 11, 27, 12, 0, i),  # noqa: DTZ001
        observed_at=datetime.now(UTC),
        player=player,
        message=f"hello {i}" if message is None else message,
        raw=f"[CHAT] {player}: {message}",
    )


HOSTILE_PLAYER = "ev\x1b]0;pwned\x07il"
HOSTILE_MESSAGE = "\x1b[2J\x1b[31mred\x00nul \u202eevil\u202c \u009b31m c1 \u200dzwj\r\nfake"
CONTROLS = ("\x1b", "\x00", "\x07", "\u202e", "\u202c", "\u009b", "\u200d", "\r")


async def _watch_output(
    tmp_path: Path, url: str, prefix: str, event: GameEvent, args: list[str]
) -> bytes:
    """What `isr watch` printed (as bytes) after ``event`` crossed the stream."""
    nc = await nats.connect(url)
    js = nc.jetstream()
    topo = Topology(prefix)
    await topo.ensure(js)
    watch = ServiceProcess(
        "watch", ["watch", *args], {"ISR_NATS_URL": url, "ISR_PREFIX": prefix}, tmp_path
    )
    watch.start()
    try:
        await wait_for(lambda: "watching" in watch.output(), timeout_s=20, what="watch up")
        await publish_confirmed(
            js, [Outgoing(topo.event_subject("w", "chat"), event.to_json(), event.id)]
        )
        await wait_for(lambda: "fake" in watch.output(), timeout_s=10, what="the event")
    finally:
        watch.terminate()
        await nc.close()
    return watch.log_path.read_bytes()


class TestIsrWatch:
    def test_format_is_one_readable_line(self):
        """An event renders as time, server, type and who said what."""
        assert (
            format_event(_event(5), colour=False) == "12:00:05 w            chat     Jörg: hello 5"
        )

    async def test_prints_events_as_they_cross_the_stream(
        self, tmp_path: Path, nats_server, nats_prefix: str
    ):
        """`isr watch` shows an event published after it started, within moments."""
        env = {"ISR_NATS_URL": nats_server.url, "ISR_PREFIX": nats_prefix}
        nc = await nats.connect(nats_server.url)
        js = nc.jetstream()
        topo = Topology(nats_prefix)
        await topo.ensure(js)
        watch = ServiceProcess("watch", ["watch"], env, tmp_path).start()
        try:
            await wait_for(lambda: "watching" in watch.output(), timeout_s=20, what="watch up")
            event = _event(1)
            await publish_confirmed(
                js, [Outgoing(topo.event_subject("w", "chat"), event.to_json(), event.id)]
            )

            await wait_for(lambda: "Jörg: hello 1" in watch.output(), timeout_s=10, what="event")
        finally:
            watch.terminate()
            await nc.close()

    async def test_control_characters_from_chat_are_shown_not_obeyed(
        self, tmp_path: Path, nats_server, nats_prefix: str
    ):
        """ANSI escapes, NUL, C1 controls and bidi overrides in chat print as visible escapes."""
        event = _event(2, player=HOSTILE_PLAYER, message=HOSTILE_MESSAGE)

        output = await _watch_output(tmp_path, nats_server.url, nats_prefix, event, [])

        text = output.decode()
        assert [c for c in CONTROLS if c in text] == []
        assert "ev\\x1b]0;pwned\\x07il: \\x1b[2J\\x1b[31mred\\x00nul \\u202eevil" in text
        assert "\\x9b31m c1 \\u200dzwj\\r\\nfake" in text

    async def test_json_output_escapes_them_and_stays_the_same_json(
        self, tmp_path: Path, nats_server, nats_prefix: str
    ):
        """With --json the controls are escaped and the line decodes to the event's own text."""
        event = _event(3, player=HOSTILE_PLAYER, message=HOSTILE_MESSAGE)

        output = await _watch_output(tmp_path, nats_server.url, nats_prefix, event, ["--json"])

        text = output.decode()
        line = next(row for row in text.splitlines() if row.startswith("{"))
        assert [c for c in CONTROLS if c in text] == []
        assert json.loads(line)["message"] == HOSTILE_MESSAGE
        assert json.loads(line)["player"] == HOSTILE_PLAYER


class TestPrintable:
    def test_every_control_is_visible(self):
        """C0, DEL, C1, bidi and zero-width characters become escapes; other text is unchanged."""
        assert printable("a\x00b\x1b[0m\tc\x7f\x85\u202e\u2066\ufeffé 中") == (
            "a\\x00b\\x1b[0m\\tc\\x7f\\x85\\u202e\\u2066\\ufeffé 中"
        )

    def test_json_escaping_keeps_the_value(self):
        """printable_json escapes what JSON leaves raw; the document decodes to the same value."""
        document = json.dumps({"m": "x\x7f\x9b\u202e\u200by"}, ensure_ascii=False)

        escaped = printable_json(document)

        assert "\x9b" not in escaped
        assert "\u202e" not in escaped
        assert json.loads(escaped) == {"m": "x\x7f\x9b\u202e\u200by"}
