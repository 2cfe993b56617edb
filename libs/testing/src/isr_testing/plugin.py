"""The ISR pytest plugin: real nats-server and Postgres fixtures for every package's tests.

Registered through the ``pytest11`` entry point of isr-testing, so any test in the workspace can
ask for these fixtures without a conftest import:

- ``nats_server`` (session): one embedded nats-server with JetStream for the whole run;
- ``private_nats_server`` (function): a server of the test's own, to stop and restart freely;
- ``nats_cluster`` (session): a three-node JetStream cluster on loopback
  (:class:`isr_testing.nats_cluster.NatsCluster`, ``url`` lists all three); a test that kills
  a node starts it again;
- ``nats_prefix`` (function): a unique name prefix; derive every subject, stream, consumer and
  KV bucket name from it so tests sharing ``nats_server`` stay isolated;
- ``postgres_server`` (session): ISR_TEST_DATABASE_URL, else a throwaway local cluster, else
  Docker; fails (never skips) with what to install when none is available;
- ``database_url`` (function): the URL of a fresh empty database on ``postgres_server``;
- ``private_postgres`` (function): a throwaway local cluster of the test's own;
- ``stoppable_postgres`` (session): a throwaway local cluster started once for the session that
  fault tests may stop (``postgres.stop_immediately``) and start again; each test takes its own
  database on it (``postgres.fresh_database``) and leaves it running.
- ``spans`` (function): tracing switched on in this process, every ended span recorded in an
  in-memory exporter (:mod:`isr_testing.tracing`); read them with ``spans.get_finished_spans()``.
- ``prometheus_tools`` (session): Debian's prometheus and promtool, fetched into
  ``.tools/prometheus/`` on first use (:mod:`isr_testing.prometheus`); fails naming what to
  install when they cannot be had.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from isr_testing import nats as nats_helpers
from isr_testing import nats_cluster as cluster_helpers
from isr_testing import postgres as postgres_helpers
from isr_testing import prometheus as prometheus_helpers
from isr_testing import tracing as tracing_helpers

pytest_plugins = ["isr_testing.fakediscord.fixtures"]  # the fake_discord fixture

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from isr_cli.infra.nats import EmbeddedNats
    from isr_cli.infra.postgres import LocalPostgres


@pytest.fixture(name="spans")
def _spans() -> Iterator[InMemorySpanExporter]:
    """Tracing on for this test, with every ended span kept in memory."""
    with tracing_helpers.captured_spans() as exporter:
        yield exporter


@pytest.fixture(scope="session", name="nats_server")
def _nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedNats]:
    """One nats-server with JetStream shared by the session; a test that stops it restarts it."""
    with nats_helpers.running_nats(tmp_path_factory.mktemp("nats")) as server:
        yield server


@pytest.fixture(name="private_nats_server")
def _private_nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedNats]:
    """A nats-server for one test alone, for fault tests that stop, start or restart it."""
    with nats_helpers.running_nats(tmp_path_factory.mktemp("private-nats")) as server:
        yield server


@pytest.fixture(scope="session", name="nats_cluster")
def _nats_cluster(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[cluster_helpers.NatsCluster]:
    """Three JetStream nodes routed together, started once; a test that kills one restarts it."""
    with cluster_helpers.running_cluster(tmp_path_factory.mktemp("nats-cluster")) as cluster:
        yield cluster


@pytest.fixture(scope="session", name="prometheus_tools")
def _prometheus_tools(pytestconfig: pytest.Config) -> prometheus_helpers.PrometheusTools:
    """Debian's prometheus and promtool, fetched into ``.tools/prometheus/`` on first use."""
    try:
        return prometheus_helpers.fetch_prometheus(pytestconfig.rootpath / ".tools" / "prometheus")
    except RuntimeError as exc:
        pytest.fail(str(exc))


@pytest.fixture(name="nats_prefix")
def _nats_prefix() -> str:
    """A unique prefix (``t`` + 10 hex chars) for every NATS name this test creates."""
    return nats_helpers.new_prefix()


@pytest.fixture(scope="session", name="postgres_server")
def _postgres_server() -> Iterator[postgres_helpers.PostgresServer]:
    """A Postgres server for the session; fails with what to install when there is none."""
    try:
        with postgres_helpers.postgres_for_tests(os.environ) as server:
            yield server
    except postgres_helpers.NoPostgresError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(name="database_url")
def _database_url(postgres_server: postgres_helpers.PostgresServer) -> Iterator[str]:
    """The URL of a fresh empty database (``t_<hex>``), dropped after the test."""
    with postgres_helpers.fresh_database(postgres_server.url) as url:
        yield url


@pytest.fixture(name="private_postgres")
def _private_postgres() -> Iterator[LocalPostgres]:
    """A throwaway local Postgres for one test alone, for tests that stop or restart it."""
    try:
        with postgres_helpers.throwaway_local_postgres() as server:
            yield server
    except postgres_helpers.NoPostgresError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session", name="stoppable_postgres")
def _stoppable_postgres() -> Iterator[LocalPostgres]:
    """A throwaway local Postgres started once per session, for tests that crash and restart it."""
    try:
        with postgres_helpers.throwaway_local_postgres() as server:
            yield server
    except postgres_helpers.NoPostgresError as exc:
        pytest.fail(str(exc), pytrace=False)
