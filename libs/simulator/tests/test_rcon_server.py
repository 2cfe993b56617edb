import asyncio
import struct

import pytest

from simulator.rcon_protocol import AUTH, AUTH_RESPONSE, EXECCOMMAND, RESPONSE_VALUE

NO_REPLY_WAIT_S = 0.3


class TestAuthentication:
    """Logging in over a real socket."""

    async def test_first_packet_is_the_auth_response(self, connect, password):
        """The right password gets an AUTH_RESPONSE echoing the id, with no empty pre-packet."""
        client = await connect(login=False)
        await client.send(AUTH, password, request_id=42)

        reply = await client.read()

        assert (reply.request_id, reply.type, reply.body) == (42, AUTH_RESPONSE, b"")

    async def test_wrong_password_gets_id_minus_one_and_a_close(self, connect):
        """A wrong password is answered with id -1, then the server closes the connection."""
        client = await connect(login=False)
        await client.send(AUTH, "nope", request_id=5)

        reply = await client.read()

        assert (reply.request_id, reply.type) == (-1, AUTH_RESPONSE)
        assert await client.is_closed_by_server()

    async def test_command_before_login_closes_the_connection(self, connect):
        """A command sent before logging in gets no answer and the connection is closed."""
        client = await connect(login=False)
        await client.send(EXECCOMMAND, "/version")

        assert await client.is_closed_by_server()

    async def test_password_change_applies_to_new_logins(self, server, connect):
        """After set_rcon_password the old password fails and the new one works."""
        server.set_rcon_password("new-pw")
        old = await connect(login=False)

        assert (await old.login()).request_id == -1
        assert (await (await connect(login=False)).login("new-pw")).request_id != -1


class TestCommands:
    """Command packets and their replies."""

    async def test_reply_is_a_response_value_with_the_request_id(self, connect):
        """A command gets one RESPONSE_VALUE carrying the request's id."""
        client = await connect()
        request_id = await client.send(EXECCOMMAND, "/version")

        reply = await client.read()

        assert (reply.request_id, reply.type, reply.text) == (
            request_id,
            RESPONSE_VALUE,
            "2.0.77\n",
        )

    async def test_large_response_arrives_as_one_packet(self, connect):
        """A 100 KB reply is one packet whose size field covers the whole body."""
        client = await connect()
        await client.send(EXECCOMMAND, "/sc rcon.print(string.rep('x', 100000))")

        reply = await client.read()

        assert reply.body == b"x" * 100_000 + b"\n"

    async def test_empty_command_gets_no_reply(self, connect):
        """An empty command is never answered; the next command's reply comes next."""
        client = await connect()
        await client.send(EXECCOMMAND, "")

        with pytest.raises(TimeoutError):
            await client.read(timeout_s=NO_REPLY_WAIT_S)
        assert await client.command("/version") == "2.0.77\n"

    async def test_pipelined_commands_are_answered_in_order(self, connect):
        """Several commands sent before reading are answered in order, matched by id."""
        client = await connect()
        ids = [await client.send(EXECCOMMAND, c) for c in ("/version", "/seed", "/time")]

        replies = [await client.read() for _ in ids]

        assert [(r.request_id, r.text) for r in replies] == [
            (ids[0], "2.0.77\n"),
            (ids[1], "3141592653\n"),
            (ids[2], "0 seconds\n"),
        ]

    async def test_connections_are_served_concurrently(self, connect):
        """Two logged-in connections both get their replies."""
        first, second = await connect(), await connect()

        assert [await first.command("/version"), await second.command("/seed")] == [
            "2.0.77\n",
            "3141592653\n",
        ]

    async def test_oversized_command_drops_the_session(self, connect):
        """A command over 4096 bytes closes the connection, as Factorio dropped such sessions."""
        client = await connect()
        await client.send(EXECCOMMAND, "/sc " + "x" * 5000)

        assert await client.is_closed_by_server()

    async def test_each_connection_is_logged(self, server, connect, log_text):
        """Every accepted connection writes `New RCON connection from IP ADDR:(...)`."""
        client = await connect()
        await client.command("/version")

        assert (
            "Info RemoteCommandProcessor.cpp:126: New RCON connection from IP ADDR:({127.0.0.1:"
            in log_text(server)
        )


class TestControls:
    """Fault controls of the RCON listener."""

    async def test_stall_holds_replies_until_release(self, server, connect):
        """While stalled a command is read but not answered; release delivers the reply."""
        client = await connect()
        server.stall_rcon()
        request_id = await client.send(EXECCOMMAND, "/version")

        with pytest.raises(TimeoutError):
            await client.read(timeout_s=NO_REPLY_WAIT_S)
        server.release_rcon()
        reply = await client.read()

        assert (reply.request_id, reply.text) == (request_id, "2.0.77\n")

    async def test_stall_also_holds_logins(self, server, connect, password):
        """A stalled server accepts the connection but does not answer the login."""
        server.stall_rcon()
        client = await connect(login=False)
        await client.send(AUTH, password)

        with pytest.raises(TimeoutError):
            await client.read(timeout_s=NO_REPLY_WAIT_S)
        server.release_rcon()
        assert (await client.read()).type == AUTH_RESPONSE

    async def test_drop_connections_closes_clients(self, server, connect):
        """Dropping connections closes every open socket; new connections still work."""
        client = await connect()
        await server.drop_rcon_connections()

        assert await client.is_closed_by_server()
        assert await (await connect()).command("/version") == "2.0.77\n"

    async def test_restart_listens_again_on_the_same_port(self, server, connect):
        """A restart drops clients and serves again on the same port."""
        port = server.rcon_port
        client = await connect()
        await server.restart_rcon()

        assert await client.is_closed_by_server()
        assert server.rcon_port == port
        assert await (await connect()).command("/version") == "2.0.77\n"

    async def test_refuse_then_accept(self, server, connect):
        """With the listener closed connects are refused; accept_rcon serves the same port again."""
        await server.refuse_rcon()

        with pytest.raises(ConnectionRefusedError):
            await asyncio.open_connection("127.0.0.1", server.rcon_port)
        await server.accept_rcon()
        assert await (await connect()).command("/version") == "2.0.77\n"

    async def test_unknown_packet_types_are_ignored(self, connect):
        """A RESPONSE_VALUE sent by a client (a fragment probe) is never answered."""
        client = await connect()
        await client.send(RESPONSE_VALUE, "")

        with pytest.raises(TimeoutError):
            await client.read(timeout_s=NO_REPLY_WAIT_S)

    async def test_size_field_is_little_endian(self, connect):
        """The reply's first four bytes are the little-endian size of the rest."""
        client = await connect()
        await client.send(EXECCOMMAND, "/version")

        header = await asyncio.wait_for(client.reader.readexactly(4), 5)

        assert struct.unpack("<i", header)[0] == 10 + len(b"2.0.77\n")
