"""`isr nats-auth`, the shipped deploy/nats examples, NKey seeds and `isr up`'s secured NATS."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from common import access
from isr_cli.commands.nats_auth import render
from isr_cli.commands.up import ServerSpec, plan_services
from isr_cli.infra.errors import InfraError
from isr_cli.infra.nats import find_nats_server
from isr_cli.infra.nkeys_store import ensure_seeds, public_key
from isr_cli.infra.resolve import secured_config

REPO = Path(__file__).resolve().parents[3]
DEPLOY = REPO / "deploy" / "nats"


def _isr(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "isr_cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )


class TestShippedExamples:
    """deploy/nats/ holds what the renderer makes for prefix isr and server alpha."""

    def test_authorization_conf_is_the_renderers_output(self):
        """Regenerate with `isr nats-auth --servers alpha > deploy/nats/authorization.conf`."""
        shipped = (DEPLOY / "authorization.conf").read_text()
        assert shipped == render("conf", "isr", ["alpha"])

    def test_accounts_conf_is_the_renderers_output(self):
        """Regenerate: `isr nats-auth --servers alpha --account ISR > deploy/nats/accounts.conf`."""
        shipped = (DEPLOY / "accounts.conf").read_text()
        assert shipped == render("conf", "isr", ["alpha"], account="ISR")
        assert "accounts {\n  ISR: {\n    jetstream: enabled\n" in shipped

    def test_nsc_script_is_the_renderers_output(self):
        """Regenerate: `isr nats-auth --servers alpha --format nsc > deploy/nats/nsc-users.sh`."""
        shipped = (DEPLOY / "nsc-users.sh").read_text()
        assert shipped == render("nsc", "isr", ["alpha"])
        assert os.access(DEPLOY / "nsc-users.sh", os.X_OK)

    @pytest.mark.parametrize("shipped", ["authorization.conf", "accounts.conf"])
    def test_nats_server_accepts_the_shipped_config_with_its_keys(
        self, tmp_path: Path, shipped: str
    ):
        """`nats-server -t` loads it once each ISR_NKEY_* holds a public key, and not before."""
        seeds = ensure_seeds(tmp_path, access.identities(["alpha"]))
        env = {access.env_variable(name, "NKEY"): seed.public_key for name, seed in seeds.items()}
        binary = str(find_nats_server())
        conf = str(DEPLOY / shipped)
        ok = subprocess.run([binary, "-t", "-c", conf], env=env, capture_output=True, check=False)
        assert ok.returncode == 0, ok.stderr
        missing = subprocess.run([binary, "-t", "-c", conf], capture_output=True, check=False)
        assert missing.returncode != 0
        assert b"ISR_NKEY_TAILER_ALPHA" in missing.stdout + missing.stderr


class TestCommand:
    """`isr nats-auth` prints the config or script for the servers of servers.yml."""

    def test_servers_come_from_servers_yml(self, tmp_path: Path):
        """A tailer user per configured server, under the prefix from ISR_PREFIX."""
        (tmp_path / "servers.yml").write_text(
            "version: 1\nservers:\n  gamma:\n    log_path: a.log\n    rcon:\n"
            "      enabled: false\n  delta:\n    log_path: b.log\n    rcon:\n      enabled: false\n"
        )
        result = _isr(
            "nats-auth", "--config", str(tmp_path), env={**os.environ, "ISR_PREFIX": "prod"}
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout == render("conf", "prod", ["gamma", "delta"])
        assert "# tailer-delta:" in result.stdout
        assert '"prod.raw.gamma"' in result.stdout

    def test_nsc_and_password_formats(self):
        """--format nsc prints the script; --users password names password variables."""
        nsc = _isr("nats-auth", "--servers", "alpha", "--format", "nsc", "--account", "A")
        assert nsc.returncode == 0
        assert nsc.stdout == render("nsc", "isr", ["alpha"], account="A")
        pw = _isr("nats-auth", "--servers", "alpha", "--users", "password")
        assert "password: $ISR_PASSWORD_TAILER_ALPHA" in pw.stdout

    def test_bad_server_tag_and_missing_config_are_one_line(self, tmp_path: Path):
        """A tag that is no subject token exits 2; an invalid config directory exits 1."""
        bad = _isr("nats-auth", "--servers", "a.b")
        assert bad.returncode == 2
        assert "not a valid NATS subject token" in bad.stderr
        missing = _isr("nats-auth", "--config", str(tmp_path / "nope"))
        assert missing.returncode == 1
        assert "invalid configuration" in missing.stderr


class TestSeeds:
    """Per-identity NKey seeds under the state directory."""

    def test_made_private_and_reused(self, tmp_path: Path):
        """0600 files in a 0700 directory; the same seeds at the next start; new ones added."""
        directory = tmp_path / "nats-auth"
        first = ensure_seeds(directory, ["parser", "tailer-alpha"])
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
        for identity in first.values():
            assert stat.S_IMODE(identity.seed_file.stat().st_mode) == 0o600
            seed = identity.seed_file.read_bytes().strip()
            assert seed.startswith(b"SU")
            assert public_key(seed) == identity.public_key
        again = ensure_seeds(directory, ["parser", "tailer-alpha", "tailer-beta"])
        assert again["parser"] == first["parser"]
        assert again["tailer-alpha"] == first["tailer-alpha"]
        assert again["tailer-beta"].public_key not in {i.public_key for i in first.values()}

    def test_a_damaged_seed_is_named_not_replaced(self, tmp_path: Path):
        """A file that is no user seed stops the start; it is left for the user to look at."""
        (tmp_path / "parser.nk").write_text("not a seed\n")
        with pytest.raises(InfraError, match=r"parser\.nk is not an NKey user seed"):
            ensure_seeds(tmp_path, ["parser"])
        assert (tmp_path / "parser.nk").read_text() == "not a seed\n"

    def test_secured_config_names_every_identity_by_its_key(self, tmp_path: Path):
        """Isr up's config: each identity's public key, and a seed file for each."""
        text, seed_files = secured_config("isr", ["alpha"], tmp_path)
        assert set(seed_files) == set(access.identities(["alpha"]))
        for path in seed_files.values():
            key = public_key(path.read_bytes().strip())
            assert f'nkey: "{key}"' in text


class TestPlan:
    """Which identity each `isr up` child gets."""

    SERVERS = (ServerSpec("alpha", is_simulated=True, has_rcon=True),)

    def _plan(self, seeds, environ):
        return {
            p.name: p.env
            for p in plan_services(
                self.SERVERS,
                environ=environ,
                nats_url="nats://127.0.0.1:1",
                database_url="postgresql://x",
                config_dir=Path("config"),
                health_ports=iter(range(9000, 9100)),
                nats_seed_files=seeds,
            ).processes
        }

    def test_each_child_gets_its_own_seed_and_no_user_identity(self):
        """Tailer, parser, persistence, poller, watch: their seeds; the simulator none."""
        seeds = {n: Path(f"/s/{n}.nk") for n in access.identities(["alpha"])}
        envs = self._plan(seeds, {"ISR_NATS_USER": "me", "ISR_NATS_TLS_CA_FILE": "/ca"})
        assert envs["tailer:alpha"]["ISR_NATS_NKEY_SEED_FILE"] == "/s/tailer-alpha.nk"
        for name in ("parser", "persistence", "rcon-poller", "watch"):
            assert envs[name]["ISR_NATS_NKEY_SEED_FILE"] == f"/s/{name}.nk"
        assert "ISR_NATS_NKEY_SEED_FILE" not in envs["sim:alpha"]
        for env in envs.values():
            assert "ISR_NATS_USER" not in env
            assert "ISR_NATS_TLS_CA_FILE" not in env

    def test_the_users_nats_settings_pass_through_to_their_server(self):
        """With ISR_NATS_URL (no seeds) the children keep the user's identity and TLS."""
        envs = self._plan(None, {"ISR_NATS_CREDS_FILE": "/me.creds"})
        assert envs["parser"]["ISR_NATS_CREDS_FILE"] == "/me.creds"
        assert "ISR_NATS_NKEY_SEED_FILE" not in envs["parser"]
