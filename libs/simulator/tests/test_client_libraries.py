"""Clients nobody here wrote must log in and read the same replies as from real Factorio.

conqp's `rcon` sends an empty "fragment detection" packet after any reply of 4096 bytes or more
and waits for its echo, which Factorio never sends (facts §4.2): with this simulator, as with
Factorio, such a read hangs. The `rcon` checks below keep every reply small for that reason.
"""

import asyncio

import factorio_rcon
import pytest
from rcon.exceptions import WrongPassword
from rcon.source import Client

COMMANDS = ["/version", "/players", "/players online", "/seed", "/sc rcon.print(game.tick)"]


def _factorio_rcon_py(port, password, commands):
    client = factorio_rcon.RCONClient("127.0.0.1", port, password)
    try:
        return [client.send_command(command) for command in commands]
    finally:
        client.close()


def _conqp_rcon(port, password, commands):
    with Client("127.0.0.1", port, passwd=password, timeout=5) as client:
        return [client.run(command) for command in commands]


class TestFactorioRconPy:
    """mark9064/factorio-rcon-py (the library facts §6 recommends)."""

    async def test_logs_in_and_reads_replies(self, server, password):
        """Replies match the facts file's formats (the library strips the final newline)."""
        server.add_player("grilled ham")

        replies = await asyncio.to_thread(_factorio_rcon_py, server.rcon_port, password, COMMANDS)

        assert replies[:4] == [
            "2.0.77",
            "Players (1):\n  grilled ham (online)",
            "Online players (1):\n  grilled ham (online)",
            "3141592653",
        ]
        assert replies[4].isdigit()

    async def test_empty_reply_is_none(self, server, password):
        """Chat gets an empty body, which the library returns as None."""
        replies = await asyncio.to_thread(_factorio_rcon_py, server.rcon_port, password, ["hi"])

        assert replies == [None]

    async def test_large_reply(self, server, password):
        """A 100 KB reply is read whole with exact-length reads."""
        command = "/sc rcon.print(string.rep('x', 100000))"

        replies = await asyncio.to_thread(_factorio_rcon_py, server.rcon_port, password, [command])

        assert replies == ["x" * 100_000]

    async def test_wrong_password_is_refused(self, server):
        """The library raises on the id -1 AUTH_RESPONSE."""
        with pytest.raises(factorio_rcon.InvalidPassword):
            await asyncio.to_thread(_factorio_rcon_py, server.rcon_port, "wrong", [])


class TestConqpRcon:
    """conqp/rcon's Source client, kept to replies under 4096 bytes."""

    async def test_logs_in_and_reads_replies(self, server, password):
        """Replies are the raw bodies, trailing newline included."""
        server.add_player("J.R.")

        replies = await asyncio.to_thread(_conqp_rcon, server.rcon_port, password, COMMANDS[:4])

        assert replies == [
            "2.0.77\n",
            "Players (1):\n  J.R. (online)\n",
            "Online players (1):\n  J.R. (online)\n",
            "3141592653\n",
        ]

    async def test_wrong_password_is_refused(self, server):
        """The client raises WrongPassword on the id -1 AUTH_RESPONSE."""
        with pytest.raises(WrongPassword):
            await asyncio.to_thread(_conqp_rcon, server.rcon_port, "wrong", [])
