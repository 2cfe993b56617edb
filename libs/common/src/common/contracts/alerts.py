"""Alerts published on ``<prefix>.events.<server>.alert.<alert type>``."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from common.contracts._base import WireModel


class AlertType(enum.StrEnum):
    """Kinds of alert."""

    UPS_LOW = "ups_low"
    UPS_RECOVERED = "ups_recovered"
    RCON_DOWN = "rcon_down"
    RCON_UP = "rcon_up"
    RCON_AUTH_FAILED = "rcon_auth_failed"
    RCON_STATUS = "rcon_status"
    PATTERNS_INVALID = "patterns_invalid"
    CONFIG_INVALID = "config_invalid"


class Severity(enum.StrEnum):
    """How urgent an alert is."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class Alert(WireModel):
    """A state change worth telling admins about."""

    v: Literal[1] = 1
    """Schema version."""
    kind: Literal["alert"] = "alert"
    """Discriminates alerts from events on the events stream."""
    id: str
    """Stable id, unique per alert occurrence."""
    server: str
    """Server tag (``_system`` for pipeline-wide alerts)."""
    type: AlertType
    """What happened."""
    severity: Severity
    """How urgent."""
    raised_at: datetime
    """When the alert was raised (UTC)."""
    summary: str
    """One line for humans."""
    details: dict[str, Any] = Field(default_factory=dict)
    """Numbers behind the alert (UPS, threshold, downtime_s...)."""
