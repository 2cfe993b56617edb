from datetime import UTC, datetime
from pathlib import Path

import nats
import pytest

from common.contracts import GameEvent
from common.publishing import Outgoing, publish_confirmed
from common.topology import Topology
from isr_cli.watching import format_event
from isr_testing.processes import ServiceProcess
from isr_testing.waiting import wait_for

pytestmark = pytest.mark.nats


def _event(i: int) -> GameEvent:
    return GameEvent(
        id=f"w:f:{i}",
        server="w",
        type="chat",
        ts=datetime(2026, 11, 27, 12, 0, i),  # noqa: DTZ001
        observed_at=datetime.now(UTC),
        player="Jörg",
        message=f"hello {i}",
    )


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
