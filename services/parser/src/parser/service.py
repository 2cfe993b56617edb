"""Parser worker: one durable pull consumer shared by every worker."""

from __future__ import annotations

from common.consumer import BatchConsumer
from common.contracts import RawLineBatch
from common.runtime import ServiceRuntime

from parser.handlers import ParseHandler
from parser.settings import ParserSettings


def _decode(data: bytes, subject: str) -> RawLineBatch:
    return RawLineBatch.from_json(data, subject=subject)


async def run(settings: ParserSettings) -> None:
    """Parse raw batches into events until SIGTERM/SIGINT, then finish the batch in hand."""
    async with ServiceRuntime("parser", settings.runtime) as rt:
        topo = rt.topology
        await topo.ensure_consumer(rt.js, topo.raw_stream, settings.durable)
        consumer = BatchConsumer(
            rt.js,
            stream=topo.raw_stream,
            durable=settings.durable,
            decode=_decode,
            handler=ParseHandler(rt.js, topo),
            service="parser",
            batch_size=settings.batch_size,
        )
        await consumer.run(rt.stop)
