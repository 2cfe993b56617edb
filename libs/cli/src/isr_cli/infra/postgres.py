"""A local PostgreSQL cluster run from the installed server binaries (initdb, pg_ctl).

Layout under ``data_dir`` (``<state_dir>/postgres`` for ``isr up``)::

    password      the generated password of role ``isr`` (mode 0600; absent for throwaway clusters)
    location      only when the cluster had to live elsewhere: the path of the cluster area
    cluster/      the cluster area, owned by the server's user, mode 0700:
        data/           PGDATA (initdb runs only when data/PG_VERSION is missing)
        run/            the Unix socket directory
        postgres.log    the server log

initdb refuses to run as root, so as root every server binary runs as an unprivileged user
through ``runuser``: ``postgres`` when that system user exists, else a system user
``isr-postgres`` created with ``useradd``. That user must be able to reach the cluster area;
when a parent directory is not traversable by it (a state dir under /root, or a pytest tmp dir),
the area moves to ``/var/tmp/isr-postgres-<sha of the resolved data_dir>/`` and ``location``
records it, so the same data_dir finds the same cluster on the next start.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import os
import pwd
import re
import secrets
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common.redaction import register_secret
from isr_cli.infra._process import StartStopContext, free_port, pid_is_alive, tail
from isr_cli.infra.errors import BinaryNotFoundError, InfraError, StartupError

HOST = "127.0.0.1"
"""The local cluster listens on the loopback interface only."""

ROLE = "isr"
"""The superuser role created by initdb; services connect as this role."""

DATABASE = "isr"
"""The database created on first start."""

SERVICE_USER = "postgres"
"""The system user the server runs as when root starts it, if that user exists."""

FALLBACK_SERVICE_USER = "isr-postgres"
"""The system user created with useradd when root starts the cluster and `postgres` is absent."""

RELOCATION_ROOT = Path("/var/tmp")  # noqa: S108 - survives reboots, world-traversable on purpose
"""Where a cluster area goes when the data dir is not reachable by the server's user."""

_REQUIRED_BINARIES = ("initdb", "pg_ctl", "postgres", "psql")
_MAX_SOCKET_PATH = 100  # sun_path is 108 bytes; ".s.PGSQL.<port>" is appended
_PG_CTL_TIMEOUT_S = 60
_START_ATTEMPTS = 3
_VERSION_IN_PATH = re.compile(r"(?:postgresql[/@-]?)(\d+(?:\.\d+)?)")
_PORT_IN_USE = ("Address already in use", "could not bind", "could not create any TCP/IP sockets")


@dataclass(frozen=True)
class PostgresBinaries:
    """A directory holding initdb, pg_ctl, postgres and psql of one PostgreSQL version."""

    bindir: Path

    def path(self, name: str) -> str:
        """Return the absolute path of one binary in this directory."""
        return str(self.bindir / name)


def version_key(bindir: Path) -> float:
    """Return the PostgreSQL major version a bin directory path names, or 0 when it names none.

    ``/usr/lib/postgresql/15/bin`` -> 15, ``/opt/homebrew/opt/postgresql@16/bin`` -> 16.
    """
    match = _VERSION_IN_PATH.search(str(bindir))
    return float(match.group(1)) if match else 0.0


def order_bindirs(
    on_path: Path | None, pg_config_bindir: Path | None, versioned: Iterable[Path]
) -> list[Path]:
    """Order candidate bin directories: PATH first, then ``pg_config --bindir``, then newest first.

    Duplicates (after resolving symlinks by the caller) are dropped, keeping the first.
    """
    ordered = [p for p in (on_path, pg_config_bindir) if p is not None]
    ordered += sorted(versioned, key=version_key, reverse=True)
    unique: list[Path] = []
    for path in ordered:
        if path not in unique:
            unique.append(path)
    return unique


def _versioned_bindirs() -> list[Path]:
    patterns = (
        "/usr/lib/postgresql/*/bin",  # Debian, Ubuntu
        "/usr/pgsql-*/bin",  # RHEL, Fedora (PGDG)
        "/opt/homebrew/opt/postgresql@*/bin",  # macOS, Apple silicon
        "/usr/local/opt/postgresql@*/bin",  # macOS, Intel
    )
    return [Path(p) for pattern in patterns for p in glob.glob(pattern)]  # noqa: PTH207


def _pg_config_bindir() -> Path | None:
    pg_config = shutil.which("pg_config")
    if pg_config is None:
        return None
    try:
        out = subprocess.run(
            [pg_config, "--bindir"], capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return Path(out).resolve() if out else None


def find_postgres_binaries() -> PostgresBinaries | None:
    """Find a directory with initdb, pg_ctl, postgres and psql, or None when none is installed.

    Looks on PATH (following symlinks, so Debian's /usr/local/bin links count), then at
    ``pg_config --bindir``, then at the versioned install directories, newest version first.
    """
    which = shutil.which("pg_ctl")
    on_path = Path(which).resolve().parent if which else None
    for bindir in order_bindirs(on_path, _pg_config_bindir(), _versioned_bindirs()):
        if all((bindir / name).is_file() for name in _REQUIRED_BINARIES):
            return PostgresBinaries(bindir)
    return None


def relocated_cluster_dir(data_dir: Path) -> Path:
    """The deterministic cluster area used when ``data_dir`` is not reachable by the server user."""
    digest = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:16]
    return RELOCATION_ROOT / f"isr-postgres-{digest}"


def parse_postmaster_pid(text: str) -> tuple[int, int | None]:
    """Return (pid, port) from ``postmaster.pid`` content; port is None until it is written."""
    lines = text.splitlines()
    pid = int(lines[0])
    port = int(lines[3]) if len(lines) > 3 and lines[3].strip().isdigit() else None
    return pid, port


@dataclass(frozen=True)
class ServiceUser:
    """The unprivileged user the server binaries run as (root only)."""

    name: str
    uid: int
    gid: int

    def wrap(self, argv: Sequence[str]) -> list[str]:
        """Return ``argv`` prefixed with ``runuser -u <name> --``."""
        return ["runuser", "-u", self.name, "--", *argv]


def ensure_service_user() -> ServiceUser | None:
    """Return the user to run Postgres as, creating ``isr-postgres`` when needed; None if not root.

    Raises:
        InfraError: running as root but runuser/useradd are missing or useradd failed.
    """
    if os.geteuid() != 0:
        return None
    if shutil.which("runuser") is None:
        raise InfraError("running as root needs runuser (util-linux) to start Postgres as a user")
    for name in (SERVICE_USER, FALLBACK_SERVICE_USER):
        with contextlib.suppress(KeyError):
            entry = pwd.getpwnam(name)
            return ServiceUser(name, entry.pw_uid, entry.pw_gid)
    nologin = shutil.which("nologin") or "/usr/sbin/nologin"
    argv = ["useradd", "--system", "--user-group", "--no-create-home", "--shell", nologin]
    try:
        subprocess.run([*argv, FALLBACK_SERVICE_USER], check=True, capture_output=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        raise InfraError(f"could not create system user {FALLBACK_SERVICE_USER}: {exc}") from exc
    entry = pwd.getpwnam(FALLBACK_SERVICE_USER)
    return ServiceUser(FALLBACK_SERVICE_USER, entry.pw_uid, entry.pw_gid)


class LocalPostgres(StartStopContext):
    """A PostgreSQL cluster in ``data_dir``, started and stopped with pg_ctl.

    ``start()`` runs initdb only when the cluster does not exist yet, so data survives restarts;
    it stops a stale postmaster left by a crashed run first, picks a free port on 127.0.0.1
    (kept across ``restart()``), waits until the server accepts connections and creates
    database ``isr``. Role ``isr`` authenticates with scram-sha-256 over TCP using a generated
    password (registered with ``common.redaction``); the Unix socket uses trust, which is safe
    because its directory is mode 0700 and owned by the server's user.

    ``throwaway=True`` is for tests: trust auth on TCP, durability off (fsync, full page
    writes), and ``stop()`` deletes everything. ``LocalPostgres.temporary()`` makes one in a
    fresh temporary directory.
    """

    def __init__(self, data_dir: Path, *, throwaway: bool = False) -> None:
        self.data_dir = Path(data_dir)
        self.is_throwaway = throwaway
        self._binaries: PostgresBinaries | None = None
        self._user: ServiceUser | None = None
        self._cluster_dir: Path | None = None
        self._socket_dir: Path | None = None
        self._port: int | None = None
        self._password: str | None = None
        self._owns_data_dir = False

    @classmethod
    def temporary(cls) -> LocalPostgres:
        """Return a throwaway cluster in a new temporary directory, removed again by ``stop()``."""
        data_dir = Path(tempfile.mkdtemp(prefix="isr-pg-test-"))
        # mkdtemp makes 0700; the server's user must traverse it. Nothing secret lives here.
        data_dir.chmod(0o755)
        instance = cls(data_dir, throwaway=True)
        instance._owns_data_dir = True
        return instance

    # -- public state -------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The TCP port (known after ``start()``)."""
        if self._port is None:
            raise InfraError("the local Postgres has not been started yet")
        return self._port

    @property
    def url(self) -> str:
        """``postgresql://isr:<password>@127.0.0.1:<port>/isr`` (no password when throwaway)."""
        auth = ROLE if self._password is None else f"{ROLE}:{self._password}"
        return f"postgresql://{auth}@{HOST}:{self.port}/{DATABASE}"

    @property
    def cluster_dir(self) -> Path:
        """The cluster area (``data_dir/cluster`` or its relocated twin under /var/tmp)."""
        if self._cluster_dir is not None:
            return self._cluster_dir
        if self.location_path.is_file():
            return Path(self.location_path.read_text(encoding="utf-8").strip())
        return self.data_dir / "cluster"

    @property
    def pgdata(self) -> Path:
        """PGDATA of the cluster."""
        return self.cluster_dir / "data"

    @property
    def log_path(self) -> Path:
        """The server log."""
        return self.cluster_dir / "postgres.log"

    @property
    def password_path(self) -> Path:
        """Where the generated password of role ``isr`` is kept (mode 0600)."""
        return self.data_dir / "password"

    @property
    def location_path(self) -> Path:
        """Present only when the cluster area was relocated; holds its path."""
        return self.data_dir / "location"

    @property
    def is_initialised(self) -> bool:
        """Tell whether initdb has completed for this cluster."""
        return (self.pgdata / "PG_VERSION").is_file()

    @property
    def is_running(self) -> bool:
        """Tell whether a postmaster of this cluster is alive."""
        pid = self._postmaster_pid()
        return pid is not None and _is_postmaster(pid)

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        """Initialise if needed, start the server and create database ``isr``; no-op when running.

        Raises:
            BinaryNotFoundError: no PostgreSQL server binaries are installed.
            StartupError: initdb or pg_ctl failed; the message carries the server log tail.
        """
        if self._port is not None and self.is_running:
            return
        self._prepare()
        self._stop_stale_postmaster()
        if not self.is_initialised:
            self._initdb()
        self._start_server()
        self._ensure_database()

    def stop(self) -> None:
        """Stop the server (``pg_ctl stop -m fast``); a throwaway cluster is also deleted."""
        if self._binaries is not None and self.is_running:
            self._run(
                [
                    self._binaries.path("pg_ctl"), "stop",
                    "-D", str(self.pgdata), "-m", "fast", "-w", "-t", str(_PG_CTL_TIMEOUT_S),
                ],
                what="pg_ctl stop",
            )  # fmt: skip
        if self.is_throwaway:
            self._remove_everything()

    def restart(self) -> None:
        """Stop and start again on the same port, keeping the data (even when throwaway)."""
        throwaway, self.is_throwaway = self.is_throwaway, False
        try:
            self.stop()
        finally:
            self.is_throwaway = throwaway
        self.start()

    def __repr__(self) -> str:
        where = f"port {self._port}" if self._port is not None else "not started"
        return f"LocalPostgres({str(self.data_dir)!r}, {where})"

    # -- steps --------------------------------------------------------------------------------

    def _prepare(self) -> None:
        if self._binaries is None:
            binaries = find_postgres_binaries()
            if binaries is None:
                raise BinaryNotFoundError("PostgreSQL server binaries (initdb, pg_ctl)", hint())
            self._binaries = binaries
            self._user = ensure_service_user()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if not self.is_throwaway and self._password is None:
            self._password = _read_or_create_password(self.password_path)
            register_secret(self._password)
        area = self._cluster_dir = self._choose_cluster_dir()
        area.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._give(area)
        self._socket_dir = self._choose_socket_dir(area)
        self._socket_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._give(self._socket_dir)

    def _choose_cluster_dir(self) -> Path:
        if self.location_path.is_file():
            return Path(self.location_path.read_text(encoding="utf-8").strip())
        preferred = self.data_dir / "cluster"
        if preferred.exists() or self._user is None or self._reachable(self.data_dir):
            return preferred
        relocated = relocated_cluster_dir(self.data_dir)
        self.location_path.write_text(f"{relocated}\n", encoding="utf-8")
        return relocated

    def _choose_socket_dir(self, area: Path) -> Path:
        preferred = area / "run"
        if len(str(preferred)) <= _MAX_SOCKET_PATH - len("/.s.PGSQL.65535"):
            return preferred
        digest = hashlib.sha256(str(area).encode()).hexdigest()[:12]
        return Path(tempfile.gettempdir()) / f"isr-pg-{digest}"

    def _reachable(self, path: Path) -> bool:
        assert self._user is not None
        result = subprocess.run(
            self._user.wrap(["test", "-x", str(path)]), capture_output=True, check=False, cwd="/"
        )
        return result.returncode == 0

    def _stop_stale_postmaster(self) -> None:
        pid = self._postmaster_pid()
        if pid is None:
            return
        if not _is_postmaster(pid):
            # The pid was reused by an unrelated process; never signal it. Postgres would refuse
            # to start while the lock file names a live pid, so drop the stale lock file.
            (self.pgdata / "postmaster.pid").unlink(missing_ok=True)
            return
        assert self._binaries is not None
        self._run(
            [
                self._binaries.path("pg_ctl"), "stop",
                "-D", str(self.pgdata), "-m", "fast", "-w", "-t", str(_PG_CTL_TIMEOUT_S),
            ],
            what="pg_ctl stop (stale postmaster from an earlier run)",
        )  # fmt: skip

    def _initdb(self) -> None:
        assert self._binaries is not None
        if self.pgdata.exists():
            # An initdb that never completed (no PG_VERSION) leaves a directory initdb refuses.
            shutil.rmtree(self.pgdata)
        argv = [
            self._binaries.path("initdb"),
            "-D", str(self.pgdata),
            "-U", ROLE,
            "-E", "UTF8", "--no-locale",
            "--auth-local=trust",
        ]  # fmt: skip
        if self._password is None:
            self._run([*argv, "--auth-host=trust"], what="initdb")
            return
        pwfile = self.cluster_dir / ".initdb-password"
        fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(self._password + "\n")
        self._give(pwfile)
        try:
            self._run([*argv, "--auth-host=scram-sha-256", f"--pwfile={pwfile}"], what="initdb")
        finally:
            pwfile.unlink(missing_ok=True)

    def _start_server(self) -> None:
        assert self._binaries is not None
        assert self._socket_dir is not None
        last_error: StartupError | None = None
        for _ in range(_START_ATTEMPTS):
            port = self._port if self._port is not None else free_port(HOST)
            options = [
                "-c", f"listen_addresses={HOST}",
                "-c", f"port={port}",
                "-c", f"unix_socket_directories={self._socket_dir}",
            ]  # fmt: skip
            if self.is_throwaway:
                options += ["-c", "fsync=off", "-c", "synchronous_commit=off"]
                options += ["-c", "full_page_writes=off"]
            argv = [
                self._binaries.path("pg_ctl"), "start",
                "-D", str(self.pgdata), "-l", str(self.log_path),
                "-w", "-t", str(_PG_CTL_TIMEOUT_S),
                # pg_ctl hands -o to a shell, so every option is quoted.
                "-o", shlex.join(options),
            ]  # fmt: skip
            try:
                self._run(argv, what="pg_ctl start")
            except StartupError as exc:
                last_error = exc
                if not any(marker in exc.log_tail for marker in _PORT_IN_USE):
                    raise
                self._port = None  # somebody took the port: pick another one
                continue
            self._port = port
            return
        assert last_error is not None
        raise last_error

    def _ensure_database(self) -> None:
        assert self._binaries is not None
        psql = [
            self._binaries.path("psql"),
            "-h", str(self._socket_dir), "-p", str(self.port), "-U", ROLE,
            "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-tA",
        ]  # fmt: skip
        query = f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'"  # noqa: S608 - constant
        exists = self._run([*psql, "-c", query], what="psql").strip() == "1"
        if not exists:
            self._run([*psql, "-c", f'CREATE DATABASE "{DATABASE}"'], what="psql")
        if self._password is not None:
            # The password file is the source of truth, so a replaced or lost file still works.
            # It goes through stdin: a command-line argument would show in `ps`.
            statements = (
                "SET password_encryption = 'scram-sha-256';\n"
                f"ALTER ROLE {ROLE} PASSWORD '{self._password}';\n"
            )
            self._run([*psql, "-f", "-"], what="psql (set password)", stdin_text=statements)

    # -- helpers ------------------------------------------------------------------------------

    def _run(self, argv: list[str], *, what: str, stdin_text: str | None = None) -> str:
        command = self._user.wrap(argv) if self._user is not None else argv
        stdin: dict[str, Any] = (
            {"stdin": subprocess.DEVNULL} if stdin_text is None else {"input": stdin_text}
        )
        try:
            result = subprocess.run(
                command,
                **stdin,
                capture_output=True,
                text=True,
                check=False,
                cwd="/",  # the server's user may not be able to enter our working directory
                start_new_session=True,  # a Ctrl-C in the terminal must not reach the server
                timeout=_PG_CTL_TIMEOUT_S + 30,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise StartupError("postgres", f"{what}: {exc}", tail(self.log_path)) from exc
        if result.returncode != 0:
            output = (result.stderr or result.stdout).strip()
            raise StartupError(
                "postgres", f"{what} exited with {result.returncode}: {output}", tail(self.log_path)
            )
        return result.stdout

    def _give(self, path: Path) -> None:
        if self._user is not None:
            os.chown(path, self._user.uid, self._user.gid)

    def _postmaster_pid(self) -> int | None:
        try:
            pid, _ = parse_postmaster_pid((self.pgdata / "postmaster.pid").read_text())
        except (OSError, ValueError, IndexError):
            return None
        return pid

    def _remove_everything(self) -> None:
        for path in (self._socket_dir, self._cluster_dir):
            if path is not None:
                shutil.rmtree(path, ignore_errors=True)
        if self._owns_data_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)
        self._port = None


def _is_postmaster(pid: int) -> bool:
    if not pid_is_alive(pid):
        return False
    cmdline = Path(f"/proc/{pid}/cmdline")
    if not cmdline.parent.is_dir():
        return True  # no procfs (macOS): trust the lock file, as pg_ctl does
    try:
        return b"postgres" in cmdline.read_bytes()
    except OSError:
        return False


def _read_or_create_password(path: Path) -> str:
    if path.is_file():
        return path.read_text(encoding="utf-8").strip()
    password = secrets.token_urlsafe(24)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(password + "\n")
    return password


def hint(platform: str | None = None, os_release: str | None = None) -> str:
    """One line saying what to install so that a local Postgres (or Docker) can be used.

    ``platform`` defaults to ``sys.platform`` and ``os_release`` to /etc/os-release's content;
    both are parameters so the wording is testable for every platform.
    """
    platform = sys.platform if platform is None else platform
    if os_release is None:
        try:
            os_release = Path("/etc/os-release").read_text(encoding="utf-8")
        except OSError:
            os_release = ""
    tail_text = "or start Docker (with isr-cli[docker] installed), or set ISR_DATABASE_URL"
    if platform == "darwin":
        return f"install PostgreSQL (brew install postgresql@15) {tail_text}"
    release = os_release.lower()
    if "debian" in release or "ubuntu" in release:
        return f"install PostgreSQL (apt-get install postgresql) {tail_text}"
    if any(name in release for name in ("fedora", "rhel", "centos", "rocky", "alma")):
        return f"install PostgreSQL (dnf install postgresql-server) {tail_text}"
    return f"install the PostgreSQL 15+ server binaries (initdb, pg_ctl) {tail_text}"
