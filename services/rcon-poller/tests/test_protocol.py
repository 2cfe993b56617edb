"""Source RCON framing and request ids."""

from __future__ import annotations

import pytest

from rcon_poller.rcon import protocol


class TestFraming:
    def test_encode_matches_the_wire_layout(self):
        """A packet is size, id, type (int32 LE), body and two NULs, size counting from id."""
        assert protocol.encode(7, protocol.EXECCOMMAND, b"/time") == (
            b"\x0f\x00\x00\x00\x07\x00\x00\x00\x02\x00\x00\x00/time\x00\x00"
        )

    def test_parse_payload_reads_what_encode_wrote(self):
        """Decoding the bytes after the size field gives back id, type and body."""
        frame = protocol.encode(3, protocol.RESPONSE_VALUE, "Jörg".encode())

        assert protocol.Packet(3, 0, "Jörg".encode()) == protocol.parse_payload(frame[4:])

    def test_implausible_size_is_a_framing_error(self):
        """A size field below 10 or above the limit cannot start a packet."""
        with pytest.raises(protocol.FramingError):
            protocol.parse_size(b"\x05\x00\x00\x00", max_size=100)
        with pytest.raises(protocol.FramingError):
            protocol.parse_size(b"\xff\x00\x00\x00", max_size=100)

    def test_missing_terminator_is_a_framing_error(self):
        """A payload that does not end in two NUL bytes is refused."""
        with pytest.raises(protocol.FramingError):
            protocol.parse_payload(b"\x01\x00\x00\x00\x00\x00\x00\x00ab")


class TestRequestIds:
    def test_ids_start_at_one_and_increase(self):
        """The first id is 1, never 0 (which one report says asks for a log stream)."""
        assert [protocol.next_request_id(n) for n in (0, 1, 2)] == [1, 2, 3]

    def test_ids_wrap_to_one_after_int32_max(self):
        """After the largest int32 the next id is 1, never 0 or negative."""
        assert protocol.next_request_id(protocol.MAX_ID) == 1
