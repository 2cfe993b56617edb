"""Request subjects carry the caller's identity as their last token."""

from __future__ import annotations

import pytest

from common.topology import Topology
from common.vocabulary import Caller


class TestRequestSubjects:
    def test_rcon_and_query_subjects_end_with_the_caller(self):
        """A request subject names the server or query, then the calling service."""
        topo = Topology("isr")

        assert (
            topo.rcon_subject("alpha", Caller.BOT),
            topo.rcon_filter("alpha"),
            topo.rcon_filter(),
            topo.query_subject("playtime", Caller.WEB),
            topo.query_filter(),
        ) == (
            "isr.rcon.alpha.bot",
            "isr.rcon.alpha.*",
            "isr.rcon.*.*",
            "isr.query.playtime.web",
            "isr.query.*.*",
        )

    @pytest.mark.parametrize("caller", ["", "*", ">", "bot.web", "a b"])
    def test_a_caller_that_is_not_one_token_is_refused(self, caller: str):
        """Wildcards, dots and blanks cannot stand in for a caller."""
        with pytest.raises(ValueError, match="caller"):
            Topology("isr").rcon_subject("alpha", caller)

    def test_request_parts_read_the_caller_back(self):
        """The server (or query) and caller come back from a subject of the right shape only."""
        topo = Topology("isr")

        assert [
            topo.request_parts("isr.rcon.alpha.web", "rcon"),
            topo.request_parts("isr.query.playtime.bot", "query"),
            topo.request_parts("isr.rcon.alpha", "rcon"),
            topo.request_parts("isr.rcon.alpha.bot.extra", "rcon"),
            topo.request_parts("isr.query.playtime.bot", "rcon"),
            topo.request_parts("other.rcon.alpha.bot", "rcon"),
        ] == [("alpha", "web"), ("playtime", "bot"), None, None, None, None]

    def test_every_caller_is_a_subject_token(self):
        """Each known caller can be used as a subject token."""
        topo = Topology("isr")

        assert [topo.rcon_subject("a", c).rsplit(".", 1)[-1] for c in Caller] == [
            c.value for c in Caller
        ]


def test_a_jetstream_delivery_is_told_from_a_request():
    """Replies to JetStream (``$JS.ACK...``) mark a push delivery; inboxes mark a request."""
    assert Topology.is_jetstream_delivery("$JS.ACK.ISR_EVENTS.watch.1.2.3.4.0")
    assert not Topology.is_jetstream_delivery("_INBOX.bot.abc")
    assert not Topology.is_jetstream_delivery(None)
