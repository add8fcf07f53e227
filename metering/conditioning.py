"""Signal conditioning between the chip and the registers: phase invert, thermal compensation, dead-band,
and the reversed-CT diagnostic."""
from __future__ import annotations

from dataclasses import dataclass, field

from metering.driver import ChipSample, PhaseSample

CT_REVERSED = "METER_CT_REVERSED"


@dataclass(frozen=True)
class ThermalCoefficients:
    """Per-installation gain drift of each phase's voltage and current path, from the thermal characterisation."""

    reference_c: float = 25.0
    v_ppm_per_k: tuple[float, float, float] = (0.0, 0.0, 0.0)
    i_ppm_per_k: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def factors(self, phase: int, temperature_c: float) -> tuple[float, float]:
        dt = temperature_c - self.reference_c
        return (1.0 / (1.0 + self.v_ppm_per_k[phase] * 1e-6 * dt),
                1.0 / (1.0 + self.i_ppm_per_k[phase] * 1e-6 * dt))


@dataclass(frozen=True)
class ConditioningConfig:
    deadband_a: float = 0.05  # currents below 50 mA never reach the registers (no creep)
    phase_invert: tuple[bool, bool, bool] = (False, False, False)  # CT mounted backwards, fixed in software
    thermal: ThermalCoefficients = field(default_factory=ThermalCoefficients)
    reversed_ct_w: float = 50.0  # a phase this far negative while the others charge is a reversed CT


@dataclass(frozen=True)
class Diagnostic:
    code: str
    message: str
    phase: int


class Conditioner:
    """Stateful: thermal compensation uses the mean temperature of the window, the dead-band the currents at
    both ends of it (a load switched off mid-window still books its energy)."""

    def __init__(self, config: ConditioningConfig) -> None:
        self.config = config
        self._last: ChipSample | None = None

    def apply(self, sample: ChipSample) -> ChipSample:
        c = self.config
        previous = self._last
        temperature = sample.temperature_c if previous is None else 0.5 * (sample.temperature_c + previous.temperature_c)
        phases = []
        for p, raw in enumerate(sample.phases):
            sign = -1.0 if c.phase_invert[p] else 1.0
            kv_now, ki_now = c.thermal.factors(p, sample.temperature_c)
            kv_win, ki_win = c.thermal.factors(p, temperature)
            current = raw.i_rms * ki_now
            earlier_current = current if previous is None else previous.phases[p].i_rms * ki_win
            live = current >= c.deadband_a
            booked = live or earlier_current >= c.deadband_a
            phases.append(PhaseSample(
                v_rms=raw.v_rms * kv_now,
                i_rms=current if live else 0.0,
                power_w=sign * raw.power_w * kv_now * ki_now if live else 0.0,
                energy_wh=sign * raw.energy_wh * kv_win * ki_win if booked else 0.0,
                var=sign * raw.var * kv_now * ki_now if live else 0.0,
                reactive_varh=sign * raw.reactive_varh * kv_win * ki_win if booked else 0.0,
            ))
        self._last = sample
        return ChipSample(mono=sample.mono, elapsed_s=sample.elapsed_s, phases=tuple(phases),
                          temperature_c=sample.temperature_c, config_changed=sample.config_changed)

    def diagnose(self, sample: ChipSample, charging: bool | None = None) -> list[Diagnostic]:
        """`negative power while charging`: a phase exports while the vehicle charges (the others import, or
        the session says it charges)."""
        powers = [phase.power_w for phase in sample.phases]
        diagnostics = []
        for p, power in enumerate(powers):
            others = sum(powers) - power
            is_charging = charging if charging is not None else others > self.config.reversed_ct_w
            if is_charging and power < -self.config.reversed_ct_w:
                diagnostics.append(Diagnostic(
                    code=CT_REVERSED, phase=p,
                    message=f"negative power while charging on phase L{p + 1} ({power:.0f} W): "
                            "CT reversed? check its orientation or set phase_invert"))
        return diagnostics
