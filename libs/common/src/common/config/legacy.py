"""Where each per-server key of the original bot's ``servers.yml`` lives now.

Used for the hint on an unknown key ("the original bot's stats_interval is now
stats.interval_s") and checked against the mapping table in docs/configuration.md. The
original's keys are listed in shared/research/original-isr.md §3.1; the last group are keys its
docs showed but its code never read.
"""

from __future__ import annotations

ORIGINAL_SERVER_KEYS: dict[str, str] = {
    "rcon_host": "rcon.host",
    "rcon_port": "rcon.port",
    "rcon_password": "rcon.password_env or rcon.password_file",
    "event_channel_id": "channels.default",
    "stats_interval": "stats.interval_s",
    "rcon_status_alert_mode": "alerts.rcon_status_mode",
    "rcon_status_alert_interval": "alerts.rcon_status_interval_s",
    "enable_stats_collector": "stats.enabled",
    "enable_ups_stat": "metrics.ups",
    "enable_evolution_stat": "metrics.evolution",
    "enable_alerts": "alerts.enabled",
    "alert_check_interval": "metrics.interval_s (alerts evaluate every metric sample)",
    "alert_samples_required": "alerts.samples_required",
    "ups_warning_threshold": "alerts.ups_warning_threshold",
    "ups_recovery_threshold": "alerts.ups_recovery_threshold",
    "alert_cooldown": "alerts.cooldown_s",
    "ups_ema_alpha": "alerts.ups_ema_alpha",
    # Shown by the original's docs, never read by its code.
    "alert_channel_id": "channels.alert",
    "status_channel_id": "channels.stats",
    "discord_channel_id": "channels.default",
    "collect_interval_seconds": "metrics.interval_s",
    "alert_cooldown_seconds": "alerts.cooldown_s",
    "rcon_breakdown_mode": "alerts.rcon_status_mode",
    "rcon_breakdown_interval": "alerts.rcon_status_interval_s",
}
"""Original per-server key -> its place in an ISR server entry."""

UNCHANGED_SERVER_KEYS: tuple[str, ...] = ("name", "description", "log_path")
"""Original per-server keys that kept their name and place."""
