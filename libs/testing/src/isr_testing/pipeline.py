"""A minimal config directory and service environment for tests and benchmarks."""

from __future__ import annotations

from pathlib import Path


def write_config(config_dir: Path, logs: dict[str, Path], *, log_start: str = "beginning") -> Path:
    """Write a servers.yml with one log-only server (no RCON) per ``tag -> log path``."""
    config_dir.mkdir(parents=True, exist_ok=True)
    entries = "".join(
        f"  {tag}:\n    log_path: {log}\n    log_start: {log_start}\n"
        "    rcon:\n      enabled: false\n"
        for tag, log in logs.items()
    )
    (config_dir / "servers.yml").write_text(f"servers:\n{entries}")
    return config_dir


def service_env(nats_url: str, prefix: str, config_dir: Path, **extra: str) -> dict[str, str]:
    """Environment for ``python -m isr_cli <service>`` isolated under ``prefix``."""
    return {
        "ISR_NATS_URL": nats_url,
        "ISR_PREFIX": prefix,
        "ISR_CONFIG_DIR": str(config_dir),
        "ISR_HEALTH_ENABLED": "false",
        "ISR_LOG_FORMAT": "json",
        **extra,
    }
