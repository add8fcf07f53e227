"""Configuration: one dataclass per component, loadable from a JSON or TOML file (keys = field names)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from v2gbase import config as base_config

from .tariff import PRICE_ALGORITHMS, decimal_of, exact_rational

SERVICE_IDS = {"ac": 1, "dc": 2, "ac_bpt": 5, "dc_bpt": 6}  # facts §4.1 (ServiceV20)
SERVICE_NAMES = {v: k for k, v in SERVICE_IDS.items()}
CONTROL_MODES = {"scheduled": 1, "dynamic": 2}


class ConfigError(ValueError):
    code = "ERR_CONFIG_INVALID"


@dataclass(frozen=True)
class DcLimits:
    max_charge_power: float = 150_000.0
    min_charge_power: float = 0.0
    max_charge_current: float = 300.0
    min_charge_current: float = 0.0
    max_voltage: float = 920.0
    min_voltage: float = 150.0
    max_discharge_power: float = 50_000.0
    min_discharge_power: float = 0.0
    max_discharge_current: float = 150.0
    min_discharge_current: float = 0.0


@dataclass(frozen=True)
class AcLimits:
    max_charge_power: float = 22_000.0
    min_charge_power: float = 100.0
    max_discharge_power: float = 11_000.0
    min_discharge_power: float = 100.0
    nominal_frequency: float = 50.0
    nominal_voltage: float = 400.0


@dataclass(frozen=True)
class SimulatedChargerConfig:
    cable_check_rounds: int = 2  # CableCheckRes "Ongoing" this many times before "Finished"
    precharge_step_v: float = 150.0  # output voltage moves at most this much per PreChargeReq
    current_step_a: float = 100.0  # output current follows the target at most this much per loop
    welding_decay: float = 0.25  # output voltage is multiplied by this per WeldingDetectionReq


_UINT32 = 4_294_967_295


def _check_rational(where: str, value) -> None:
    try:
        exact_rational(value)
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _check_range(where: str, value, low: int, high: int = _UINT32) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(f"{where}: expected an integer {low}..{high}, got {value!r}")


@dataclass(frozen=True)
class TaxRule:
    """A TaxRule of the AbsolutePriceSchedule; `percent` is the TaxRate (19 = 19 %)."""

    id: int = 1  # TaxRuleID, numericIDType
    name: str = ""
    percent: float = 0.0
    included_in_price: bool = False  # the fees already include this tax (gross prices)
    applies_to_energy: bool = True
    applies_to_parking: bool = False
    applies_to_overstay: bool = False

    def __post_init__(self) -> None:
        _check_range("tax rule id", self.id, 1)
        if len(self.name) > 80:  # nameType
            raise ConfigError(f"tax rule {self.id}: name longer than 80 characters")
        _check_rational(f"tax rule {self.id} percent", self.percent)
        if not 0 <= decimal_of(self.percent) <= 100:
            raise ConfigError(f"tax rule {self.id}: percent must be 0..100")


@dataclass(frozen=True)
class OverstayRule:
    """An OverstayRule: `fee` per commenced `period_s` from `start_s` after the tariff's overstay threshold."""

    fee: float = 0.0
    period_s: int = 60
    start_s: int = 0
    description: str = ""

    def __post_init__(self) -> None:
        _check_rational("overstay fee", self.fee)
        _check_range("overstay period_s", self.period_s, 1)
        _check_range("overstay start_s", self.start_s, 0)
        if len(self.description) > 160:  # descriptionType
            raise ConfigError("overstay rule description longer than 160 characters")


@dataclass(frozen=True)
class Tariff:
    """What the SECC charges, offered as an AbsolutePriceSchedule and accounted in Receipts
    (iso15118.session.tariff documents how amounts are computed and rounded). Prices are exact decimals with at
    most 4 significant digits (RationalNumber: int16 x 10^n), e.g. 0.39 or 0.3949."""

    currency: str = "EUR"  # currencyType, <= 3 characters (ISO 4217 code)
    decimals: int = 2  # the currency's minor unit (ISO 4217): Receipt amounts are rounded to 10^-decimals
    language: str = "eng"  # languageType, <= 3 characters
    price_algorithm: str = PRICE_ALGORITHMS[0]
    price_schedule_id: int = 1
    description: str = ""
    energy_price: float = 0.0  # per kWh charged (imported by the EV)
    export_credit: float | None = None  # per kWh discharged by the EV (BPT), credited
    parking_fee: float | None = None  # occupancy fee per commenced parking_fee_period_s
    parking_fee_period_s: int = 60  # 60: per minute, 3600: per hour
    overstay_after_s: int = 0  # OverstayTimeThreshold: overstay fees run from this long after the TimeAnchor
    overstay_rules: tuple[OverstayRule, ...] = ()
    tax_rules: tuple[TaxRule, ...] = ()

    def __post_init__(self) -> None:
        if not 1 <= len(self.currency) <= 3 or len(self.language) > 3:
            raise ConfigError("tariff: currency must have 1..3 characters, language at most 3")
        _check_range("tariff decimals", self.decimals, 0, 4)
        if self.price_algorithm not in PRICE_ALGORITHMS:
            raise ConfigError(f"tariff: price_algorithm must be one of {', '.join(PRICE_ALGORITHMS)}")
        _check_range("tariff price_schedule_id", self.price_schedule_id, 1)
        if len(self.description) > 160:
            raise ConfigError("tariff: description longer than 160 characters")
        for name in ("energy_price", "export_credit", "parking_fee"):
            if getattr(self, name) is not None:
                _check_rational(f"tariff {name}", getattr(self, name))
        _check_range("tariff parking_fee_period_s", self.parking_fee_period_s, 1)
        _check_range("tariff overstay_after_s", self.overstay_after_s, 0)
        if len(self.overstay_rules) > 5:  # OverstayRuleListType
            raise ConfigError("tariff: at most 5 overstay rules")
        if len(self.tax_rules) > 10:  # TaxRuleListType
            raise ConfigError("tariff: at most 10 tax rules")
        if len({rule.id for rule in self.tax_rules}) != len(self.tax_rules):
            raise ConfigError("tariff: tax rule ids must be unique")


@dataclass(frozen=True)
class SeccConfig:
    evse_id: str = "DE*V2G*E0001"
    services: tuple[str, ...] = ("dc", "ac", "dc_bpt", "ac_bpt")
    control_modes: tuple[str, ...] = ("scheduled", "dynamic")
    auth_services: tuple[str, ...] = ("EIM", "PnC")
    certificate_installation: bool = False
    eim_ongoing_rounds: int = 0  # AuthorizationRes "Ongoing" this many times (waiting for RFID etc.)
    eim_authorized: bool = True
    schedule_ongoing_rounds: int = 0
    service_renegotiation: bool = False
    pause_allowed: bool = True
    paused_session_max_s: float = 24 * 3600.0  # a pause not resumed within this ends the service session
    standby_allowed: bool = True  # PowerDelivery(Standby) [V2G20-2193]; False -> WARNING_StandbyNotAllowed
    metering_confirmation: bool = True  # ask the EV for a MeteringConfirmation once per session
    metering_confirmation_after_loops: int = 3
    receipts: bool = True  # with a tariff: a Receipt with every MeterInfo of the charge loop
    # What the SECC charges: offered as an AbsolutePriceSchedule in ScheduleExchangeRes (in place of the flat
    # PriceLevelSchedule) and accounted in Receipts. None: no tariff, no Receipt.
    tariff: Tariff | None = None
    # Without a tariff: a flat one-level PriceLevelSchedule in each ChargingSchedule. Optional in the XSD;
    # Josev 0.31.2's EVCC refuses a ScheduleExchangeRes without a price schedule.
    flat_price_level_schedule: bool = True
    dynamic_setpoints: tuple[tuple[float, float], ...] = ((2.0, 40_000.0), (1e9, -20_000.0))  # (until s, W)
    dc: DcLimits = field(default_factory=DcLimits)
    ac: AcLimits = field(default_factory=AcLimits)
    charger: SimulatedChargerConfig = field(default_factory=SimulatedChargerConfig)
    meter_id: str = "SIM-METER-1"
    # adapter settings
    interface: str = "lo"
    port: int = 0  # 0: any free port, announced by SDP
    tls: bool = True
    pki_dir: str | None = None
    sessions: int | None = None  # stop after this many sessions


@dataclass(frozen=True)
class BatteryConfig:
    capacity_wh: float = 60_000.0
    soc: float = 30.0
    target_soc: float = 80.0
    min_soc: float = 20.0
    nominal_voltage: float = 400.0
    voltage_swing: float = 60.0  # open-circuit voltage from nominal - swing/2 (0 %) to + swing/2 (100 %)
    max_charge_power: float = 100_000.0
    max_discharge_power: float = 30_000.0
    max_charge_current: float = 250.0
    max_discharge_current: float = 100.0
    max_voltage: float = 480.0
    min_voltage: float = 300.0


@dataclass(frozen=True)
class EvConfig:
    evcc_id: str = "WMIV1234567890ABCDEX"
    service: str = "dc"
    auth: str = "eim"
    mode: str = "scheduled"
    charge_loops: int = 20
    discharge_loops: int = 10  # BPT only: after charging, this many loops exporting energy
    meter_info_requested: bool = True
    metering_confirmation: bool = True
    # A Receipt that does not match the offered prices and its MeterInfo is always reported in the summary;
    # True: the EV also refuses to sign it into a MeteringConfirmation and stops the session (ERR_RECEIPT_MISMATCH).
    reject_bad_receipts: bool = False
    stop_with: str = "Terminate"  # or "Pause"
    standby_loops: int = 0  # > 0: halfway through charging, PowerDelivery(Standby) for this many loops
    renegotiate_after_loops: int = 0  # > 0: schedule renegotiation on side stream 0x8101 after this many loops
    follow_renegotiation_requests: bool = True  # False: ignore EVSENotification=ScheduleRenegotiation (tests)
    # After the first charging phase: SessionStop(ServiceRenegotiation), ServiceDiscovery again and a second
    # phase, if the SECC's first ServiceDiscoveryRes said ServiceRenegotiationSupported [V2G20-1969], [V2G20-1643]
    service_renegotiation: bool = False
    resume_session_id: str | None = None  # hex; SessionSetupReq with this id resumes a paused session
    offer_protocols: tuple[str, ...] = ()  # extra namespaces to offer in SupportedAppProtocolReq
    only_protocols: tuple[str, ...] = ()  # if set, offer exactly these namespaces (fallback tests)
    loop_period: float = 0.1  # seconds between charge-loop requests (<= 0.25 s, [V2G20-1499])
    precharge_tolerance_v: float = 20.0  # |EVSE output - battery| that ends DC precharge
    # Scripted faults, each applied once at the first request of that name (see iso15118.evcc.faults):
    # "late:<Req>:<seconds>", "wrong-sequence:<Req>", "drop-tcp:<Req>", "bad-signature:<Req>"
    faults: tuple[str, ...] = ()
    battery: BatteryConfig = field(default_factory=BatteryConfig)
    # adapter settings
    interface: str = "lo"
    tls: bool = True
    pki_dir: str | None = None
    trust: tuple[str, ...] = ()


T = TypeVar("T")


def from_dict(cls: type[T], data: dict[str, Any]) -> T:
    """Build config dataclass `cls` from a mapping (nested dataclasses from tables, tuples from arrays where the
    field is a tuple); unknown keys fail with ConfigError."""
    return base_config.from_dict(cls, data, ConfigError)


def load_config(cls: type[T], path: str | Path) -> T:
    """`cls` from a .toml file, else a JSON file; a syntax error or unknown key is a ConfigError."""
    return base_config.load_dataclass(cls, path, ConfigError)
