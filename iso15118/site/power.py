"""The connector's power stage behind an interlock: a supervision fault trips it and the output stays off.

IEC 61851 / -20 practice (facts iso15118-20 §8.2): on E/F, PWM loss or a lost PLC link the EVSE stops power at
once in hardware, without waiting for the V2G loop. Tripped, every delivery returns zero current until the
next session resets it, so a charge-loop request still in flight cannot switch the output back on.
"""
from __future__ import annotations

from iso15118.secc.charger import Charger, Output


class InterlockedCharger:
    def __init__(self, charger: Charger) -> None:
        self.charger = charger
        self.tripped = False

    def trip(self) -> None:
        self.tripped = True

    def reset(self) -> None:
        self.tripped = False

    def cable_check(self, now: float) -> bool:
        return not self.tripped and self.charger.cable_check(now)

    def precharge(self, target_voltage: float, max_current: float, now: float) -> float:
        return 0.0 if self.tripped else self.charger.precharge(target_voltage, max_current, now)

    def close_contactors(self, now: float) -> bool:
        return not self.tripped and self.charger.close_contactors(now)

    def open_contactors(self, now: float) -> bool:
        return self.charger.open_contactors(now)

    def deliver_dc(self, ev_voltage: float, target_current: float, max_current: float, max_power: float,
                   now: float) -> Output:
        if self.tripped:
            return Output(ev_voltage, 0.0)
        return self.charger.deliver_dc(ev_voltage, target_current, max_current, max_power, now)

    def deliver_ac(self, target_power: float, now: float) -> float:
        return 0.0 if self.tripped else self.charger.deliver_ac(target_power, now)

    def welding_check(self, now: float) -> float:
        return self.charger.welding_check(now)

    def energy_wh(self, now: float) -> tuple[float, float]:
        return self.charger.energy_wh(now)
