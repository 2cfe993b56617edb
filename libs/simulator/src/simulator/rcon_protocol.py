"""Source RCON framing as Factorio speaks it (facts §4.1): pure encode/decode plus one reader.

A packet on the wire is `int32 LE size` (bytes after the size field, `10 + len(body)`), `int32 LE
id`, `int32 LE type`, the body, and two NUL bytes. Client → server types are AUTH (3) and
EXECCOMMAND (2); server → client types are AUTH_RESPONSE (2) and RESPONSE_VALUE (0). An
AUTH_RESPONSE with id -1 means the password was wrong.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    import asyncio

__all__ = [
    "AUTH",
    "AUTH_FAILED_ID",
    "AUTH_RESPONSE",
    "EXECCOMMAND",
    "HEADER_SIZE",
    "MIN_PAYLOAD_SIZE",
    "RESPONSE_VALUE",
    "Packet",
    "RconProtocolError",
    "decode_packet",
    "encode_packet",
    "read_packet",
]

#: Client → server: log in with the password as body.
AUTH: Final = 3
#: Client → server: run the body as a console command.
EXECCOMMAND: Final = 2
#: Server → client: answer to AUTH (same number as EXECCOMMAND, the direction tells them apart).
AUTH_RESPONSE: Final = 2
#: Server → client: the output of one command.
RESPONSE_VALUE: Final = 0
#: The id of an AUTH_RESPONSE that refuses the password.
AUTH_FAILED_ID: Final = -1
#: Bytes of the size field itself.
HEADER_SIZE: Final = 4
#: Smallest value of the size field: id + type + two NULs.
MIN_PAYLOAD_SIZE: Final = 10

_HEAD = struct.Struct("<iii")


class RconProtocolError(Exception):
    """Bytes that are not a well-formed RCON packet; the connection cannot continue."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class Packet:
    """One RCON packet: request id, type number and raw body bytes."""

    request_id: int
    type: int
    body: bytes = b""

    @property
    def text(self) -> str:
        """The body decoded as UTF-8 (Factorio's encoding in practice, facts §4.1)."""
        return self.body.decode("utf-8", errors="replace")

    @classmethod
    def of_text(cls, request_id: int, type_: int, text: str) -> Packet:
        """A packet whose body is `text` encoded as UTF-8."""
        return cls(request_id, type_, text.encode("utf-8"))


def encode_packet(packet: Packet) -> bytes:
    """The exact wire bytes of `packet`."""
    size = MIN_PAYLOAD_SIZE + len(packet.body)
    return _HEAD.pack(size, packet.request_id, packet.type) + packet.body + b"\x00\x00"


def decode_packet(frame: bytes) -> Packet:
    """Parse one complete frame (size field included); raises RconProtocolError on bad bytes."""
    if len(frame) < HEADER_SIZE + MIN_PAYLOAD_SIZE:
        raise RconProtocolError(f"frame of {len(frame)} bytes is shorter than the minimum 14")
    size, request_id, type_ = _HEAD.unpack_from(frame)
    if size != len(frame) - HEADER_SIZE:
        raise RconProtocolError(f"size field {size} does not match {len(frame) - HEADER_SIZE}")
    return _payload_to_packet(request_id, type_, frame[_HEAD.size :])


def _payload_to_packet(request_id: int, type_: int, rest: bytes) -> Packet:
    if rest[-2:] != b"\x00\x00":
        raise RconProtocolError("packet does not end with two NUL bytes")
    return Packet(request_id, type_, rest[:-2])


async def read_packet(reader: asyncio.StreamReader, *, max_payload_size: int) -> Packet:
    """Read exactly one packet; raises RconProtocolError, or IncompleteReadError at EOF."""
    (size,) = struct.unpack("<i", await reader.readexactly(HEADER_SIZE))
    if size < MIN_PAYLOAD_SIZE or size > max_payload_size:
        raise RconProtocolError(f"size field {size} is outside 10..{max_payload_size}")
    payload = await reader.readexactly(size)
    request_id, type_ = struct.unpack_from("<ii", payload)
    return _payload_to_packet(request_id, type_, payload[8:])
