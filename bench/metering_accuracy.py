"""Energy accuracy of the metering pipeline at the IEC 62053-22 class 0.2S load points, and its CPU cost.

The chip emulator samples at 4 kHz with its front-end gain errors, noise, harmonics and a 25 → 55 °C
temperature ramp; the host pipeline (driver → conditioning with per-installation thermal coefficients →
registers) is calibrated once at 230 V / 32 A. Each point compares the registered energy with the exact
analytic energy of the same interval. Run: python bench/metering_accuracy.py [--seconds 20]
"""
from __future__ import annotations

import argparse
import time

from metering import (Ade9000Driver, ChipEmulator, ConditioningConfig, EmulatorConfig, EmulatorTransport, Harmonic,
                      LoadProfile, SimulatedClock, ThermalCoefficients, analytic_energy_wh, calibrate)
from metering.conditioning import Conditioner

IN_A = 32.0  # In of the EVSE meter (32 A per phase)
V_NOM = 230.0
HARMONICS = (Harmonic(3, 0.02, 0.08, 10.0), Harmonic(5, 0.015, 0.05, -20.0))
POINTS = [(pct, pf, cap) for pct in (1, 5, 10, 100, 120) for pf, cap in ((1.0, False), (0.5, False), (0.8, True))]


def class_02s_limit(pct: float, pf: float) -> float | None:
    """IEC 62053-22 class 0.2S limits, % (facts/metering.md §5.1); None where the standard sets no point."""
    if pf == 1.0:
        return 0.4 if pct < 5 else 0.2
    if pct < 2:
        return None
    return 0.5 if pct < 10 else 0.3


class Rig:
    def __init__(self, sample_rate_hz: float = 4000.0, temp_ramp_s: float = 700.0) -> None:
        self.clock = SimulatedClock()
        self.chip = EmulatorConfig(sample_rate_hz=sample_rate_hz, temp_start_c=25.0, temp_end_c=55.0,
                                   temp_ramp_s=temp_ramp_s)
        self.emulator = ChipEmulator(self.chip, LoadProfile(), clock=self.clock.monotonic)
        self.transport = EmulatorTransport(self.emulator)
        self.driver = Ade9000Driver(self.transport, monotonic=self.clock.monotonic, sleep=self.clock.sleep)
        thermal = ThermalCoefficients(v_ppm_per_k=self.chip.v_drift_ppm_per_k, i_ppm_per_k=self.chip.i_drift_ppm_per_k)
        self.conditioner = Conditioner(ConditioningConfig(thermal=thermal))
        calibrate(self.driver, V_NOM, IN_A,
                  lambda v, i, pf: self.emulator.set_profile(LoadProfile.constant(v_rms=v, i_rms=i, power_factor=pf)), self.clock.sleep)

    def measure(self, profile: LoadProfile, seconds: int) -> tuple[float, float]:
        """(registered Wh, true Wh) over `seconds` after one settling window."""
        self.emulator.set_profile(profile)
        self.clock.advance(1.0)
        self.conditioner.apply(self.driver.poll())
        measured = 0.0
        for _ in range(seconds):
            self.clock.advance(1.0)
            measured += sum(p.energy_wh for p in self.conditioner.apply(self.driver.poll()).phases)
        return measured, analytic_energy_wh(profile, 1.0, 1.0 + seconds)


def cpu_per_simulated_second(sample_rate_hz: float, seconds: int = 20) -> tuple[float, float]:
    """(emulator ms, host pipeline ms) of CPU per simulated second at one sample rate."""
    rig = Rig(sample_rate_hz)
    rig.emulator.set_profile(LoadProfile.constant(i_rms=IN_A, power_factor=0.9, harmonics=HARMONICS))
    rig.clock.advance(1.0)
    rig.driver.poll()
    emulator_cpu = host_cpu = 0.0
    for _ in range(seconds):
        rig.clock.advance(1.0)
        t0 = time.process_time()
        rig.emulator.advance()  # synthesis + chip DSP for the elapsed second
        t1 = time.process_time()
        rig.conditioner.apply(rig.driver.poll())  # frames, CRC, wrap-safe deltas, conditioning
        t2 = time.process_time()
        emulator_cpu += t1 - t0
        host_cpu += t2 - t1
    return 1000 * emulator_cpu / seconds, 1000 * host_cpu / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=20, help="measuring time per load point (default 20)")
    args = parser.parse_args()
    rig = Rig(temp_ramp_s=len(POINTS) * 2 * (args.seconds + 1) + 60)
    print(f"metering accuracy: ADE9000-class emulator at {rig.chip.sample_rate_hz:.0f} Hz, 3 x {V_NOM:.0f} V, "
          f"In = {IN_A:.0f} A, noise {rig.chip.i_noise_rms * 1000:.0f} mA / {rig.chip.v_noise_rms:.2f} V rms, "
          f"3rd+5th harmonics, {rig.chip.temp_start_c:.0f} -> {rig.chip.temp_end_c:.0f} C ramp with installation "
          f"thermal coefficients, calibrated at {V_NOM:.0f} V / {IN_A:.0f} A, {args.seconds} s per point")
    header = f"{'load':>6} {'PF':>8} {'flow':>7} {'I [A]':>7} {'T [C]':>6} {'true [Wh]':>11} {'meas. [Wh]':>11} " \
             f"{'error [%]':>10} {'0.2S [%]':>9}"
    print(header)
    print("-" * len(header))
    worst = 0.0
    for export in (False, True):
        for pct, pf, capacitive in POINTS:
            profile = LoadProfile.constant(v_rms=V_NOM, i_rms=IN_A * pct / 100, power_factor=pf,
                                           capacitive=capacitive, export=export, harmonics=HARMONICS)
            measured, true = rig.measure(profile, args.seconds)
            error = 100.0 * (measured - true) / true
            worst = max(worst, abs(error))
            limit = class_02s_limit(pct, pf)
            pf_text = "1" if pf == 1.0 else f"{pf} {'cap' if capacitive else 'ind'}"
            print(f"{pct:>5}% {pf_text:>8} {'export' if export else 'import':>7} {IN_A * pct / 100:>7.2f} "
                  f"{rig.emulator.temperature_c():>6.1f} {abs(true):>11.4f} {abs(measured):>11.4f} {error:>+10.4f} "
                  f"{'-' if limit is None else f'+/-{limit}':>9}")
    for amps in (0.0, 0.040):
        measured, _ = rig.measure(LoadProfile.constant(v_rms=1.15 * V_NOM, i_rms=amps), 60)
        print(f"creep at 115 % Un, {amps * 1000:.0f} mA for 60 s: {measured * 1e6:.1f} uWh registered")
    for rate in (1000.0, 4000.0):
        emulator_ms, host_ms = cpu_per_simulated_second(rate)
        print(f"CPU per simulated second at {rate:.0f} Hz: emulator {emulator_ms:.2f} ms, host pipeline "
              f"{host_ms:.2f} ms ({1000 / (emulator_ms + host_ms):.0f}x real time)")
    print(f"max |error| = {worst:.4f} %")


if __name__ == "__main__":
    main()
