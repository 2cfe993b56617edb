"""Every way a service can present itself to NATS, against a real nats-server.

Each identity kind the settings offer (user + password file, NKey seed file, a credentials file
as ``nsc`` writes it, mutual TLS) is proven by connecting through ``connect_nats`` to a
nats-server that requires it; the settings' refusals are checked without a server.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import nats
import nats.errors
import nkeys
import pytest
from pydantic import ValidationError

from common.nats_auth import NatsAuthError, connect_options
from common.redaction import redact_text
from common.runtime import NatsAuthExit, StoppedBeforeStart, connect_nats
from common.settings import NatsSettings
from isr_cli.infra._process import free_port, is_accepting, pdeathsig_preexec, wait_until
from isr_cli.infra.nats import find_nats_server
from isr_testing.waiting import wait_for

pytestmark = pytest.mark.nats


# -- helpers: a nats-server with a config of the test's choosing ------------------------------


class ConfiguredNats:
    """One nats-server child running ``config`` (the port is filled in), stopped on exit."""

    def __init__(self, directory: Path, config: str, *, scheme: str = "nats") -> None:
        self.port = free_port()
        self.scheme = scheme
        conf = directory / "nats.conf"
        conf.write_text(f"listen: 127.0.0.1:{self.port}\n{config}\n", encoding="utf-8")
        self.log = directory / "nats.log"
        self._proc = subprocess.Popen(
            [str(find_nats_server()), "-c", str(conf)],
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            preexec_fn=pdeathsig_preexec(),  # noqa: PLW1509 - only prctl runs before exec
        )
        wait_until(
            lambda: is_accepting("127.0.0.1", self.port),
            timeout_s=10,
            what="the configured nats-server",
            abort=lambda: None if self._proc.poll() is None else self.log.read_text(),
        )

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self._proc.terminate()
        self._proc.wait(10)


@pytest.fixture
def server_dir(tmp_path: Path) -> Path:
    """Where the test's nats-server keeps its config and log."""
    directory = tmp_path / "server"
    directory.mkdir()
    return directory


@pytest.fixture
def secrets_dir(tmp_path: Path) -> Path:
    """A 0700 directory for the test's secret files."""
    directory = tmp_path / "secrets"
    directory.mkdir(mode=0o700)
    return directory


def _secret(directory: Path, name: str, content: str) -> Path:
    path = directory / name
    path.write_text(content, encoding="utf-8")
    path.chmod(0o600)
    return path


async def _round_trip(nc: nats.NATS) -> bytes:
    """Publish and receive one message: the connection really works."""
    sub = await nc.subscribe("auth.check")
    await nc.publish("auth.check", b"hello")
    msg = await sub.next_msg(timeout=5)
    await sub.unsubscribe()
    return msg.data


async def _refused(settings: NatsSettings) -> None:
    """connect_nats keeps retrying a refused identity; a stop ends the wait (exit 0)."""
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(1.5, stop.set)
    with pytest.raises(StoppedBeforeStart):
        await connect_nats(settings, name="refused", stopping=stop)


# -- settings refusals (no server) ------------------------------------------------------------


class TestSettingsRefuse:
    def test_credentials_in_the_url(self) -> None:
        """A password in ISR_NATS_URL is refused: URLs get logged."""
        with pytest.raises(ValidationError, match="must not carry credentials"):
            NatsSettings(url="nats://parser:hunter2@nats:4222")

    def test_credentials_in_any_url_of_a_list(self) -> None:
        """Every URL of a server list is checked, not just the first."""
        with pytest.raises(ValidationError, match="must not carry credentials"):
            NatsSettings(url="nats://a:4222, tls://u:p@b:4222")

    def test_two_identities(self, tmp_path: Path) -> None:
        """A creds file and a user at once is ambiguous and refused."""
        with pytest.raises(ValidationError, match="ISR_NATS_CREDS_FILE and ISR_NATS_USER"):
            NatsSettings(creds_file=tmp_path / "a.creds", user="parser")

    def test_password_without_user(self, tmp_path: Path) -> None:
        """A password with no user to go with it is refused."""
        with pytest.raises(ValidationError, match="need ISR_NATS_USER"):
            NatsSettings(password_file=tmp_path / "pw")

    def test_password_twice(self, tmp_path: Path) -> None:
        """A password from both a file and the environment is refused."""
        with pytest.raises(ValidationError, match="not both"):
            NatsSettings(user="u", password_file=tmp_path / "pw", password="x")

    def test_certificate_without_key(self, tmp_path: Path) -> None:
        """A client certificate without its key is refused."""
        with pytest.raises(ValidationError, match="go together"):
            NatsSettings(tls_cert_file=tmp_path / "c.pem")

    def test_env_password_is_redacted(self) -> None:
        """A password given in the environment is registered with the redactor."""
        NatsSettings(user="u", password="s3cr3t-from-env-value")
        assert "s3cr3t-from-env-value" not in redact_text("login with s3cr3t-from-env-value")


class TestSecretFilesRefuse:
    def test_missing_password_file_is_named(self, tmp_path: Path) -> None:
        """A missing password file is an error naming the variable and the path."""
        settings = NatsSettings(user="u", password_file=tmp_path / "nope")
        with pytest.raises(NatsAuthError, match=r"ISR_NATS_PASSWORD_FILE: .*nope: no such file"):
            connect_options(settings)

    def test_device_is_refused(self) -> None:
        """A device as the password file is refused (bounded reads), not read forever."""
        settings = NatsSettings(user="u", password_file=Path("/dev/zero"))
        with pytest.raises(NatsAuthError, match="ISR_NATS_PASSWORD_FILE: /dev/zero"):
            connect_options(settings)

    def test_empty_password_file(self, secrets_dir: Path) -> None:
        """An empty password file is refused, not sent as an empty password."""
        settings = NatsSettings(user="u", password_file=_secret(secrets_dir, "pw", "\n"))
        with pytest.raises(NatsAuthError, match="is empty"):
            connect_options(settings)

    def test_seed_that_is_not_a_user_seed(self, secrets_dir: Path) -> None:
        """A seed file that holds no NKey user seed is refused before connecting."""
        settings = NatsSettings(nkey_seed_file=_secret(secrets_dir, "seed", "not-a-seed"))
        with pytest.raises(NatsAuthError, match="not an NKey user seed"):
            connect_options(settings)

    def test_bad_ca_file(self, secrets_dir: Path) -> None:
        """A CA file that is not PEM is an error naming ISR_NATS_TLS_CA_FILE."""
        settings = NatsSettings(
            url="tls://127.0.0.1:1", tls_ca_file=_secret(secrets_dir, "ca", "garbage")
        )
        with pytest.raises(NatsAuthError, match=r"ISR_NATS_TLS_CA_FILE: .*not a PEM CA bundle"):
            connect_options(settings)

    async def test_connect_nats_exits_2_naming_the_file(self, tmp_path: Path) -> None:
        """connect_nats exits 2 naming the variable when the creds file is missing."""
        settings = NatsSettings(creds_file=tmp_path / "parser.creds")
        with pytest.raises(NatsAuthExit) as info:
            await connect_nats(settings, name="t")
        assert info.value.code == 2
        assert "ISR_NATS_CREDS_FILE" in str(info.value)


# -- user and password ------------------------------------------------------------------------


class TestUserPassword:
    @pytest.fixture
    def server(self, server_dir: Path) -> Iterator[ConfiguredNats]:
        server = ConfiguredNats(
            server_dir,
            'authorization { users: [ { user: "parser", password: "correct-horse-42" } ] }',
        )
        yield server
        server.stop()

    async def test_password_file_connects(self, server: ConfiguredNats, secrets_dir: Path):
        """User + password file connects; replies come under the identity's inbox prefix."""
        settings = NatsSettings(
            url=server.url,
            user="parser",
            password_file=_secret(secrets_dir, "pw", "correct-horse-42\n"),
        )
        nc = await connect_nats(settings, name="t", identity="parser")
        try:
            assert await _round_trip(nc) == b"hello"
            assert nc.new_inbox().startswith("_INBOX.parser.")
        finally:
            await nc.close()
        assert "correct-horse-42" not in redact_text("password correct-horse-42")

    async def test_wrong_password_is_refused(self, server: ConfiguredNats, secrets_dir: Path):
        """A wrong password never connects (connect_nats retries until stopped)."""
        settings = NatsSettings(
            url=server.url,
            user="parser",
            password_file=_secret(secrets_dir, "pw", "wrong"),
            reconnect_wait_s=0.2,
        )
        await _refused(settings)

    async def test_anonymous_is_refused(self, server: ConfiguredNats):
        """A client without credentials cannot connect to a server that requires them."""
        with pytest.raises((nats.errors.Error, OSError)):
            await nats.connect(server.url, allow_reconnect=False, connect_timeout=2)


# -- NKey seed --------------------------------------------------------------------------------


def _new_keypair(prefix: int) -> nkeys.KeyPair:
    seed = nkeys.encode_seed(os.urandom(32), prefix)
    return nkeys.from_seed(bytearray(seed))


class TestNKeySeed:
    async def test_seed_file_connects_and_another_seed_does_not(
        self, server_dir: Path, secrets_dir: Path
    ):
        """The configured NKey's seed connects; another user's seed is refused."""
        user = _new_keypair(nkeys.PREFIX_BYTE_USER)
        stranger = _new_keypair(nkeys.PREFIX_BYTE_USER)
        server = ConfiguredNats(
            server_dir, f'authorization {{ users: [ {{ nkey: "{user.public_key.decode()}" }} ] }}'
        )
        try:
            good = NatsSettings(
                url=server.url,
                nkey_seed_file=_secret(secrets_dir, "parser.nk", user.seed.decode() + "\n"),
            )
            nc = await connect_nats(good, name="t")
            try:
                assert await _round_trip(nc) == b"hello"
            finally:
                await nc.close()
            bad = NatsSettings(
                url=server.url,
                nkey_seed_file=_secret(secrets_dir, "stranger.nk", stranger.seed.decode()),
                reconnect_wait_s=0.2,
            )
            await _refused(bad)
        finally:
            server.stop()


# -- credentials file (decentralised JWT auth, as nsc makes it) ------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _jwt(issuer: nkeys.KeyPair, subject: str, name: str, nats_claims: dict[str, object]) -> str:
    """A NATS JWT (ed25519-nkey), the format nsc writes, signed by ``issuer``."""
    header = _b64(json.dumps({"typ": "JWT", "alg": "ed25519-nkey"}).encode())
    claims: dict[str, object] = {
        "iat": int(time.time()),
        "iss": issuer.public_key.decode(),
        "name": name,
        "sub": subject,
        "nats": {**nats_claims, "version": 2},
    }
    claims["jti"] = base64.b32encode(hashlib.sha256(json.dumps(claims).encode()).digest()).decode()
    body = _b64(json.dumps(claims).encode())
    signature = _b64(issuer.sign(f"{header}.{body}".encode()))
    return f"{header}.{body}.{signature}"


def _creds_file(user_jwt: str, seed: bytes) -> str:
    return (
        "-----BEGIN NATS USER JWT-----\n"
        f"{user_jwt}\n"
        "------END NATS USER JWT------\n\n"
        "************************* IMPORTANT *************************\n"
        "NKEY Seed printed below can be used to sign and prove identity.\n\n"
        "-----BEGIN USER NKEY SEED-----\n"
        f"{seed.decode()}\n"
        "------END USER NKEY SEED------\n"
    )


class TestCredsFile:
    async def test_creds_file_connects_with_its_permissions(
        self, server_dir: Path, secrets_dir: Path
    ):
        """A user JWT signed by an account the operator-mode server trusts; its permissions hold."""
        operator = _new_keypair(nkeys.PREFIX_BYTE_OPERATOR)
        account = _new_keypair(nkeys.PREFIX_BYTE_ACCOUNT)
        user = _new_keypair(nkeys.PREFIX_BYTE_USER)
        operator_jwt = _jwt(operator, operator.public_key.decode(), "isr-op", {"type": "operator"})
        account_jwt = _jwt(
            operator,
            account.public_key.decode(),
            "ISR",
            {"type": "account", "limits": {"subs": -1, "conn": -1, "data": -1, "payload": -1}},
        )
        user_jwt = _jwt(
            account,
            user.public_key.decode(),
            "parser",
            {
                "type": "user",
                "pub": {"allow": ["auth.check"]},
                "sub": {"allow": ["auth.check", "_INBOX.parser.>"]},
                "subs": -1,
                "data": -1,
                "payload": -1,
            },
        )
        server = ConfiguredNats(
            server_dir,
            f'operator: "{operator_jwt}"\n'
            "resolver: MEMORY\n"
            f'resolver_preload: {{ {account.public_key.decode()}: "{account_jwt}" }}',
        )
        try:
            creds = _secret(secrets_dir, "parser.creds", _creds_file(user_jwt, user.seed))
            settings = NatsSettings(url=server.url, creds_file=creds)
            nc = await connect_nats(settings, name="t")
            try:
                assert await _round_trip(nc) == b"hello"
            finally:
                await nc.close()

            # The JWT's permissions are the server's, not the client's: a publish outside
            # them is refused and reported back to this client as a permissions violation.
            errors: list[str] = []

            async def record(exc: Exception) -> None:
                errors.append(str(exc))

            nc = await nats.connect(server.url, error_cb=record, **connect_options(settings))
            try:
                await nc.publish("isr.rcon.alpha.bot", b"{}")
                await nc.flush()
                await wait_for(lambda: errors, timeout_s=5, what="a permissions violation")
            finally:
                await nc.close()
            assert any("permissions violation" in e.lower() for e in errors), errors
        finally:
            server.stop()


# -- TLS --------------------------------------------------------------------------------------


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA, a server certificate for 127.0.0.1 and a client certificate (openssl)."""
    if shutil.which("openssl") is None:
        pytest.fail("the TLS tests need the openssl command (apt install openssl)", pytrace=False)
    d = tmp_path_factory.mktemp("pki")
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-subj", "/CN=isr-test-ca", "-keyout", "ca.key", "-out", "ca.crt", cwd=d)  # fmt: skip
    (d / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for name in ("server", "client"):
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}",
                 "-keyout", f"{name}.key", "-out", f"{name}.csr", cwd=d)  # fmt: skip
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                 "-CAcreateserial", "-days", "2", "-extfile", "san.ext",
                 "-out", f"{name}.crt", cwd=d)  # fmt: skip
    return d


class TestTls:
    @pytest.fixture
    def server(self, server_dir: Path, pki: Path) -> Iterator[ConfiguredNats]:
        server = ConfiguredNats(
            server_dir,
            "tls {\n"
            f'  cert_file: "{pki / "server.crt"}"\n'
            f'  key_file: "{pki / "server.key"}"\n'
            f'  ca_file: "{pki / "ca.crt"}"\n'
            "  verify: true\n"
            "}",
            scheme="tls",
        )
        yield server
        server.stop()

    async def test_mutual_tls_connects(self, server: ConfiguredNats, pki: Path):
        """tls:// with the CA and a client certificate connects to a verify: true server."""
        settings = NatsSettings(
            url=server.url,
            tls_ca_file=pki / "ca.crt",
            tls_cert_file=pki / "client.crt",
            tls_key_file=pki / "client.key",
        )
        nc = await connect_nats(settings, name="t")
        try:
            assert await _round_trip(nc) == b"hello"
        finally:
            await nc.close()

    async def test_without_client_certificate_is_refused(self, server: ConfiguredNats, pki: Path):
        """Without a client certificate a verify: true server refuses the client."""
        await _refused(
            NatsSettings(url=server.url, tls_ca_file=pki / "ca.crt", reconnect_wait_s=0.2)
        )

    async def test_unknown_ca_is_refused(self, server: ConfiguredNats, pki: Path, tmp_path: Path):
        """A server signed by a CA the client does not trust is refused."""
        # The system trust store does not know the test CA, so the server is not trusted.
        await _refused(
            NatsSettings(
                url=server.url,
                tls_cert_file=pki / "client.crt",
                tls_key_file=pki / "client.key",
                reconnect_wait_s=0.2,
            )
        )
