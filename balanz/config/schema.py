"""The configuration as typed, immutable data.

Section and key names mirror the TOML file one to one (``config.allocator.min_allocation_a`` is
``[allocator] min_allocation_a``), because the TOML shape is the public interface. Defaults are the ones
documented in ``balanz.toml.example``. The loader fills these classes; nothing else constructs them from
user input.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class ModeConfig:
    kind: str = "csms"
    smart_charging: bool = True


@dataclass(frozen=True, slots=True)
class ServerConfig:
    host: str = "0.0.0.0"
    port: int = 9999
    path_prefix: str = ""
    tls_cert_chain: str = ""
    tls_key: str = ""
    allow_missing_subprotocol: bool = True
    max_frame_kib: int = 1024
    ping_interval_s: float = 20
    ping_timeout_s: float = 60
    charger_stale_s: float = 500
    watchdog_interval_s: float = 100
    call_timeout_s: float = 30


@dataclass(frozen=True, slots=True)
class AuthConfig:
    http_basic: bool = True
    provision_key: bool = True
    provision_delay_s: float = 45
    key_format: str = "hex"
    pending_grace_s: float = 3600


@dataclass(frozen=True, slots=True)
class CsmsConfig:
    heartbeat_interval_s: int = 120
    allow_concurrent_tag: bool = False
    unknown_tags: str = "reject"
    authorize_start: bool = True
    transaction_id_start: int = 1
    transaction_timeout_s: float = 3600
    transaction_check_interval_s: float = 60
    transaction_stale_s: float = 300
    clock_skew_tolerance_s: float = 300


@dataclass(frozen=True, slots=True)
class LcConfig:
    upstream_url: str = ""
    server_charging_call: str = "accept"
    charger_auth: str = "passthrough"
    user_agent: str = ""
    upstream_ca_file: str = ""
    upstream_verify: bool = True
    connect_timeout_s: float = 10
    upstream_answer_timeout_s: float = 15
    upstream_down: str = "island"
    offline_authorization: str = "cache"
    local_transaction_id_base: int = 1_000_000_000
    outbox_max_meter_values: int = 1000
    outbox_max_other: int = 100
    reconnect_initial_s: float = 5
    reconnect_max_s: float = 300
    replay_boot: bool = True
    stop_on_replay_rejection: bool = False
    protect_meter_config: bool = False


@dataclass(frozen=True, slots=True)
class AllocatorConfig:
    run_interval_s: float = 5
    debounce_s: float = 0.2
    first_wait_s: float = 60
    min_allocation_a: int = 6
    default_max_allocation_a: int = 32
    margin_lower_a: float = 0.8
    margin_increase_a: float = 0.6
    usage_threshold_a: float = 2.0
    min_offer_increase_interval_s: float = 115
    max_offer_increase_a: int = 3
    default_priority: int = 1
    wait_after_reduce_s: float = 5
    usage_monitoring_interval_s: float = 300
    suspended_allocation_timeout_s: float = 300
    energy_threshold_wh: float = 1000
    suspended_delayed_time_s: float = 3600
    suspended_delayed_time_not_first_s: float = 21600
    suspend_top_of_hour: bool = True
    schedule_lead_s: float = 60
    quota_mode: str = "cumulative"
    fair_share_energy_quantum_wh: float = 1000
    usage_min_samples: int = 2
    ev_cap_reprobe_s: float = 0
    offline_release_after_s: float = 0
    offline_fallback_a: int = 0
    phase_aware: bool = False
    timezone: str = ""


@dataclass(frozen=True, slots=True)
class ProfilesConfig:
    """Charging-profile settings; a charger's ``profile`` table overrides these key by key."""

    id_base: int = 9100
    stack_level: int = 0
    stack_level_per_connector: bool = False
    kind: str = "absolute"
    start_backdate_s: float = 300
    rate_unit: str = "auto"
    voltage_v: float = 230
    strategy: str = "auto"
    use_connector_zero: bool = False
    idle_limit_a: int = 0
    clear_foreign: bool = True
    clear_before_set: bool = False
    resume_resend: bool = True
    min_interval_s: float = 10
    retry_initial_s: float = 10
    retry_max_s: float = 300
    verify_grace_s: float = 60
    verify_tolerance_a: float = 1.0
    verify_failures_max: int = 3
    verify_trigger: bool = False
    verify_composite: bool = False
    configure_measurands: bool = False
    meter_interval_s: float = 60
    learn_by_model: bool = True
    station_cap: str = "off"


@dataclass(frozen=True, slots=True)
class ModelConfig:
    include: tuple[str, ...] = ()
    charger_autoregister: bool = False
    charger_autoregister_group: str = "Default"


@dataclass(frozen=True, slots=True)
class StoreConfig:
    path: str = "state/balanz.sqlite"


@dataclass(frozen=True, slots=True)
class HistoryConfig:
    minimum_usage_change_a: float = 0.5
    session_retention_days: int = 0


@dataclass(frozen=True, slots=True)
class LoggingConfig:
    level: str = "INFO"
    file: str = ""
    buffer_lines: int = 10000
    audit_retention_days: int = 0
    levels: dict[str, str] = field(default_factory=lambda: {"ocpp": "WARNING"})


@dataclass(frozen=True, slots=True)
class MonitorConfig:
    socket: str = ""
    readonly_socket: str = ""
    readonly_group: str = ""
    snapshot_interval_s: float = 1


@dataclass(frozen=True, slots=True)
class SlotConfig:
    """One ``[[group.slot]]`` table: the structured spelling of one schedule slot."""

    time: str
    quotas: dict[int, int]
    days: str = ""


@dataclass(frozen=True, slots=True)
class GroupConfig:
    id: str
    description: str = ""
    parent: str | None = None
    max_allocation: str | None = None
    slot: tuple[SlotConfig, ...] = ()
    headroom_a: float = 0
    external_fallback_a: int | None = None


@dataclass(frozen=True, slots=True)
class ConnectorConfig:
    id: int
    max_current_a: int | None = None
    priority: int | None = None
    phases: int | None = None
    phase_map: str | None = None


@dataclass(frozen=True, slots=True)
class ChargerLcConfig:
    upstream_password: str = ""
    upstream_url: str = ""


@dataclass(frozen=True, slots=True)
class ChargerConfig:
    id: str
    group: str
    alias: str | None = None
    connectors: int = 1
    max_current_a: int | None = None
    charger_max_a: int | None = None
    priority: int | None = None
    phases: int = 3
    phase_map: str | None = None
    description: str = ""
    smart_charging: bool = True
    lenient_validation: bool = False
    profile: dict[str, Any] = field(default_factory=dict)
    lc: ChargerLcConfig = field(default_factory=ChargerLcConfig)
    connector: tuple[ConnectorConfig, ...] = ()


@dataclass(frozen=True, slots=True)
class TagConfig:
    id: str
    user: str = ""
    parent: str | None = None
    status: str = "Activated"
    priority: int | None = None
    expires: datetime | None = None
    description: str = ""


@dataclass(frozen=True, slots=True)
class FirmwareConfig:
    firmware_id: str
    url: str
    charge_point_vendor: str = ".*"
    charge_point_model: str = ".*"
    firmware_version: str = ""
    meter_type: str = ""
    upgrade_from_versions: str = ".*"


@dataclass(frozen=True, slots=True)
class Config:
    """The whole static setup of one site. ``source`` is the main file (None: built-in default)."""

    mode: ModeConfig = field(default_factory=ModeConfig)
    server: ServerConfig = field(default_factory=ServerConfig)
    auth: AuthConfig = field(default_factory=AuthConfig)
    csms: CsmsConfig = field(default_factory=CsmsConfig)
    lc: LcConfig = field(default_factory=LcConfig)
    allocator: AllocatorConfig = field(default_factory=AllocatorConfig)
    profiles: ProfilesConfig = field(default_factory=ProfilesConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    store: StoreConfig = field(default_factory=StoreConfig)
    history: HistoryConfig = field(default_factory=HistoryConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    monitor: MonitorConfig = field(default_factory=MonitorConfig)
    group: tuple[GroupConfig, ...] = ()
    charger: tuple[ChargerConfig, ...] = ()
    tag: tuple[TagConfig, ...] = ()
    firmware: tuple[FirmwareConfig, ...] = ()
    source: Path | None = None
