"""ADE9000-class driver: start-up, calibration load, integrity checks, wrap-safe energy deltas per poll.

The chip's 45-bit energy registers wrap within minutes at full scale (facts §4.1), so the driver reads them
often and hands signed per-phase deltas upward; software owns the cumulative import/export totals.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from metering import ade9000 as reg
from metering.calibration import Calibration
from metering.errors import ChipNotResponding, ConfigCrcChanged, DataCorrupt, ResyncRequired
from metering.transport import Transport

RESET_WAIT_S = 0.05  # > 46 ms after SWRST (TRM; the no-OS driver waits 50 ms)
READ_RETRIES = 2  # a CRC failure is retried; persistent failures surface as ERR_MET_DATA_CORRUPT
PLAUSIBILITY_MARGIN = 1.5  # an energy step above full-scale power × elapsed × margin is not physical


@dataclass(frozen=True)
class FrontEndScaling:
    """Rms volts / amperes at the ADC's full scale (divider and CT burden of the installation)."""

    v_full_scale: float = 566.0
    i_full_scale: float = 212.0

    @property
    def power_full_scale(self) -> float:
        return self.v_full_scale * self.i_full_scale

    @property
    def wh_per_energy_lsb(self) -> float:
        # Energy HI register LSB: 2^13 accumulated xWATT samples at 8 kSPS (facts §4.1).
        return (1 << reg.ENERGY_LO_BITS) * self.power_full_scale / (reg.WATT_FULL_SCALE * reg.DSP_RATE_HZ * 3600)


@dataclass(frozen=True)
class PhaseSample:
    v_rms: float
    i_rms: float
    power_w: float
    energy_wh: float  # signed energy since the previous poll (positive = import)
    var: float = 0.0  # reactive power (positive = current lags the voltage)
    reactive_varh: float = 0.0  # signed reactive energy since the previous poll


@dataclass(frozen=True)
class ChipSample:
    """One poll of the chip: per-phase values, temperature, and the configuration-integrity flag."""

    mono: float
    elapsed_s: float
    phases: tuple[PhaseSample, PhaseSample, PhaseSample]
    temperature_c: float
    config_changed: bool


class Ade9000Driver:
    def __init__(self, transport: Transport, scaling: FrontEndScaling | None = None,
                 calibration: Calibration | None = None, no_load_w: float = 2.0,
                 monotonic: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.transport = transport
        self.scaling = scaling or FrontEndScaling()
        self.calibration = calibration or Calibration.identity()
        self.no_load_w = no_load_w
        self._monotonic = monotonic
        self._sleep = sleep
        self._baseline: dict[int, int] = {}  # energy HI register address → value at the previous poll
        self._last_mono: float | None = None
        self._temp_trim = 0

    # ---- register access -------------------------------------------------------------------------------
    def read(self, address: int) -> int:
        request, answer_len = reg.read_request(address)
        for attempt in range(READ_RETRIES + 1):
            try:
                return reg.parse_read_response(address, self.transport.transfer(request, answer_len))
            except DataCorrupt:
                if attempt == READ_RETRIES:
                    raise
        raise AssertionError("unreachable")

    def write(self, address: int, value: int, verify: bool = True) -> None:
        self.transport.transfer(reg.write_request(address, value), 0)
        if verify:
            width_mask = (1 << reg.register_bits(address)) - 1
            echoed = self.read(address)
            if echoed != value & width_mask:
                raise DataCorrupt("register write did not stick", address=f"0x{address:03X}",
                                  wrote=value, read=echoed)

    # ---- start-up ----------------------------------------------------------------------------------------
    def start(self) -> int:
        """Reset, identify, load calibration and configuration, check the config CRC, run. Returns CRC_RSLT."""
        self.write(reg.CONFIG1, reg.CONFIG1_SWRST, verify=False)
        self._sleep(RESET_WAIT_S)
        if not self.read(reg.STATUS1) & reg.STATUS1_RSTDONE or self.read(reg.CONFIG5) != reg.CONFIG5_AFTER_RESET:
            raise ChipNotResponding("chip did not report RSTDONE / CONFIG5 after reset")
        if not self.read(reg.PART_ID) & reg.PART_ID_ADE9000:
            raise ChipNotResponding("PART_ID does not identify an ADE9000-class chip")
        crc = self._configure()
        if self.calibration.config_crc is not None and crc != self.calibration.config_crc:
            raise ConfigCrcChanged("chip configuration CRC differs from the calibrated one",
                                   chip=f"0x{crc:04X}", calibrated=f"0x{self.calibration.config_crc:04X}")
        return crc

    def _configure(self) -> int:
        for address, value in self.calibration.registers().items():
            self.write(address, value)
        self.write(reg.ACCMODE, reg.ACCMODE_SIGNED)
        self.write(reg.EP_CFG, reg.EP_CFG_EGY_PWR_EN)
        self.write(reg.EGY_TIME, 7999)  # EGYRDY once per second at 8 kSPS
        self.write(reg.ACT_NL_LVL, self._no_load_code())
        self.write(reg.TEMP_CFG, reg.TEMP_CFG_TEMP_EN)
        self._temp_trim = self.read(reg.TEMP_TRIM)
        crc = self.read(reg.CRC_RSLT)
        self.write(reg.STATUS1, reg.STATUS1_RSTDONE | reg.STATUS1_CRC_CHG, verify=False)
        self.write(reg.RUN, 1)
        self._baseline = {address: self.read(address) for address in self._energy_registers()}
        self._last_mono = self._monotonic()
        return crc

    @staticmethod
    def _energy_registers() -> list[int]:
        return [base + p * reg.ENERGY_PHASE_STEP for p in range(3) for base in (reg.AWATTHR_HI, reg.AVARHR_HI)]

    def _delta(self, address: int, lsb: float, limit: float) -> float | None:
        """Wrap-safe step of an energy HI register since the last poll; None when it is not physical."""
        raw = self.read(address)
        delta = reg.to_signed(raw - self._baseline.get(address, raw), 32) * lsb  # modulo 2^32: wrap-safe
        self._baseline[address] = raw
        return None if abs(delta) > limit else delta

    def _no_load_code(self) -> int:
        return round(self.no_load_w / self.scaling.power_full_scale * reg.WATT_FULL_SCALE) & 0xFFFFFF

    def config_crc(self) -> int:
        return self.read(reg.CRC_RSLT)

    # ---- polling -----------------------------------------------------------------------------------------
    def poll(self) -> ChipSample:
        """Read every phase once; raises ResyncRequired (already re-anchored) when the chip reset or jumped."""
        status = self.read(reg.STATUS1)
        if status & reg.STATUS1_RSTDONE or self.read(reg.RUN) != 1:
            # The chip lost its configuration and its energy (power glitch, RESET pin): start it again and
            # count from its (zeroed) registers; software totals are untouched, so nothing is counted twice.
            self._configure()
            raise ResyncRequired("chip reset detected; configuration reloaded, totals continue", cause="reset")
        mono = self._monotonic()
        elapsed = mono - (self._last_mono if self._last_mono is not None else mono)
        lsb_wh = self.scaling.wh_per_energy_lsb
        limit_wh = self.scaling.power_full_scale * PLAUSIBILITY_MARGIN * max(elapsed, 1.0) / 3600.0
        phases, jumped = [], []
        for p in range(3):
            energy = self._delta(reg.AWATTHR_HI + p * reg.ENERGY_PHASE_STEP, lsb_wh, limit_wh)
            reactive = self._delta(reg.AVARHR_HI + p * reg.ENERGY_PHASE_STEP, lsb_wh, limit_wh)
            if energy is None or reactive is None:
                jumped.append(p)
            step = p * reg.PHASE_STEP
            power_scale = self.scaling.power_full_scale / reg.WATT_FULL_SCALE
            phases.append(PhaseSample(
                v_rms=self.read(reg.AVRMS + step) * self.scaling.v_full_scale / reg.RMS_FULL_SCALE,
                i_rms=self.read(reg.AIRMS + step) * self.scaling.i_full_scale / reg.RMS_FULL_SCALE,
                power_w=reg.to_signed(self.read(reg.AWATT + step), 32) * power_scale,
                energy_wh=energy or 0.0,
                var=reg.to_signed(self.read(reg.AVAR + step), 32) * power_scale,
                reactive_varh=reactive or 0.0,
            ))
        self._last_mono = mono
        temperature = reg.temperature_c(self.read(reg.TEMP_RSLT), self._temp_trim)
        sample = ChipSample(mono=mono, elapsed_s=elapsed, phases=tuple(phases), temperature_c=temperature,
                            config_changed=bool(status & reg.STATUS1_CRC_CHG))
        if jumped:
            # The other phases' deltas stay valid: the caller books `details["sample"]` and records the event.
            raise ResyncRequired("energy register jumped beyond full-scale power; re-anchored",
                                 cause="register_jump", phases=jumped, sample=sample)
        return sample
