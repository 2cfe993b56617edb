import asyncio
import struct

import pytest

from simulator.rcon_protocol import (
    AUTH,
    AUTH_RESPONSE,
    EXECCOMMAND,
    RESPONSE_VALUE,
    Packet,
    RconProtocolError,
    decode_packet,
    encode_packet,
    read_packet,
)


class TestFraming:
    """Pure encode/decode of Source RCON frames."""

    @pytest.mark.parametrize(
        "packet",
        [
            Packet(1, AUTH, b"password"),
            Packet(1, AUTH_RESPONSE, b""),
            Packet(-1, AUTH_RESPONSE, b""),
            Packet(7, EXECCOMMAND, "/sc rcon.print('Jörg')".encode()),
            Packet(7, RESPONSE_VALUE, b"x" * 100_000),
            Packet(0, RESPONSE_VALUE, b""),
        ],
    )
    def test_round_trip(self, packet):
        """Every packet type survives encode then decode unchanged."""
        assert decode_packet(encode_packet(packet)) == packet

    def test_exact_bytes(self):
        """The frame is size (10 + body), id, type as int32 LE, the body, then two NULs."""
        assert encode_packet(Packet(5, EXECCOMMAND, b"/time")) == (
            struct.pack("<iii", 15, 5, 2) + b"/time\x00\x00"
        )

    def test_text_is_utf8(self):
        """Text bodies are UTF-8 both ways."""
        packet = Packet.of_text(3, EXECCOMMAND, "日本語")

        assert (packet.body, packet.text) == ("日本語".encode(), "日本語")

    @pytest.mark.parametrize(
        "frame",
        [
            b"\x00" * 5,
            struct.pack("<iii", 11, 1, 2) + b"ab\x00\x00",
            struct.pack("<iii", 12, 1, 2) + b"abXX",
        ],
    )
    def test_malformed_frames_raise(self, frame):
        """Short frames, a wrong size field or missing NULs raise RconProtocolError."""
        with pytest.raises(RconProtocolError):
            decode_packet(frame)

    async def test_read_packet_rejects_oversized_size_field(self):
        """A size field beyond the limit raises before the body is read."""
        reader = asyncio.StreamReader()
        reader.feed_data(struct.pack("<i", 5000))

        with pytest.raises(RconProtocolError, match="outside"):
            await read_packet(reader, max_payload_size=4106)

    async def test_read_packet_reads_split_input(self):
        """A packet arriving in pieces is read whole."""
        reader = asyncio.StreamReader()
        data = encode_packet(Packet(9, RESPONSE_VALUE, b"hello"))
        reader.feed_data(data[:3])
        reader.feed_data(data[3:])

        assert await read_packet(reader, max_payload_size=100) == Packet(
            9, RESPONSE_VALUE, b"hello"
        )
