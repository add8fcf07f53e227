"""What the EV emulator remembers during one session (and reports in its summary)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from iso15118.session.config import EvConfig

from .battery import Battery


@dataclass
class EvContext:
    config: EvConfig
    battery: Battery
    session_id: bytes = bytes(8)
    namespace: str | None = None
    resumed: bool = False
    gen_challenge: bytes | None = None
    auth_method: str = "EIM"
    contract_installed: bool = False
    parameter_set_id: int | None = None
    schedule_tuple_id: int | None = None
    evse_limits: dict[str, float] = field(default_factory=dict)
    loops: int = 0
    standby_started_at_loop: int | None = None  # loop count when PowerDelivery(Standby) was sent
    standby_done: bool = False
    last_loop_at: float | None = None
    last_power: float = 0.0
    import_wh: float = 0.0
    export_wh: float = 0.0
    precharge_rounds: int = 0
    welding_rounds: int = 0
    last_meter_info: dict[str, Any] | None = None
    price_schedule: dict[str, Any] | None = None  # the AbsolutePriceSchedule offered in ScheduleExchangeRes
    receipts: list[dict[str, Any]] = field(default_factory=list)  # each Receipt as checked (receipts.py)
    renegotiations: int = 0
    service_renegotiation_supported: bool | None = None  # from the first ServiceDiscoveryRes
    service_renegotiations: int = 0
    earlier_loops: int = 0  # charge loops of the phases before a service renegotiation
    metering_confirmations: int = 0
    soc_start: float = 0.0
    response_codes: dict[str, str] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)  # SECC behaviour against the standard, as observed

    @property
    def service(self) -> str:
        return self.config.service

    @property
    def is_dc(self) -> bool:
        return self.config.service.startswith("dc")

    @property
    def is_bpt(self) -> bool:
        return self.config.service.endswith("_bpt")

    @property
    def dynamic(self) -> bool:
        return self.config.mode == "dynamic"

    @property
    def in_standby(self) -> bool:
        return self.standby_started_at_loop is not None and not self.standby_done

    @property
    def discharging(self) -> bool:
        """BPT scheduled: after the charge (and standby) loops the EV exports for `discharge_loops` loops."""
        return self.is_bpt and self.loops >= self.config.charge_loops + self.config.standby_loops

    def account(self, power: float, now: float) -> None:
        """Integrate the power the EVSE reported in the previous loop over the time since then."""
        if self.last_loop_at is not None and now > self.last_loop_at:
            wh = self.last_power * (now - self.last_loop_at) / 3600.0
            if wh >= 0:
                self.import_wh += wh
            else:
                self.export_wh -= wh
            self.battery.apply(wh)
        self.last_loop_at = now
        self.last_power = power
