"""What tracing costs: the tailer + parser pipeline with tracing off, at 1 % and at 100 %.

The same 1M-line corpus runs through a tailer and one parser (separate processes, as in the
ingestion benchmark) three ways, interleaved and repeated, best of each:

- off: no ``ISR_OTLP_ENDPOINT`` (the baseline, and the default);
- on, 1 %: ``ISR_OTLP_TRACES_SAMPLE_RATIO=0.01``, spans exported over OTLP/HTTP;
- on, 100 %: every raw batch traced through the parser.

Spans and metrics go to a local OTLP/HTTP sink that reads and discards each request, so the
cost measured is the services' own (span creation, header injection, the SDK's batch export
thread), not a collector's.
"""

from __future__ import annotations

import asyncio
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from benchmarks.ingestion import _expected_events, _pipeline_rate
from isr_cli.infra import EmbeddedNats


class _Sink(BaseHTTPRequestHandler):
    """Accepts an OTLP/HTTP export and discards it."""

    requests = 0

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        type(self).requests += 1
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        return


@contextmanager
def _otlp_sink() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


_MODES = {
    "off": None,
    "1 %": "0.01",
    "100 %": "1.0",
}


async def _measure(url: str, root: Path, lines: list[str], repeats: int) -> dict[str, float]:
    log = root / "tracing.log"
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    expected = _expected_events(lines)
    best: dict[str, float] = {}
    with _otlp_sink() as sink:
        for round_ in range(repeats):
            for n, (mode, ratio) in enumerate(_MODES.items()):
                extra = (
                    {}
                    if ratio is None
                    else {"ISR_OTLP_ENDPOINT": sink, "ISR_OTLP_TRACES_SAMPLE_RATIO": ratio}
                )
                seconds, _ = await _pipeline_rate(
                    url, root, log, expected, 1, prefix=f"btr{round_}m{n}", extra_env=extra
                )
                rate = len(lines) / seconds
                best[mode] = max(best.get(mode, 0.0), rate)
    off = best["off"]
    print(
        "tracing cost, tailer + 1 parser end to end "
        f"({len(lines):,} lines, best of {repeats}, interleaved): "
        + ", ".join(
            f"{mode}: {rate:,.0f} lines/s ({rate / off - 1:+.1%})" for mode, rate in best.items()
        )
        + f"; baseline = off, {_Sink.requests} OTLP requests received"
    )
    return {f"tracing_{mode.replace(' %', 'pct')}_lines_per_s": rate for mode, rate in best.items()}


def run(lines: list[str], *, repeats: int = 3) -> dict[str, float]:
    """Lines/s end to end for each tracing mode (see the module docstring)."""
    with tempfile.TemporaryDirectory() as tmp, EmbeddedNats(Path(tmp) / "nats") as server:
        return asyncio.run(_measure(server.url, Path(tmp), lines, repeats))
