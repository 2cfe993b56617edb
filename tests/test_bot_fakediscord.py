"""Contract tests of the fake Discord against the real hikari 2.7 client.

If a hikari upgrade needs a key the fake's payloads lack, these fail here (loudly) instead of
every bot test timing out on an event hikari silently dropped.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import aiohttp
import hikari
import hikari.impl.shard as hikari_shard
import pytest

from isr_testing.fakediscord import FakeDiscord, payloads

pytestmark = [pytest.mark.discord]


def _bot(fake: FakeDiscord) -> hikari.GatewayBot:
    return hikari.GatewayBot(
        payloads.TOKEN,
        rest_url=fake.rest_url,
        banner=None,
        logs=None,
        suppress_optimization_warning=True,
        intents=hikari.Intents.GUILDS | hikari.Intents.GUILD_MESSAGES,
    )


@pytest.fixture(name="fast_resume")
def _fast_resume(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hikari waits 1-2 s before reconnecting when the last connect was recent; make it 0."""
    monkeypatch.setattr(hikari_shard, "_BACKOFF_WINDOW", 0.0)


@pytest.fixture(name="compression", params=["zstd-stream", "zlib-stream", "payload-zlib", "none"])
def _compression(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Make hikari ask for one compression mode (the fake must honour each)."""
    mode = {
        "zstd-stream": hikari.impl.shard.shard.GatewayCompression.TRANSPORT_ZSTD_STREAM,
        "zlib-stream": hikari.impl.shard.shard.GatewayCompression.TRANSPORT_ZLIB_STREAM,
        "payload-zlib": hikari.impl.shard.shard.GatewayCompression.PAYLOAD_ZLIB_STREAM,
        "none": None,
    }[request.param]
    defaults = dict(hikari_shard.GatewayShardImpl.__init__.__kwdefaults__ or {})
    monkeypatch.setattr(
        hikari_shard.GatewayShardImpl.__init__, "__kwdefaults__", {**defaults, "compression": mode}
    )
    return request.param


@pytest.fixture(name="started_bot")
async def _started_bot(fake_discord: FakeDiscord) -> AsyncIterator[hikari.GatewayBot]:
    """A GatewayBot connected to the fake; closed before the fake stops."""
    bot = _bot(fake_discord)
    await asyncio.wait_for(bot.start(check_for_updates=False), 10)
    yield bot
    await bot.close()


class TestPayloads:
    def test_every_builder_satisfies_hikari_entity_factory(self):
        """Each payload the fake sends deserialises with hikari's own entity factory."""
        bot = hikari.GatewayBot(
            payloads.TOKEN, banner=None, logs=None, suppress_optimization_warning=True
        )
        factory = bot.entity_factory

        me = factory.deserialize_my_user(payloads.own_user())
        app = factory.deserialize_application(payloads.application())
        info = factory.deserialize_gateway_bot_info(payloads.gateway_bot("ws://x/gateway"))
        message = factory.deserialize_message(payloads.message(5, {"content": "hi"}))
        command = factory.deserialize_command_interaction(
            payloads.interaction(name="factorio", options=[], user_id=7, roles=[1])
        )
        dm = factory.deserialize_command_interaction(
            payloads.interaction(name="factorio", options=[], user_id=7, guild_id=None)
        )
        auto = factory.deserialize_autocomplete_interaction(
            payloads.interaction(
                name="factorio",
                options=[{"name": "server", "type": 3, "value": "a", "focused": True}],
                user_id=7,
                autocomplete=True,
            )
        )
        chat = factory.deserialize_message(
            payloads.message_create(channel_id=5, content="hello", user_id=7)
        )
        slash = factory.deserialize_slash_command(
            payloads.application_command({"name": "factorio", "description": "d"}, guild_id=None),
            guild_id=None,
        )

        assert (me.id, app.id, info.url) == (
            payloads.BOT_ID,
            payloads.APPLICATION_ID,
            "ws://x/gateway",
        )
        assert message.content == "hi"
        assert command.member is not None
        assert 1 in command.member.role_ids
        assert dm.guild_id is None
        assert dm.user.id == 7
        assert auto.options is not None
        assert auto.options[0].is_focused
        assert chat.guild_id == payloads.GUILD_ID
        assert chat.content == "hello"
        assert slash.name == "factorio"


class TestGateway:
    async def test_start_and_close_in_every_compression_mode(
        self, fake_discord: FakeDiscord, compression: str
    ):
        """Hikari connects, gets READY (own user known) and updates presence in each mode."""
        bot = _bot(fake_discord)
        await asyncio.wait_for(bot.start(check_for_updates=False), 10)
        try:
            await bot.update_presence(activity=hikari.Activity(name="x", type=3))
            presence = await fake_discord.wait_for_gateway_op(3)
        finally:
            await bot.close()

        expected = {"payload-zlib": "none"}.get(compression, compression)
        assert fake_discord.compressions == [expected]
        assert bot.get_me() is None or bot.get_me().id == payloads.BOT_ID
        assert presence["d"]["game"]["name"] == "x"

    async def test_dispatch_reaches_listeners(
        self, fake_discord: FakeDiscord, started_bot: hikari.GatewayBot
    ):
        """A MESSAGE_CREATE dispatch becomes a GuildMessageCreateEvent with its content."""
        got: asyncio.Queue[hikari.GuildMessageCreateEvent] = asyncio.Queue()
        started_bot.subscribe(hikari.GuildMessageCreateEvent, got.put)

        fake_discord.dispatch(
            "MESSAGE_CREATE", payloads.message_create(channel_id=9, content="hi", user_id=7)
        )
        event = await asyncio.wait_for(got.get(), 5)

        assert (event.channel_id, event.content) == (9, "hi")

    async def test_dropped_gateway_resumes_and_replays_missed_dispatches(
        self, fake_discord: FakeDiscord, started_bot: hikari.GatewayBot, fast_resume: None
    ):
        """After a drop hikari resumes its session and gets the dispatches it missed."""
        got: asyncio.Queue[hikari.GuildMessageCreateEvent] = asyncio.Queue()
        started_bot.subscribe(hikari.GuildMessageCreateEvent, got.put)

        await fake_discord.drop_gateway()
        fake_discord.dispatch(
            "MESSAGE_CREATE", payloads.message_create(channel_id=9, content="missed", user_id=7)
        )
        await fake_discord.wait_until(lambda: fake_discord.resumes == 1, what="a RESUME")
        event = await asyncio.wait_for(got.get(), 5)

        assert event.content == "missed"
        assert fake_discord.identifies == 1

    async def test_reconnect_op_makes_the_client_resume(
        self, fake_discord: FakeDiscord, started_bot: hikari.GatewayBot, fast_resume: None
    ):
        """Op 7 RECONNECT makes hikari reconnect to the resume URL and RESUME, not IDENTIFY."""
        fake_discord.send_op(7)
        await fake_discord.wait_until(lambda: fake_discord.resumes == 1, what="a RESUME")

        assert (fake_discord.identifies, fake_discord.connections) == (1, 2)


class TestRest:
    async def test_rate_limited_post_is_retried_by_hikari(
        self, fake_discord: FakeDiscord, started_bot: hikari.GatewayBot
    ):
        """Two 429s with Retry-After are waited out; the message then exists once."""
        fake_discord.inject("POST", r"/channels/5/messages", status=429, count=2)

        await started_bot.rest.create_message(5, "hello")

        assert [m["content"] for m in fake_discord.channel_messages(5)] == ["hello"]
        assert [r.status for r in fake_discord.posts(5)] == [429, 429, 200]

    async def test_enforced_nonce_makes_a_retried_post_appear_once(
        self, fake_discord: FakeDiscord, started_bot: hikari.GatewayBot
    ):
        """A post that succeeded but answered 500 is retried with its nonce and not doubled."""
        fake_discord.inject("POST", r"/channels/5/messages", status=500, after_effect=True)

        message = await started_bot.rest.create_message(5, "once", nonce="n1")

        assert [m["content"] for m in fake_discord.channel_messages(5)] == ["once"]
        assert message.content == "once"
        assert fake_discord.posts(5)[0].json["enforce_nonce"] is True

    async def test_commands_are_registered_per_guild(
        self, fake_discord: FakeDiscord, started_bot: hikari.GatewayBot
    ):
        """set_application_commands stores the commands and hikari parses the answer."""
        builder = started_bot.rest.slash_command_builder("factorio", "Factorio servers")

        commands = await started_bot.rest.set_application_commands(
            payloads.APPLICATION_ID, [builder], guild=payloads.GUILD_ID
        )

        assert [c.name for c in commands] == ["factorio"]
        assert fake_discord.commands[payloads.GUILD_ID][0]["name"] == "factorio"


class TestInteractions:
    async def test_deferred_answer_then_edit_is_the_reply(
        self, fake_discord: FakeDiscord, started_bot: hikari.GatewayBot
    ):
        """A deferred interaction's visible reply is the later edit of @original."""

        async def on(event: hikari.InteractionCreateEvent) -> None:
            inter = event.interaction
            assert isinstance(inter, hikari.CommandInteraction)
            await inter.create_initial_response(hikari.ResponseType.DEFERRED_MESSAGE_CREATE)
            await inter.edit_initial_response("done")

        started_bot.subscribe(hikari.InteractionCreateEvent, on)
        state = fake_discord.send_interaction(name="factorio", options=[], user_id=7)
        reply = await fake_discord.wait_for_reply(state)

        assert reply["content"] == "done"

    async def test_second_callback_and_early_followup_are_protocol_errors(
        self, fake_discord: FakeDiscord
    ):
        """The fake refuses a second callback and a follow-up before any callback, as Discord."""
        early = fake_discord.send_interaction(name="factorio", options=[], user_id=7)
        twice = fake_discord.send_interaction(name="factorio", options=[], user_id=7)
        base = fake_discord.rest_url
        async with aiohttp.ClientSession() as http:
            app = payloads.APPLICATION_ID
            r0 = await http.post(f"{base}/webhooks/{app}/{early.token}", json={"content": "x"})
            url = f"{base}/interactions/{twice.id}/{twice.token}/callback"
            r1 = await http.post(url, json={"type": 4, "data": {"content": "a"}})
            r2 = await http.post(url, json={"type": 4, "data": {"content": "b"}})

        assert (r0.status, r1.status, r2.status) == (404, 200, 400)
        assert len(fake_discord.protocol_errors) == 2
        fake_discord.protocol_errors.clear()
