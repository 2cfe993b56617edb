from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from common.contracts import (
    QUERIES,
    LeaderboardReply,
    MetricHistoryRequest,
    PlaytimeRequest,
    QueryError,
    QueryErrorCode,
    decode_query_reply,
)
from common.errors import InvalidMessage

T = datetime(2026, 11, 27, tzinfo=UTC)


class TestQueryContracts:
    def test_every_request_and_reply_is_frozen_and_versioned(self):
        """Each query's models carry "v": 1 and cannot be changed after construction."""
        for request_type, reply_type in QUERIES.values():
            for model in (request_type, reply_type):
                assert model.model_fields["v"].default == 1
                assert model.model_config.get("frozen") is True

    def test_range_must_be_ordered(self):
        """A chart request whose start is not before its end is rejected at decoding."""
        with pytest.raises(ValidationError, match="must be before end"):
            MetricHistoryRequest(server="a", start=T, end=T)

    def test_naive_times_are_refused(self):
        """Times without a zone are ambiguous, so requests refuse them."""
        with pytest.raises(ValidationError, match="timezone"):
            PlaytimeRequest(player="bob", start=datetime(2026, 1, 1))  # noqa: DTZ001

    def test_decode_reply_returns_the_reply_or_the_error(self):
        """A client decodes either the reply model or the QueryError sent instead."""
        ok = LeaderboardReply(server="a", entries=()).to_json()
        err = QueryError(code=QueryErrorCode.BAD_REQUEST, message="limit: too big").to_json()

        assert decode_query_reply(ok, LeaderboardReply) == LeaderboardReply(server="a", entries=())
        assert decode_query_reply(err, LeaderboardReply) == QueryError(
            code=QueryErrorCode.BAD_REQUEST, message="limit: too big"
        )

    def test_decode_reply_rejects_what_is_neither(self):
        """An answer that fits neither model is a contract mismatch."""
        with pytest.raises(InvalidMessage):
            decode_query_reply(b'{"status": "ok"}', LeaderboardReply)
