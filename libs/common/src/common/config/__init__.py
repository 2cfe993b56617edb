"""The configuration directory: ``servers.yml`` models, strict loading, reload, validators."""

from common.config.context import (
    CONFIG_DIR_ENV,
    DEFAULT_CONFIG_DIR,
    LoadContext,
    default_config_dir,
)
from common.config.documents import Loc, YamlDocument, format_loc, parse_yaml, read_yaml
from common.config.errors import ConfigError, ConfigIssue
from common.config.issues import issues_from_validation_error
from common.config.loader import SERVERS_FILE, check_config_dir, config_from_document, load_config
from common.config.models import (
    AlertsConfig,
    BridgeConfig,
    CommandCooldown,
    ConfigModel,
    CooldownsConfig,
    DiscordConfig,
    IsrConfig,
    MetricsConfig,
    PermissionsConfig,
    RconConfig,
    ServerConfig,
    SimulatorConfig,
    StatsConfig,
    rule_error,
)
from common.config.registry import (
    ENTRY_POINT_GROUP,
    FileCheck,
    FileValidator,
    discover_validators,
    yaml_model_check,
)
from common.config.report import format_issues, format_summary
from common.config.secrets import SecretFromEnv, SecretFromFile, SecretRef
from common.config.watch import ConfigWatcher

__all__ = [
    "CONFIG_DIR_ENV",
    "DEFAULT_CONFIG_DIR",
    "ENTRY_POINT_GROUP",
    "SERVERS_FILE",
    "AlertsConfig",
    "BridgeConfig",
    "CommandCooldown",
    "ConfigError",
    "ConfigIssue",
    "ConfigModel",
    "ConfigWatcher",
    "CooldownsConfig",
    "DiscordConfig",
    "FileCheck",
    "FileValidator",
    "IsrConfig",
    "LoadContext",
    "Loc",
    "MetricsConfig",
    "PermissionsConfig",
    "RconConfig",
    "SecretFromEnv",
    "SecretFromFile",
    "SecretRef",
    "ServerConfig",
    "SimulatorConfig",
    "StatsConfig",
    "YamlDocument",
    "check_config_dir",
    "config_from_document",
    "default_config_dir",
    "discover_validators",
    "format_issues",
    "format_loc",
    "format_summary",
    "issues_from_validation_error",
    "load_config",
    "parse_yaml",
    "read_yaml",
    "rule_error",
    "yaml_model_check",
]
