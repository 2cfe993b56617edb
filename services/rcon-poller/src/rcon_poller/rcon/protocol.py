"""Source RCON framing as Factorio speaks it (shared/research/factorio-facts.md §4.1). Pure.

A packet is ``int32 LE size`` (bytes after the size field: ``10 + len(body)``), ``int32 LE id``,
``int32 LE type``, the body and two NUL bytes. Client to server: AUTH (3) and EXECCOMMAND (2);
server to client: AUTH_RESPONSE (2) and RESPONSE_VALUE (0). An AUTH_RESPONSE with id -1 refuses
the password.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final

AUTH: Final = 3
"""Client to server: log in with the password as body."""
EXECCOMMAND: Final = 2
"""Client to server: run the body as a console command."""
AUTH_RESPONSE: Final = 2
"""Server to client: the answer to AUTH."""
RESPONSE_VALUE: Final = 0
"""Server to client: the output of one command."""
AUTH_FAILED_ID: Final = -1
"""Request id of an AUTH_RESPONSE refusing the password."""
SIZE_FIELD_BYTES: Final = 4
"""Bytes of the size field."""
MIN_SIZE: Final = 10
"""Smallest size field value: id, type and the two NULs."""
MAX_ID: Final = 2**31 - 1
"""Largest request id (int32)."""

_HEAD = struct.Struct("<iii")
_ID_TYPE = struct.Struct("<ii")


class FramingError(Exception):
    """Bytes that are not a well-formed packet; the connection cannot continue."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True, slots=True)
class Packet:
    """One packet: request id, type number and body bytes."""

    request_id: int
    type: int
    body: bytes = b""


def encode(request_id: int, type_: int, body: bytes) -> bytes:
    """The exact wire bytes of one packet."""
    return _HEAD.pack(MIN_SIZE + len(body), request_id, type_) + body + b"\x00\x00"


def parse_size(head: bytes, *, max_size: int) -> int:
    """The size field of a packet from its first four bytes; checks it is plausible."""
    (size,) = struct.unpack("<i", head)
    if size < MIN_SIZE or size > max_size:
        raise FramingError(f"size field {size} is outside {MIN_SIZE}..{max_size}")
    return size


def parse_payload(payload: bytes) -> Packet:
    """A packet from the ``size`` bytes that follow its size field."""
    if payload[-2:] != b"\x00\x00":
        raise FramingError("packet does not end with two NUL bytes")
    request_id, type_ = _ID_TYPE.unpack_from(payload)
    return Packet(request_id, type_, payload[8:-2])


def next_request_id(previous: int) -> int:
    """The id after ``previous``: 1, 2, ... up to int32 max, then 1 again (never 0 or -1).

    Id 0 is avoided: one report says it asks Factorio for a log stream (facts §4.4); -1 is the
    refused-auth id.
    """
    return 1 if previous >= MAX_ID or previous < 1 else previous + 1
