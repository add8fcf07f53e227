"""The EV emulator's traction battery: capacity, state of charge, voltage and power/current limits."""
from __future__ import annotations

from iso15118.session.config import BatteryConfig


class Battery:
    def __init__(self, config: BatteryConfig | None = None) -> None:
        self.config = config or BatteryConfig()
        self.soc = self.config.soc  # percent
        self.charged_wh = 0.0
        self.discharged_wh = 0.0

    @property
    def voltage(self) -> float:
        """Open-circuit voltage, linear in SOC around the nominal voltage."""
        c = self.config
        return c.nominal_voltage + c.voltage_swing * (self.soc / 100.0 - 0.5)

    @property
    def energy_wh(self) -> float:
        return self.config.capacity_wh * self.soc / 100.0

    def can_charge(self) -> bool:
        return self.soc < 100.0

    def can_discharge(self) -> bool:
        return self.soc > self.config.min_soc

    def charge_current(self) -> float:
        """Current the battery wants now (>= 0), within its current and power limits."""
        if not self.can_charge():
            return 0.0
        return min(self.config.max_charge_current, self.config.max_charge_power / self.voltage)

    def discharge_current(self) -> float:
        """Current the battery can give now (>= 0), within its limits and above the minimum SOC."""
        if not self.can_discharge():
            return 0.0
        return min(self.config.max_discharge_current, self.config.max_discharge_power / self.voltage)

    def apply(self, energy_wh: float) -> None:
        """Energy into the battery (negative = out of it); SOC stays within 0..100 %."""
        if energy_wh >= 0:
            self.charged_wh += energy_wh
        else:
            self.discharged_wh -= energy_wh
        self.soc = min(100.0, max(0.0, self.soc + 100.0 * energy_wh / self.config.capacity_wh))
