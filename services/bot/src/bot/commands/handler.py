"""The slash-command shell: interaction in, exactly one answer out (within Discord's deadline).

Checks that need no I/O beyond one KV read (guild, server, permission, arguments, cooldown)
run first and answer at once, ephemerally, when they refuse. A command that talks to the RCON
poller or the query API defers first (public "thinking…"), then edits that answer with the
result; if it fails, the deferred answer is deleted and the specific error is sent as an
ephemeral follow-up, so errors are never public. Every admin and danger command — run,
refused or failed — is published as an :class:`~common.contracts.audit.AuditRecord`.

Requests go to ``isr.rcon.<server>.bot`` and ``isr.query.<name>.bot``: ``bot`` is this
service's NATS identity, the only caller token the authorisation config lets it publish. The
request's ``requested_by`` (``discord:<user id>``) is the bot's word about its user; the
poller's audit record of the operation names both.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import hikari
import nats.errors
import structlog
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext
from nats.js.errors import KeyNotFoundError
from nats.js.kv import KeyValue
from opentelemetry.trace import SpanKind

from bot.commands import history, replies
from bot.commands.dispatch import Invocation, Plan, Refusal, plan
from bot.commands.table import STATS_ROOT, PermClass
from bot.discord import to_embed
from bot.monitor import MetricsWatch
from bot.presence import is_online
from bot.ratelimit import SlidingWindowLog
from bot.render import utc_now
from common import tracing
from common.config import IsrConfig
from common.contracts import queries, rcon
from common.contracts.audit import AuditRecord, AuditResult, result_of
from common.errors import InvalidMessage
from common.metric_names import Span
from common.publishing import Outgoing, publish_confirmed
from common.topology import Topology
from common.vocabulary import SYSTEM_SERVER, Caller

log = structlog.get_logger()

_PRIVILEGED = (PermClass.ADMIN, PermClass.DANGER)


def invocation_of(interaction: hikari.CommandInteraction) -> Invocation:
    """The pure :class:`Invocation` of a hikari command interaction."""
    name = ""
    args: dict[str, Any] = {}
    for option in interaction.options or ():
        if option.type is hikari.OptionType.SUB_COMMAND:
            name = option.name
            args = {o.name: o.value for o in option.options or ()}
    member = interaction.member
    roles = frozenset(int(r) for r in member.role_ids) if member is not None else frozenset()
    return Invocation(
        root=interaction.command_name,
        name=name,
        args=args,
        user_id=int(interaction.user.id),
        role_ids=roles,
        guild_id=int(interaction.guild_id) if interaction.guild_id is not None else None,
    )


class CommandHandler:
    """Answers ``/factorio`` and ``/factorio-stats`` interactions and their autocomplete."""

    def __init__(
        self,
        nc: NatsClient,
        js: JetStreamContext,
        topology: Topology,
        *,
        config: Callable[[], IsrConfig],
        user_context: KeyValue,
        watch: MetricsWatch,
        timeout_s: float,
        operation_timeouts_s: Mapping[str, float] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._nc = nc
        self._js = js
        self._topology = topology
        self._config = config
        self._kv = user_context
        self._watch = watch
        self._timeout_s = timeout_s
        self._operation_timeouts_s = dict(operation_timeouts_s or {})
        """Per-operation waits that replace the table's (``save``: ``ISR_BOT_SAVE_TIMEOUT_S``)."""
        self._clock = clock
        self._cooldowns = SlidingWindowLog()

    async def on_interaction(self, event: hikari.InteractionCreateEvent) -> None:
        """Hikari listener."""
        interaction = event.interaction
        try:
            if isinstance(interaction, hikari.AutocompleteInteraction):
                await self._autocomplete(interaction)
            elif isinstance(interaction, hikari.CommandInteraction):
                if tracing.tracing_enabled():
                    # The root of a command's trace: bot → poller → RCON → reply. The command
                    # name only, never its options (they may carry user text).
                    with tracing.span(
                        Span.INTERACTION,
                        kind=SpanKind.SERVER,
                        attributes={"discord.command": interaction.command_name},
                    ):
                        await self._command(interaction)
                else:
                    await self._command(interaction)
        except Exception as exc:
            log.exception("command_failed", error=repr(exc))

    async def _autocomplete(self, interaction: hikari.AutocompleteInteraction) -> None:
        typed = ""
        for option in interaction.options or ():
            for sub in option.options or ():
                if sub.is_focused:
                    typed = str(sub.value or "")
        choices = [
            hikari.impl.AutocompleteChoiceBuilder(name=label, value=tag)
            for label, tag in replies.autocomplete_servers(self._config(), typed)
        ]
        await interaction.create_response(choices)

    async def _default_server(self, user_id: int) -> str | None:
        try:
            entry = await self._kv.get(str(user_id))
        except KeyNotFoundError:
            return None
        except Exception as exc:
            log.warning("user_context_unavailable", error=repr(exc))
            return None
        return entry.value.decode() if entry.value else None

    async def _command(self, interaction: hikari.CommandInteraction) -> None:
        invocation = invocation_of(interaction)
        config = self._config()
        default = await self._default_server(invocation.user_id)
        decided = plan(
            invocation, config, default_server=default, cooldowns=self._cooldowns, now=self._clock()
        )
        if isinstance(decided, Refusal):
            await self._answer(interaction, replies.refusal(decided.title, decided.message))
            await self._audit_refusal(interaction, invocation, decided, config, default)
            return
        spec = decided.spec
        if spec.local == "help":
            await self._answer(
                interaction, replies.Reply(content=replies.help_text(), is_ephemeral=True)
            )
        elif spec.local == "servers":
            online = self._online(config)
            await self._answer(
                interaction,
                replies.servers_list(config, online=online, current=default or decided.server),
            )
        elif spec.local == "connect":
            await self._kv.put(str(invocation.user_id), decided.server.encode())
            is_up = self._online(config).get(decided.server, False)
            await self._answer(
                interaction, replies.connected(config, decided.server, is_online=is_up)
            )
        elif spec.local == "history":
            await self._history(interaction, invocation, decided, config)
        else:
            await self._rcon(interaction, invocation, decided, config)

    def _online(self, config: IsrConfig) -> dict[str, bool]:
        now = utc_now()
        return {
            tag: is_online(self._watch.latest.get(tag), interval_s=s.metrics.interval_s, now=now)
            for tag, s in config.servers.items()
        }

    async def _answer(self, interaction: hikari.CommandInteraction, reply: replies.Reply) -> None:
        await interaction.create_initial_response(
            hikari.ResponseType.MESSAGE_CREATE,
            reply.content or hikari.UNDEFINED,
            embed=to_embed(reply.embed) if reply.embed else hikari.UNDEFINED,
            flags=hikari.MessageFlag.EPHEMERAL if reply.is_ephemeral else hikari.UNDEFINED,
            mentions_everyone=False,
            user_mentions=False,
            role_mentions=False,
        )

    async def _finish(self, interaction: hikari.CommandInteraction, reply: replies.Reply) -> None:
        """Answer a deferred interaction: edit it, or replace it with an ephemeral error."""
        files = dict(reply.files)
        embedded = reply.embed.image if reply.embed and reply.embed.image else ""
        attachments = [
            hikari.Bytes(data, name) for name, data in files.items() if not embedded.endswith(name)
        ]
        if not reply.is_ephemeral:
            await interaction.edit_initial_response(
                reply.content or hikari.UNDEFINED,
                embed=to_embed(reply.embed, files) if reply.embed else hikari.UNDEFINED,
                attachments=attachments or hikari.UNDEFINED,
                mentions_everyone=False,
                user_mentions=False,
                role_mentions=False,
            )
            return
        await interaction.delete_initial_response()
        await interaction.execute(
            reply.content or hikari.UNDEFINED,
            embed=to_embed(reply.embed) if reply.embed else hikari.UNDEFINED,
            flags=hikari.MessageFlag.EPHEMERAL,
            mentions_everyone=False,
            user_mentions=False,
            role_mentions=False,
        )

    async def _rcon(
        self,
        interaction: hikari.CommandInteraction,
        invocation: Invocation,
        decided: Plan,
        config: IsrConfig,
    ) -> None:
        server = config.servers[decided.server]
        assert decided.request is not None
        await interaction.create_initial_response(hikari.ResponseType.DEFERRED_MESSAGE_CREATE)
        request = decided.request.model_copy(
            update={
                "request_id": f"discord:{interaction.id}",
                "requested_by": f"discord:{invocation.user_id}",
            }
        )
        outcome, detail = AuditResult.OK, None
        timeout_s = self._operation_timeouts_s.get(
            decided.spec.name, max(self._timeout_s, decided.spec.timeout_s or 0.0)
        )
        try:
            answer = await tracing.request(
                self._nc,
                self._topology.rcon_subject(decided.server, Caller.BOT),
                rcon.encode_rcon_request(request),
                timeout=timeout_s,
            )
            reply_model = rcon.RconReply.from_json(answer.data)
        except nats.errors.NoRespondersError:
            reply = replies.transport_error(
                "no_responders", server_name=server.name, timeout_s=timeout_s
            )
            outcome, detail = AuditResult.FAILED, "no RCON poller answered"
        except (nats.errors.TimeoutError, TimeoutError):
            # The wait this operation really had (a save waits far longer than a query).
            reply = replies.transport_error("timeout", server_name=server.name, timeout_s=timeout_s)
            outcome, detail = AuditResult.FAILED, "timed out"
        except InvalidMessage as exc:
            reply = replies.refusal(
                "❌ Error", "The RCON poller sent an answer the bot cannot read."
            )
            outcome, detail = AuditResult.FAILED, str(exc)[:2000]
        else:
            if reply_model.ok and reply_model.result is not None:
                reply = replies.rcon_success(
                    reply_model.result, server_name=server.name, args=invocation.args
                )
            else:
                assert reply_model.error is not None
                reply = replies.rcon_error(reply_model.error, server_name=server.name)
                outcome = result_of(reply_model)
                detail = reply_model.error.message[:2000]
        await self._finish(interaction, reply)
        if decided.spec.perm in _PRIVILEGED:
            parameters = request.model_dump(
                exclude={"v", "request_id", "requested_by"}, mode="json"
            )
            await self._audit(
                interaction=interaction,
                server=decided.server,
                operation=decided.spec.name,
                parameters=parameters,
                result=outcome,
                detail=detail,
            )

    async def _history(
        self,
        interaction: hikari.CommandInteraction,
        invocation: Invocation,
        decided: Plan,
        config: IsrConfig,
    ) -> None:
        server = config.servers[decided.server]
        await interaction.create_initial_response(hikari.ResponseType.DEFERRED_MESSAGE_CREATE)
        try:
            name, request, reply_type = history.build_query(
                decided.spec.name, invocation.args, server=decided.server, now=datetime.now(UTC)
            )
            answer = await tracing.request(
                self._nc,
                self._topology.query_subject(name, Caller.BOT),
                request.to_json(),
                timeout=self._timeout_s,
            )
            decoded = queries.decode_query_reply(answer.data, reply_type)
        except nats.errors.NoRespondersError:
            reply = replies.refusal(
                "❌ History unavailable", "The history service (persistence) is not running."
            )
        except (nats.errors.TimeoutError, TimeoutError):
            reply = replies.refusal(
                "⏱️ Timed out", f"The history service did not answer within {self._timeout_s:g} s."
            )
        except (InvalidMessage, ValueError) as exc:
            reply = replies.refusal("❌ Error", str(exc)[:500])
        else:
            if isinstance(decoded, queries.QueryError):
                reply = history.query_error(decoded)
            else:
                reply = history.history_reply(decided.spec.name, decoded, server_name=server.name)
        await self._finish(interaction, reply)

    async def _audit_refusal(
        self,
        interaction: hikari.CommandInteraction,
        invocation: Invocation,
        refusal: Refusal,
        config: IsrConfig,
        default: str | None,
    ) -> None:
        from bot.commands.table import find  # noqa: PLC0415

        spec = find(invocation.root, invocation.name)
        if spec is None or spec.perm not in _PRIVILEGED or invocation.root == STATS_ROOT:
            return
        requested = invocation.args.get("server")
        server = (
            str(requested).strip().lower() if requested else (default or next(iter(config.servers)))
        )
        if server not in config.servers:
            server = SYSTEM_SERVER
        result = (
            AuditResult.REJECTED if refusal.title.endswith("Bad argument") else AuditResult.DENIED
        )
        await self._audit(
            interaction=interaction,
            server=server,
            operation=spec.name,
            parameters=_safe_args(invocation.args),
            result=result,
            detail=refusal.message,
        )

    async def _audit(
        self,
        *,
        interaction: hikari.CommandInteraction,
        server: str,
        operation: str,
        parameters: Mapping[str, Any],
        result: AuditResult,
        detail: str | None,
    ) -> None:
        member = interaction.member
        record = AuditRecord(
            id=f"discord:{interaction.id}",
            at=interaction.created_at,
            actor_id=int(interaction.user.id),
            actor_name=(member.display_name if member else interaction.user.username)[:200],
            guild_id=int(interaction.guild_id) if interaction.guild_id else None,
            channel_id=int(interaction.channel_id),
            server=server,
            operation="rcon_raw" if operation == "rcon" else operation,
            parameters=dict(parameters),
            result=result,
            detail=detail[:2000] if detail else None,
            requested_by=f"discord:{int(interaction.user.id)}",
        )
        log.info(
            "audit",
            server=server,
            operation=record.operation,
            result=result.value,
            actor=record.actor_id,
        )
        try:
            await publish_confirmed(
                self._js,
                [Outgoing(self._topology.audit_subject(server), record.to_json(), record.id)],
            )
        except Exception as exc:
            log.error("audit_publish_failed", error=repr(exc), record=record.id)


def _safe_args(args: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (str(v)[:200] if isinstance(v, str) else v) for k, v in args.items()}
