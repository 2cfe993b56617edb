"""One chat line's trace through a real OTLP collector (rotel), across four services."""

from __future__ import annotations

import gzip
import socket
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from isr_testing.fakediscord import FakeDiscord
from isr_testing.fakediscord.harness import bot_env, write_config
from isr_testing.processes import ServiceProcess
from isr_testing.waiting import wait_for

pytestmark = [pytest.mark.discord, pytest.mark.nats, pytest.mark.postgres]

CHAT = 3001
ROTEL = Path(__file__).resolve().parents[1] / ".venv/lib/python3.11/site-packages/rotel/rotel-agent"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Receiver(ThreadingHTTPServer):
    """An OTLP/HTTP endpoint keeping every span it is sent, with its service name."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", _port()), _Handler)
        self.spans: list[tuple[str, object]] = []


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.headers.get("Content-Encoding") == "gzip":  # rotel compresses what it relays
            body = gzip.decompress(body)
        if self.path.endswith("/v1/traces"):
            request = ExportTraceServiceRequest.FromString(body)
            for resource_spans in request.resource_spans:
                names = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
                for scope in resource_spans.scope_spans:
                    for one in scope.spans:
                        self.server.spans.append((names.get("service.name", ""), one))  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        """Quiet."""


@pytest.fixture(name="collector")
def _collector(tmp_path: Path):
    """A local OTLP receiver and rotel relaying to it; yields (rotel's HTTP URL, receiver)."""
    receiver = _Receiver()
    thread = threading.Thread(target=receiver.serve_forever, daemon=True)
    thread.start()
    http_port = _port()
    rotel = subprocess.Popen(
        [
            str(ROTEL),
            "start",
            "--otlp-grpc-endpoint",
            f"127.0.0.1:{_port()}",
            "--otlp-http-endpoint",
            f"127.0.0.1:{http_port}",
            "--exporter",
            "otlp",
            "--otlp-exporter-protocol",
            "http",
            "--otlp-exporter-endpoint",
            f"http://127.0.0.1:{receiver.server_address[1]}",
        ],
        stdout=(tmp_path / "rotel.log").open("w"),
        stderr=subprocess.STDOUT,
    )
    try:
        yield f"http://127.0.0.1:{http_port}", receiver
    finally:
        rotel.terminate()
        rotel.wait(10)
        receiver.shutdown()
        receiver.server_close()


async def test_one_chat_line_is_one_trace_across_four_services(
    tmp_path: Path,
    fake_discord: FakeDiscord,
    nats_server,
    nats_prefix: str,
    *,
    database_url,
    collector,
):
    """A chat line's trace, relayed by rotel, holds tailer → parser → persistence and bot spans."""
    endpoint, receiver = collector
    config = write_config(
        tmp_path / "config",
        {
            "e2e": {
                "log_path": str(tmp_path / "console.log"),
                "log_start": "beginning",
                "rcon": {"enabled": False},
                "channels": {"default": CHAT},
            }
        },
    )
    log = tmp_path / "console.log"
    log.write_text("")
    env = {
        **bot_env(fake_discord, nats_url=nats_server.url, prefix=nats_prefix, config_dir=config),
        "ISR_DATABASE_URL": database_url,
        "ISR_OTLP_ENDPOINT": endpoint,
        "ISR_BOT_REORDER_WINDOW_S": "0.05",
    }
    procs = [
        ServiceProcess("tailer", ["tailer", "--server", "e2e"], env, tmp_path),
        ServiceProcess("parser", ["parser"], env, tmp_path),
        ServiceProcess("persistence", ["persistence"], env, tmp_path),
        ServiceProcess("bot", ["bot"], env, tmp_path),
    ]
    for proc in procs:
        proc.start()
    try:
        await fake_discord.wait_until(lambda: fake_discord.identifies == 1, timeout_s=30)
        with log.open("a", encoding="utf-8") as f:
            f.write("2026-11-27 12:00:00 [CHAT] Alice: traced hello\n")
        await fake_discord.wait_until(
            lambda: len(fake_discord.channel_messages(CHAT)) >= 1, timeout_s=30, what="the post"
        )
    finally:
        codes = [p.terminate() for p in procs]  # each flushes its spans on the way out

    def post_spans() -> list:
        return [s for _, s in receiver.spans if s.name == "discord.post"]

    await wait_for(lambda: bool(post_spans()), timeout_s=20, what="discord.post through rotel")
    post = post_spans()[0]
    trace = [(svc, s) for svc, s in receiver.spans if s.trace_id == post.trace_id]
    by_id = {s.span_id: (svc, s) for svc, s in trace}
    chain = []
    current: object | None = post
    while current is not None:
        chain.append(current)
        parent = current.parent_span_id  # type: ignore[attr-defined]
        current = by_id[parent][1] if parent in by_id else None
    services = [by_id[s.span_id][0] for s in reversed(chain)]
    assert services[0] == "isr-tailer"
    assert services[-1] == "isr-bot"
    assert "isr-parser" in services
    assert {svc for svc, _ in trace} >= {"isr-tailer", "isr-parser", "isr-persistence", "isr-bot"}
    writes = [s for svc, s in trace if s.name == "persistence.write"]
    assert writes
    assert "traced hello" in fake_discord.channel_messages(CHAT)[0]["content"]
    assert codes == [0, 0, 0, 0]
