"""The SECC's power electronics as seen by the session: an interface plus a simulated implementation.

The session calls these synchronously while building a response; a hardware implementation returns the last
measured values and commands the converter asynchronously. Signs: positive current/power = energy to the EV
(import from the grid's view of the EV), negative = discharge (BPT export).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from iso15118.session.config import SimulatedChargerConfig


@dataclass(frozen=True)
class Output:
    voltage: float
    current: float
    power_limit_achieved: bool = False
    current_limit_achieved: bool = False
    voltage_limit_achieved: bool = False

    @property
    def power(self) -> float:
        return self.voltage * self.current


class Charger(Protocol):
    def cable_check(self, now: float) -> bool:
        """Run/continue the isolation test; True when finished and passed."""

    def precharge(self, target_voltage: float, max_current: float, now: float) -> float:
        """Drive the output towards `target_voltage` with contactors open; return the present voltage."""

    def close_contactors(self, now: float) -> bool:
        """Close and report whether they are measured closed ([V2G20-858]: else FAILED_ContactorError)."""

    def open_contactors(self, now: float) -> bool: ...

    def deliver_dc(self, ev_voltage: float, target_current: float, max_current: float, max_power: float,
                   now: float) -> Output:
        """Follow `target_current` (negative = discharge) within the limits; the EV battery sets the voltage."""

    def deliver_ac(self, target_power: float, now: float) -> float:
        """Follow `target_power` (negative = discharge); return the present active power."""

    def welding_check(self, now: float) -> float:
        """Discharge the output after opening the contactors; return the present voltage."""

    def energy_wh(self, now: float) -> tuple[float, float]:
        """Cumulative (imported-by-EV, exported-by-EV) energy through this charger in Wh."""


class SimulatedCharger:
    """Power electronics without hardware: ramps, limits and an energy counter integrated over `now`."""

    def __init__(self, config: SimulatedChargerConfig | None = None) -> None:
        self.config = config or SimulatedChargerConfig()
        self.voltage = 0.0
        self.current = 0.0
        self.contactors_closed = False
        self._cable_check_rounds = 0
        self._import_wh = 0.0
        self._export_wh = 0.0
        self._last_now: float | None = None

    def _integrate(self, now: float) -> None:
        if self._last_now is not None and now > self._last_now and self.contactors_closed:
            wh = self.voltage * self.current * (now - self._last_now) / 3600.0
            if wh >= 0:
                self._import_wh += wh
            else:
                self._export_wh -= wh
        self._last_now = now

    def cable_check(self, now: float) -> bool:
        self._integrate(now)
        self._cable_check_rounds += 1
        return self._cable_check_rounds > self.config.cable_check_rounds

    def precharge(self, target_voltage: float, max_current: float, now: float) -> float:
        self._integrate(now)
        step = self.config.precharge_step_v
        self.voltage += max(-step, min(step, target_voltage - self.voltage))
        self.current = 0.0
        return self.voltage

    def close_contactors(self, now: float) -> bool:
        self._integrate(now)
        self.contactors_closed = True
        return True

    def open_contactors(self, now: float) -> bool:
        self._integrate(now)
        self.contactors_closed = False
        self.current = 0.0
        self._cable_check_rounds = 0
        return True

    def deliver_dc(self, ev_voltage: float, target_current: float, max_current: float, max_power: float,
                   now: float) -> Output:
        self._integrate(now)
        self.voltage = ev_voltage
        power_current = max_power / ev_voltage if ev_voltage > 0 else 0.0
        limit = min(max_current, power_current)
        wanted = max(-limit, min(limit, target_current))
        step = self.config.current_step_a
        self.current += max(-step, min(step, wanted - self.current))
        return Output(self.voltage, self.current,
                      power_limit_achieved=power_current < max_current and abs(target_current) > power_current,
                      current_limit_achieved=abs(target_current) > max_current and max_current <= power_current)

    def deliver_ac(self, target_power: float, now: float) -> float:
        self._integrate(now)
        # AC: model the phase voltage as fixed and the current as power / voltage (one equivalent phase).
        self.voltage = 230.0 * 3**0.5 if self.voltage <= 0 else self.voltage
        self.current = target_power / self.voltage
        return self.voltage * self.current

    def welding_check(self, now: float) -> float:
        self._integrate(now)
        self.current = 0.0
        self.voltage *= self.config.welding_decay
        return self.voltage

    def energy_wh(self, now: float) -> tuple[float, float]:
        self._integrate(now)
        return self._import_wh, self._export_wh
