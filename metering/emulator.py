"""Register-level emulator of the ADE9000-class chip: same frames as the hardware, waveforms from a load profile.

The emulator owns an analog front end (per-phase gain errors, temperature drift, noise, a reversed CT) and the
chip's DSP (calibration gains, RMS with squared offsets, average power, 45-bit energy accumulation at the
chip's 8 kSPS scale, no-load suppression, configuration CRC). Time comes from a clock callable: a
`SimulatedClock` lets tests and the demo run a whole session in milliseconds, `time.monotonic` runs it live.
Before answering a frame, the DSP catches up to the clock, so the driver sees what a real chip would show.

Two fidelities: "waveform" samples v(t), i(t) at 1–4 kHz (numpy) and integrates like the chip;
"analytic" integrates the same model in closed form per step (for long simulated sessions).
"""
from __future__ import annotations

import math
import os
import select
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from metering import ade9000 as reg
from metering.errors import DataCorrupt

TEMP_TRIM_DEFAULT = (4800 << 16) | 8192  # 150 °C at TEMP_RSLT = 0, 1/16 °C per LSB
BLOCK_S = 0.2  # RMS / power / energy update period: 10 cycles at 50 Hz, 12 at 60 Hz (like the chip's 10/12-cycle RMS)
ANALYTIC_BLOCKS_PER_STEP = 50  # closed-form steps of 10 s in simulated sessions
REFERENCE_TEMP_C = 25.0


@dataclass(frozen=True)
class Harmonic:
    order: int
    v_fraction: float  # of the fundamental's rms
    i_fraction: float
    i_angle_deg: float = 0.0  # extra lag of this harmonic current behind its voltage


@dataclass(frozen=True)
class LoadSegment:
    """A balanced three-phase operating point held for `duration_s` (the last segment lasts forever)."""

    duration_s: float = math.inf
    v_rms: float = 230.0
    i_rms: float = 0.0
    power_factor: float = 1.0
    capacitive: bool = False  # current leads the voltage
    export: bool = False  # V2G discharge: power flows from the vehicle to the grid
    frequency_hz: float = 50.0
    harmonics: tuple[Harmonic, ...] = ()

    def current_angle(self) -> float:
        """Angle of the fundamental current relative to the voltage, radians (negative = lagging)."""
        phi = math.acos(max(-1.0, min(1.0, self.power_factor)))
        angle = phi if self.capacitive else -phi
        return angle + (math.pi if self.export else 0.0)


@dataclass(frozen=True)
class LoadProfile:
    segments: tuple[LoadSegment, ...] = (LoadSegment(),)

    @classmethod
    def constant(cls, **kwargs) -> "LoadProfile":
        return cls((LoadSegment(**kwargs),))

    def segment_at(self, t: float) -> tuple[LoadSegment, float, float]:
        """The segment active at time t, with its start and end time."""
        start = 0.0
        for segment in self.segments:
            end = start + segment.duration_s
            if t < end or segment is self.segments[-1]:
                return segment, start, end
            start = end
        raise AssertionError("unreachable")


@dataclass(frozen=True)
class EmulatorConfig:
    sample_rate_hz: float = 4000.0
    fidelity: str = "waveform"  # or "analytic"
    v_full_scale: float = 566.0  # rms at the ADC's full scale (801:1 divider), facts §4.1
    i_full_scale: float = 212.0  # rms at full scale (CT 3000:1, 10 Ω burden)
    v_gain_error: tuple[float, float, float] = (0.012, -0.008, 0.015)
    i_gain_error: tuple[float, float, float] = (-0.021, 0.009, 0.017)
    v_noise_rms: float = 0.05  # volts
    i_noise_rms: float = 0.004  # amperes
    temp_start_c: float = REFERENCE_TEMP_C
    temp_end_c: float = REFERENCE_TEMP_C
    temp_ramp_s: float = 600.0
    v_drift_ppm_per_k: tuple[float, float, float] = (-30.0, -25.0, -35.0)
    i_drift_ppm_per_k: tuple[float, float, float] = (60.0, 55.0, 70.0)
    i_phase_error_deg: tuple[float, float, float] = (0.15, -0.10, 0.12)  # CT phase displacement (lag > 0)
    ct_reversed: tuple[bool, bool, bool] = (False, False, False)
    seed: int = 1

    def __post_init__(self) -> None:
        if not 1000.0 <= self.sample_rate_hz <= 4000.0:
            raise ValueError("sample_rate_hz must be within 1–4 kHz")
        if self.fidelity not in ("waveform", "analytic"):
            raise ValueError("fidelity is 'waveform' or 'analytic'")


def _integral_cos(m: int, omega: float, c: float, t0: float, t1: float) -> float:
    if m == 0:
        return (t1 - t0) * math.cos(c)
    return (math.sin(m * omega * t1 + c) - math.sin(m * omega * t0 + c)) / (m * omega)


def _phase_components(segment: LoadSegment, phase: int, i_shift: float = 0.0) -> tuple[list, list]:
    """(order, peak, angle) of the voltage and current components of one phase; `i_shift` advances every
    current component (front-end phase error plus the chip's phase compensation)."""
    theta = -2.0 * math.pi * phase / 3.0
    root2 = math.sqrt(2.0)
    volts = [(1, root2 * segment.v_rms, theta)]
    amps = [(1, root2 * segment.i_rms, theta + segment.current_angle() + i_shift)]
    for h in segment.harmonics:
        volts.append((h.order, root2 * segment.v_rms * h.v_fraction, h.order * theta))
        reverse = math.pi if segment.export else 0.0
        amps.append((h.order, root2 * segment.i_rms * h.i_fraction,
                     h.order * theta - math.radians(h.i_angle_deg) + reverse + i_shift))
    return volts, amps


def phase_energy_ws(segment: LoadSegment, phase: int, t0: float, t1: float, i_shift: float = 0.0,
                    reactive: bool = False) -> float:
    """Exact ∫ v·i dt over [t0, t1] for one phase of a segment (watt-seconds), harmonics included.

    `reactive`: every voltage component delayed by 90° (the chip's reactive-power path), giving var-seconds;
    positive when the current lags (inductive)."""
    omega = 2.0 * math.pi * segment.frequency_hz
    volts, amps = _phase_components(segment, phase, i_shift)
    if reactive:
        volts = [(order, peak, angle - math.pi / 2) for order, peak, angle in volts]
    total = 0.0
    for h, a_peak, a in volts:
        for k, b_peak, b in amps:
            # sin x · sin y = ½ [cos(x − y) − cos(x + y)]
            total += 0.5 * a_peak * b_peak * (
                _integral_cos(h - k, omega, a - b, t0, t1) - _integral_cos(h + k, omega, a + b, t0, t1)
            )
    return total


def analytic_energy_wh(profile: LoadProfile, t0: float, t1: float, reactive: bool = False) -> float:
    """The true three-phase energy delivered over [t0, t1] (positive = import), in Wh; with `reactive`, the
    reactive energy in varh (positive = inductive)."""
    total, t = 0.0, t0
    while t < t1:
        segment, _, end = profile.segment_at(t)
        stop = min(end, t1)
        total += sum(phase_energy_ws(segment, p, t, stop, reactive=reactive) for p in range(3))
        t = stop
    return total / 3600.0


class ChipEmulator:
    """Answers ADE9000 frames (`handle_frame`) from a simulated analog front end and DSP."""

    def __init__(self, config: EmulatorConfig | None = None, profile: LoadProfile | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config or EmulatorConfig()
        self.profile = profile or LoadProfile()
        self._clock = clock
        self._origin = clock()
        self._lock = threading.RLock()
        self._rng = np.random.default_rng(self.config.seed)
        self._sample_index = 0
        self._profile_base = 0  # sample index at which the current profile's time 0 lies
        self._corrupt_next_reads = 0
        self._power_on()

    # ---- lifecycle and fault injection -------------------------------------------------------------------
    def _power_on(self) -> None:
        self._regs: dict[int, int] = {
            reg.CONFIG5: reg.CONFIG5_AFTER_RESET,
            reg.PART_ID: reg.PART_ID_ADE9000,
            reg.VERSION: 0x0040,
            reg.TEMP_TRIM: TEMP_TRIM_DEFAULT,
            reg.ACT_NL_LVL: 0x0000_92A5,
            reg.STATUS1: reg.STATUS1_RSTDONE,
        }
        self._energy = [0.0, 0.0, 0.0]
        self._var_energy = [0.0, 0.0, 0.0]
        self._mean_var = [0.0, 0.0, 0.0]
        self._mean_square = [[0.0, 0.0] for _ in range(3)]  # (v², i²) in code² per phase, last step
        self._mean_power = [0.0, 0.0, 0.0]
        self._block_sums = [[0.0] * 4 for _ in range(3)]  # Σv², Σi², Σv·i, Σv90·i per phase, open block
        self._block_samples = 0
        self._crc = reg.config_crc(self._regs)
        self._regs[reg.CRC_RSLT] = self._crc

    def reset_chip(self) -> None:
        """A power glitch or the RESET pin: every register, energy included, back to its reset value."""
        with self._lock:
            self.advance()
            self._power_on()

    def corrupt_next_reads(self, count: int = 1) -> None:
        """Flip a CRC bit on the next `count` read answers (a disturbed SPI line)."""
        with self._lock:
            self._corrupt_next_reads = count

    def poke(self, address: int, value: int) -> None:
        """Write a register behind the driver's back (tamper or a stray write in tests)."""
        with self._lock:
            self.advance()
            self._write(address, value)

    def set_energy(self, phase: int, value: int) -> None:
        """Preload a phase's 45-bit energy register (e.g. just below its wrap)."""
        with self._lock:
            self.advance()
            self._energy[phase] = float(value)

    def set_profile(self, profile: LoadProfile) -> None:
        """Switch the load from now on (the profile's time 0 becomes the current time)."""
        with self._lock:
            self.advance()
            self.profile = profile
            self._profile_base = self._sample_index

    def elapsed(self) -> float:
        return self._sample_index / self.config.sample_rate_hz

    # ---- frames ------------------------------------------------------------------------------------------
    def handle_frame(self, frame: bytes) -> bytes:
        with self._lock:
            self.advance()
            command = reg.parse_command(frame[:2])
            if len(frame) != 2 + self.frame_length(frame[:2]):
                raise DataCorrupt("frame length does not match its command", length=len(frame))
            if not command.read:
                value = int.from_bytes(frame[2:], "big")
                self._regs[reg.LAST_CMD] = int.from_bytes(frame[:2], "big")
                self._regs[reg.LAST_DATA_16 if reg.register_bits(command.address) == 16 else reg.LAST_DATA_32] = value
                self._write(command.address, value)
                return b""
            value = self._read(command.address)  # before LAST_* change, so they echo the previous frame
            self._regs[reg.LAST_CMD] = int.from_bytes(frame[:2], "big")
            answer = bytearray(reg.read_response(command.address, value))
            width = reg.register_bits(command.address) // 8
            self._regs[reg.LAST_DATA_16 if width == 2 else reg.LAST_DATA_32] = value
            self._regs[reg.CRC_SPI] = int.from_bytes(answer[width:], "big")
            if self._corrupt_next_reads:
                self._corrupt_next_reads -= 1
                answer[-1] ^= 0x01
            return bytes(answer)

    def frame_length(self, command_word: bytes) -> int:
        """Bytes that follow a command word on a byte stream (data of a write, nothing for a read)."""
        command = reg.parse_command(command_word)
        return 0 if command.read else reg.register_bits(command.address) // 8

    def _write(self, address: int, value: int) -> None:
        if address == reg.STATUS1 or address == reg.STATUS0:
            self._regs[address] = self._regs.get(address, 0) & ~value  # write 1 to clear
            return
        if address == reg.CONFIG1 and value & reg.CONFIG1_SWRST:
            self._power_on()
            return
        if address in (reg.CRC_RSLT, reg.PART_ID, reg.VERSION, reg.CONFIG5, reg.TEMP_RSLT):
            return  # read-only
        self._regs[address] = value
        if address in reg.CONFIG_CRC_REGISTERS:
            crc = reg.config_crc(self._regs)
            if crc != self._crc:
                self._crc = crc
                self._regs[reg.CRC_RSLT] = crc
                self._regs[reg.STATUS1] = self._regs.get(reg.STATUS1, 0) | reg.STATUS1_CRC_CHG

    def _read(self, address: int) -> int:
        for phase in range(3):
            step = phase * reg.PHASE_STEP
            if address == reg.AVRMS + step:
                return self._rms_code(phase, 0)
            if address == reg.AIRMS + step:
                return self._rms_code(phase, 1)
            if address == reg.AWATT + step:
                return round(self._mean_power[phase]) & 0xFFFFFFFF
            if address == reg.AVAR + step:
                return round(self._mean_var[phase]) & 0xFFFFFFFF
            energy_step = phase * reg.ENERGY_PHASE_STEP
            for hi, lo, register in ((reg.AWATTHR_HI, reg.AWATTHR_LO, self._energy),
                                     (reg.AVARHR_HI, reg.AVARHR_LO, self._var_energy)):
                accumulated = math.floor(register[phase]) & ((1 << 45) - 1)
                if address == hi + energy_step:
                    return accumulated >> reg.ENERGY_LO_BITS
                if address == lo + energy_step:
                    return accumulated & ((1 << reg.ENERGY_LO_BITS) - 1)
        if address == reg.TEMP_RSLT:
            return self._temp_code()
        if address == reg.PHSIGN:
            return sum(1 << (2 * p) for p in range(3) if self._mean_power[p] < 0)
        return self._regs.get(address, 0)

    def _rms_code(self, phase: int, channel: int) -> int:
        offset_reg = (reg.AVRMSOS if channel == 0 else reg.AIRMSOS) + phase * reg.PHASE_STEP
        # The RMS offset register is added to the squared RMS (units: code²), as on the chip.
        squared = self._mean_square[phase][channel] + reg.to_signed(self._regs.get(offset_reg, 0), 32)
        return min(round(math.sqrt(max(0.0, squared))), 0x7FFFFFFF)

    # ---- analog front end and DSP ----------------------------------------------------------------------
    def temperature_c(self, t: float | None = None) -> float:
        c = self.config
        t = self.elapsed() if t is None else t
        fraction = min(1.0, t / c.temp_ramp_s) if c.temp_ramp_s > 0 else 1.0
        return c.temp_start_c + (c.temp_end_c - c.temp_start_c) * fraction

    def _temp_code(self) -> int:
        gain, offset = TEMP_TRIM_DEFAULT & 0xFFFF, TEMP_TRIM_DEFAULT >> 16
        return max(0, round((offset / 32 - self.temperature_c()) * (1 << 17) / gain))

    def _front_end_gains(self, phase: int, t: float) -> tuple[float, float]:
        c = self.config
        dt = self.temperature_c(t) - REFERENCE_TEMP_C
        v = (1 + c.v_gain_error[phase]) * (1 + c.v_drift_ppm_per_k[phase] * 1e-6 * dt)
        i = (1 + c.i_gain_error[phase]) * (1 + c.i_drift_ppm_per_k[phase] * 1e-6 * dt)
        return v, (-i if c.ct_reversed[phase] else i)

    def _chip_gains(self, phase: int) -> tuple[float, float, float]:
        step = phase * reg.PHASE_STEP
        return (reg.gain_multiplier(self._regs.get(reg.AVGAIN + step, 0)),
                reg.gain_multiplier(self._regs.get(reg.AIGAIN + step, 0)),
                reg.gain_multiplier(self._regs.get(reg.APGAIN + step, 0)))

    def advance(self) -> None:
        """Run the DSP up to the clock's current time, in steps that never cross a block boundary."""
        with self._lock:
            fs = self.config.sample_rate_hz
            target = math.floor((self._clock() - self._origin) * fs + 1e-6)
            block = round(fs * BLOCK_S)
            blocks_per_step = 1 if self.config.fidelity == "waveform" else ANALYTIC_BLOCKS_PER_STEP
            while self._sample_index < target:
                start = self._sample_index
                if start % block:
                    end = min(target, (start // block + 1) * block)  # finish the open block first
                else:
                    end = min(target, start + blocks_per_step * block)
                    if end - start > block:
                        end -= end % block  # whole blocks; the remainder opens the next block
                _, _, seg_end = self.profile.segment_at((start - self._profile_base) / fs)
                if math.isfinite(seg_end):
                    end = min(end, max(math.ceil(seg_end * fs) + self._profile_base, start + 1))
                self._step(start, end)
                self._sample_index = end
                if end % block == 0:
                    self._publish_block()

    def _step(self, start: int, end: int) -> None:
        """Integrate [start, end) samples of the front-end signals into the open block."""
        fs = self.config.sample_rate_hz
        base = self._profile_base
        t0, t1 = (start - base) / fs, (end - base) / fs
        segment, _, _ = self.profile.segment_at(t0)
        c = self.config
        n = end - start
        for phase in range(3):
            fe_v, fe_i = self._front_end_gains(phase, 0.5 * (start + end) / fs)
            shift = reg.phase_correction(self._regs.get(reg.APHCAL0 + phase * reg.PHASE_STEP, 0)) \
                - math.radians(c.i_phase_error_deg[phase])
            if c.fidelity == "waveform":
                means = self._sampled(segment, phase, start - base, end - base, fe_v, fe_i, shift)
            else:
                means = self._closed_form(segment, phase, t0, t1, fe_v, fe_i, shift)
            sums = self._block_sums[phase]
            for k in range(4):
                sums[k] += means[k] * n
        self._block_samples += n

    def _publish_block(self) -> None:
        """End of a block: update RMS and power registers, and add the block's energy unless it is no-load
        (the chip decides no-load over a window too, so energy reaches the register in block steps)."""
        n, self._block_samples = self._block_samples, 0
        sums, self._block_sums = self._block_sums, [[0.0] * 4 for _ in range(3)]
        if n == 0 or self._regs.get(reg.RUN, 0) != 1:
            return
        c = self.config
        v_code = reg.RMS_FULL_SCALE / c.v_full_scale
        i_code = reg.RMS_FULL_SCALE / c.i_full_scale
        watt_code = reg.WATT_FULL_SCALE / (c.v_full_scale * c.i_full_scale)
        no_load = self._regs.get(reg.ACT_NL_LVL, 0) & 0xFFFFFF
        accumulate = self._regs.get(reg.EP_CFG, 0) & reg.EP_CFG_EGY_PWR_EN
        for phase in range(3):
            sum_vv, sum_ii, sum_p, sum_q = sums[phase]
            g_v, g_i, g_p = self._chip_gains(phase)
            self._mean_square[phase] = [sum_vv / n * (g_v * v_code) ** 2, sum_ii / n * (g_i * i_code) ** 2]
            power = sum_p / n * g_v * g_i * g_p * watt_code
            var = sum_q / n * g_v * g_i * g_p * watt_code
            self._mean_power[phase], self._mean_var[phase] = power, var
            for register, value in ((self._energy, power), (self._var_energy, var)):
                if accumulate and abs(value) >= no_load:
                    # One xWATT / xVAR per 8 kSPS sample: scale our sample count to the chip's rate.
                    energy = register[phase] + value * n * reg.DSP_RATE_HZ / c.sample_rate_hz
                    register[phase] = energy % float(1 << 45)

    def _sampled(self, segment: LoadSegment, phase: int, n0: int, n1: int, fe_v: float, fe_i: float,
                 shift: float):
        t = np.arange(n0, n1, dtype=np.float64) / self.config.sample_rate_hz
        omega = 2.0 * math.pi * segment.frequency_hz
        volts, amps = _phase_components(segment, phase, shift)
        v = sum(peak * np.sin(order * omega * t + angle) for order, peak, angle in volts)
        v90 = fe_v * sum(peak * np.sin(order * omega * t + angle - math.pi / 2) for order, peak, angle in volts)
        i = sum(peak * np.sin(order * omega * t + angle) for order, peak, angle in amps)
        v = fe_v * (v + self._rng.normal(0.0, self.config.v_noise_rms, t.size))
        i = fe_i * (i + self._rng.normal(0.0, self.config.i_noise_rms, t.size))
        return float(np.mean(v * v)), float(np.mean(i * i)), float(np.mean(v * i)), float(np.mean(v90 * i))

    def _closed_form(self, segment: LoadSegment, phase: int, t0: float, t1: float, fe_v: float, fe_i: float,
                     shift: float):
        volts, amps = _phase_components(segment, phase, shift)
        mean_vv = sum((peak ** 2) / 2 for _, peak, _ in volts) + self.config.v_noise_rms ** 2
        mean_ii = sum((peak ** 2) / 2 for _, peak, _ in amps) + self.config.i_noise_rms ** 2
        mean_p = phase_energy_ws(segment, phase, t0, t1, shift) / (t1 - t0)
        mean_q = phase_energy_ws(segment, phase, t0, t1, shift, reactive=True) / (t1 - t0)
        return fe_v ** 2 * mean_vv, fe_i ** 2 * mean_ii, fe_v * fe_i * mean_p, fe_v * fe_i * mean_q


class PtyEmulatorServer:
    """Serves a `ChipEmulator` on the master side of a pty; the driver opens the slave with pyserial."""

    def __init__(self, emulator: ChipEmulator) -> None:
        import tty

        self.emulator = emulator
        self._master, slave = os.openpty()
        tty.setraw(slave)
        self.port = os.ttyname(slave)
        self._slave = slave  # kept open so the pty survives between client opens
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="ade9000-pty", daemon=True)

    def __enter__(self) -> "PtyEmulatorServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        os.close(self._master)
        os.close(self._slave)

    def _read_exact(self, n: int, buffer: bytearray) -> bytes | None:
        while len(buffer) < n:
            if self._stop.is_set():
                return None
            ready, _, _ = select.select([self._master], [], [], 0.05)
            if ready:
                buffer += os.read(self._master, 4096)
        chunk = bytes(buffer[:n])
        del buffer[:n]
        return chunk

    def _serve(self) -> None:
        buffer = bytearray()
        while not self._stop.is_set():
            word = self._read_exact(2, buffer)
            if word is None:
                return
            data = self._read_exact(self.emulator.frame_length(word), buffer)
            if data is None:
                return
            answer = self.emulator.handle_frame(word + data)
            if answer:
                os.write(self._master, answer)
