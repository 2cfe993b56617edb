"""Live view of the events stream (the shell behind ``isr watch``)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from nats.js.api import ConsumerConfig, DeliverPolicy

from common import access
from common.backoff import sleep_until_stop
from common.contracts import Alert, GameEvent, decode_events
from common.errors import InvalidMessage
from common.runtime import connect_nats, install_stop_signals
from common.settings import NatsSettings, PipelineSettings
from common.settings_errors import settings_or_exit
from common.topology import Topology
from isr_cli.terminal import printable, printable_json

_COLOURS = {"join": "32", "leave": "33", "chat": "36", "alert": "31", "kick": "35", "ban": "35"}


def format_event(item: GameEvent | Alert, *, colour: bool) -> str:
    """One human line for an event or alert (pure).

    Every field that came from the game is passed through :func:`printable`: a player's ANSI
    escape or bidi override is shown, never obeyed.
    """
    if isinstance(item, Alert):
        stamp = item.raised_at.strftime("%H:%M:%S")
        text = f"{stamp} {printable(item.server):<12} {'alert':<8} {printable(item.summary)}"
        kind = "alert"
    else:
        stamp = (item.ts or item.observed_at).strftime("%H:%M:%S")
        who = item.player or ""
        what = f"{who}: {item.message}" if item.message is not None else who
        text = f"{stamp} {printable(item.server):<12} {printable(item.type):<8} {printable(what)}"
        kind = item.type
    code = _COLOURS.get(kind)
    return f"\033[{code}m{text}\033[0m" if colour and code else text


WATCH_IDENTITY = access.WATCH


def watch_nats_settings(settings: NatsSettings, environ: Mapping[str, str]) -> NatsSettings:
    """The settings ``isr watch`` connects with: the ``watch`` seed of ``isr up`` by default.

    When no identity is set (ISR_NATS_CREDS_FILE, _NKEY_SEED_FILE, _USER) and the state
    directory of ``isr up`` (ISR_STATE_DIR, else ./.isr) holds the ``watch`` identity's seed,
    that seed is used: its embedded nats-server admits no anonymous client.
    """
    if settings.identity_kind != "anonymous":
        return settings
    from isr_cli.commands.up import DEFAULT_STATE_DIR  # noqa: PLC0415
    from isr_cli.infra.resolve import nats_auth_dir  # noqa: PLC0415

    state_dir = Path(environ.get("ISR_STATE_DIR") or DEFAULT_STATE_DIR)
    seed = nats_auth_dir(state_dir) / f"{WATCH_IDENTITY}.nk"
    if seed.is_file():
        return settings.model_copy(update={"nkey_seed_file": seed})
    return settings


async def watch(*, server: str, replay: bool, as_json: bool, out: TextIO) -> None:
    """Print every event of ``server`` (or all) until SIGINT/SIGTERM."""
    nats_settings = watch_nats_settings(
        settings_or_exit(NatsSettings, program="isr watch"), os.environ
    )
    topo = Topology(settings_or_exit(PipelineSettings, program="isr watch").prefix)
    nc = await connect_nats(nats_settings, name="isr-watch", identity=WATCH_IDENTITY)
    stop = asyncio.Event()
    install_stop_signals(stop)
    js = nc.jetstream()
    colour = out.isatty()
    queue: asyncio.Queue[bytes] = asyncio.Queue()

    async def on_msg(msg: object) -> None:
        await queue.put(msg.data)  # type: ignore[attr-defined]

    sub = None
    while sub is None and not stop.is_set():
        try:
            sub = await js.subscribe(
                topo.events_filter(server),
                cb=on_msg,
                ordered_consumer=True,
                config=ConsumerConfig(
                    deliver_policy=DeliverPolicy.ALL if replay else DeliverPolicy.NEW
                ),
            )
        except Exception:  # the stream may not exist yet while services start
            await sleep_until_stop(stop, 1.0)
    out.write(f"watching {topo.events_filter(server)} on {nats_settings.url}\n")
    out.flush()
    try:
        while not stop.is_set():
            try:
                data = await asyncio.wait_for(queue.get(), 0.5)
            except TimeoutError:
                continue
            try:
                items = decode_events(data)
            except InvalidMessage as exc:
                out.write(f"(undecodable event: {printable(str(exc))})\n")
            else:
                for item in items:  # an event batch is shown as its events, one per line
                    line = (
                        printable_json(item.to_json().decode())
                        if as_json
                        else format_event(item, colour=colour)
                    )
                    out.write(line + "\n")
            out.flush()
    finally:
        if sub is not None:
            await sub.unsubscribe()
        await nc.close()
