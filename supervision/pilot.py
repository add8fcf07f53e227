"""IEC 61851-1 control pilot: classify one measurement (high level, low level, duty) into a state A–F.

The EVSE drives ±12 V through 1 kΩ; the EV loads the positive half with 2.74 kΩ (B), + 1.3 kΩ (C) or
+ 270 Ω (D) behind a diode, so the high level names the state and the low level stays at −12 V while PWM
runs. Bands between two nominal levels belong to no state: such a pilot is out of range (a fault), never
rounded to the nearest state. Band edges follow IEC 61851-1 Annex A (nominal ±1 V; verify against the
edition in force) and are configurable.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass


class PilotState(enum.Enum):
    A = "A"  # +12 V: no vehicle
    B = "B"  # +9 V: vehicle connected, not ready
    C = "C"  # +6 V: ready, energy transfer allowed
    D = "D"  # +3 V: ready, ventilation required
    E = "E"  # 0 V: CP shorted to PE or EVSE supply error
    F = "F"  # −12 V: EVSE not available
    INVALID = "INVALID"  # between bands, or no diode in the vehicle


CONNECTED_STATES = frozenset({PilotState.B, PilotState.C, PilotState.D})


@dataclass(frozen=True)
class PilotBands:
    """Accepted voltage bands (volts, inclusive) per state, and the duty window meaning "digital communication"."""

    a: tuple[float, float] = (11.0, 13.0)
    b: tuple[float, float] = (8.0, 10.0)
    c: tuple[float, float] = (5.0, 7.0)
    d: tuple[float, float] = (2.0, 4.0)
    e: tuple[float, float] = (-1.0, 1.0)
    f: tuple[float, float] = (-13.0, -11.0)
    # A nominal 5 % duty requests ISO 15118 / DIN 70121; the EV side reads 3–7 % as 5 % (IEC 61851-1 Annex A).
    digital_duty_percent: tuple[float, float] = (3.0, 7.0)


@dataclass(frozen=True)
class PilotMeasurement:
    """One reading from the control-pilot front end.

    `duty_percent` is the measured share of the period at the high level: 100 = steady high (no PWM, "X1"),
    0 = steady low; anything strictly between is a running PWM ("X2").
    """

    high_v: float
    low_v: float
    duty_percent: float

    @property
    def pwm_present(self) -> bool:
        return 0.0 < self.duty_percent < 100.0


@dataclass(frozen=True)
class PilotReading:
    """A classified measurement."""

    state: PilotState
    pwm: bool
    duty_percent: float
    digital_communication: bool
    reason: str = ""

    @property
    def name(self) -> str:
        """IEC 61851-1 name with the PWM suffix for B–D (B1 = no PWM, B2 = PWM), else the bare letter."""
        if self.state in CONNECTED_STATES:
            return f"{self.state.value}{2 if self.pwm else 1}"
        return self.state.value


def _within(value: float, band: tuple[float, float]) -> bool:
    return band[0] <= value <= band[1]


def classify(m: PilotMeasurement, bands: PilotBands = PilotBands()) -> PilotReading:
    """Map a measurement to its state; a level outside every band or a missing diode gives INVALID."""
    pwm = m.pwm_present
    digital = pwm and _within(m.duty_percent, bands.digital_duty_percent)
    if not pwm and m.duty_percent <= 0.0:
        # Steady low: only a −12 V level is a state (F); anything else low-only is a broken pilot.
        if _within(m.low_v, bands.f):
            return PilotReading(PilotState.F, False, m.duty_percent, False)
        if _within(m.low_v, bands.e):
            return PilotReading(PilotState.E, False, m.duty_percent, False)
        return PilotReading(PilotState.INVALID, False, m.duty_percent, False, f"steady low level {m.low_v:.2f} V")
    for state, band in ((PilotState.A, bands.a), (PilotState.B, bands.b), (PilotState.C, bands.c),
                        (PilotState.D, bands.d), (PilotState.E, bands.e), (PilotState.F, bands.f)):
        if _within(m.high_v, band):
            break
    else:
        return PilotReading(PilotState.INVALID, pwm, m.duty_percent, digital, f"high level {m.high_v:.2f} V in no band")
    if pwm and state in CONNECTED_STATES and not _within(m.low_v, bands.f):
        # The vehicle's diode keeps the negative half at −12 V; a raised low level means no diode (IEC 61851-1 A.2).
        return PilotReading(PilotState.INVALID, pwm, m.duty_percent, digital, f"low level {m.low_v:.2f} V: no diode")
    return PilotReading(state, pwm, m.duty_percent, digital)
