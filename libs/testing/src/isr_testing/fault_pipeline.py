"""The whole ingestion pipeline as real processes: a tailer, two parser workers, persistence.

Fault tests kill any of them with SIGKILL and start it again; :meth:`FaultPipeline.idle` says
when nothing is in flight any more (every durable consumer on the raw and events streams has
nothing pending and nothing waiting for an acknowledgement), which is when a duplicate, if
there is one, has had its chance to be stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import nats
from nats.js.errors import NotFoundError

from common.topology import Topology
from isr_testing.pipeline import service_env, write_config
from isr_testing.processes import ServiceProcess

SERVER = "srv"
"""The server tag of the pipeline's one log."""

PARSER_WORKERS = 2


class FaultPipeline:
    """Tailer, parsers and persistence of one server, isolated by ``prefix`` and database."""

    def __init__(
        self,
        workdir: Path,
        nats_url: str,
        prefix: str,
        database_url: str,
        *,
        extra_env: Mapping[str, str] | None = None,
    ) -> None:
        self.log = workdir / "logs" / "console.log"
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self.nats_url = nats_url
        self.prefix = prefix
        config = write_config(workdir / "config", {SERVER: self.log})
        env = service_env(
            nats_url,
            prefix,
            config,
            ISR_DATABASE_URL=database_url,
            ISR_NATS_RECONNECT_WAIT_S="0.2",
            # Small parser fetches, so both workers take part in every burst.
            ISR_PARSER_BATCH_SIZE="2",
            # An outage of seconds is retried within about a second of its end.
            ISR_PERSISTENCE_RETRY_MAX_S="1",
        )
        env.update(extra_env or {})  # e.g. ISR_STREAM_REPLICAS for a cluster
        self.tailer = ServiceProcess("tailer", ["tailer", "--server", SERVER], env, workdir)
        self.parsers = [
            ServiceProcess(f"parser{i}", ["parser"], env, workdir) for i in range(PARSER_WORKERS)
        ]
        self.persistence = ServiceProcess("persistence", ["persistence"], env, workdir)

    @property
    def processes(self) -> list[ServiceProcess]:
        """Every process of the pipeline."""
        return [self.tailer, *self.parsers, self.persistence]

    def start(self) -> None:
        """Start every process (the log may not exist yet: the tailer waits for it)."""
        for proc in self.processes:
            proc.start()

    def stop(self) -> dict[str, int]:
        """SIGTERM every process; return the exit codes by name."""
        return {proc.name: proc.terminate() for proc in self.processes}

    def not_running(self) -> list[str]:
        """Names of the processes that exited by themselves (none should)."""
        return [proc.name for proc in self.processes if not proc.is_running()]

    def outputs(self, tail_chars: int = 3000) -> dict[str, str]:
        """The end of every process's output, for failure messages."""
        return {proc.name: proc.output()[-tail_chars:] for proc in self.processes}

    async def idle(self) -> bool:
        """True when every durable consumer of the raw and events streams has nothing in flight."""
        topology = Topology(self.prefix)
        # ISR_NATS_URL may list several servers (a cluster): connect to any of them.
        nc = await nats.connect(servers=self.nats_url.split(","))
        try:
            js = nc.jetstream()
            for stream in (topology.raw_stream, topology.events_stream):
                try:
                    consumers = await js.consumers_info(stream)
                except NotFoundError:
                    return False
                if not consumers:
                    return False
                for info in consumers:
                    if info.num_pending or info.num_ack_pending:
                        return False
            return True
        finally:
            await nc.close()
