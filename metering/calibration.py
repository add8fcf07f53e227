"""Calibration: per-phase gain, current RMS offset and phase compensation registers, computed against an
injected reference, kept in a versioned, checksummed file that a lock protects from accidental overwrite."""
from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from metering import ade9000 as reg
from metering.errors import CalibrationLocked, DataCorrupt

if TYPE_CHECKING:
    from metering.driver import Ade9000Driver

FORMAT_VERSION = 1


@dataclass(frozen=True)
class PhaseCalibration:
    v_gain: int = 0  # xVGAIN register: multiplier 1 + value / 2^27
    i_gain: int = 0  # xIGAIN register
    i_rms_offset: int = 0  # xIRMSOS: added to the squared current RMS (code²)
    phase_cal: int = 0  # xPHCAL0: current-channel phase compensation (value / 2^27 rad)


@dataclass(frozen=True)
class Calibration:
    phases: tuple[PhaseCalibration, PhaseCalibration, PhaseCalibration]
    config_crc: int | None = None  # CRC_RSLT the chip showed with this calibration loaded
    locked: bool = False
    v_ref: float | None = None
    i_ref: float | None = None
    version: int = FORMAT_VERSION

    @classmethod
    def identity(cls) -> "Calibration":
        return cls(phases=(PhaseCalibration(),) * 3)

    def registers(self) -> dict[int, int]:
        values: dict[int, int] = {}
        for p, phase in enumerate(self.phases):
            step = p * reg.PHASE_STEP
            values[reg.AVGAIN + step] = phase.v_gain
            values[reg.AIGAIN + step] = phase.i_gain
            values[reg.AIRMSOS + step] = phase.i_rms_offset & 0xFFFFFFFF
            values[reg.APHCAL0 + step] = phase.phase_cal & 0xFFFFFFFF
        return values

    # ---- file form -------------------------------------------------------------------------------------
    def _body(self) -> dict:
        body = asdict(self)
        body["phases"] = [asdict(p) for p in self.phases]
        return body

    def dumps(self) -> str:
        body = self._body()
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
        return json.dumps({"calibration": body, "sha256": hashlib.sha256(canonical.encode()).hexdigest()},
                          indent=2, sort_keys=True) + "\n"

    @classmethod
    def loads(cls, text: str) -> "Calibration":
        try:
            outer = json.loads(text)
            body, checksum = outer["calibration"], outer["sha256"]
            canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
        except (ValueError, KeyError, TypeError) as exc:
            raise DataCorrupt("calibration file is not a calibration record", reason=str(exc)) from exc
        if hashlib.sha256(canonical.encode()).hexdigest() != checksum:
            raise DataCorrupt("calibration file checksum mismatch")
        if body.get("version") != FORMAT_VERSION:
            raise DataCorrupt("unsupported calibration format version", version=body.get("version"))
        try:
            phases = tuple(PhaseCalibration(**p) for p in body.pop("phases"))
            return cls(phases=phases, **body)
        except TypeError as exc:
            raise DataCorrupt("calibration record has unexpected fields", reason=str(exc)) from exc


def load_calibration(path: str | os.PathLike) -> Calibration:
    return Calibration.loads(Path(path).read_text())


def save_calibration(calibration: Calibration, path: str | os.PathLike, unlock: bool = False) -> None:
    """Write atomically (temp file, fsync, rename); a locked file is only replaced with `unlock=True`."""
    path = Path(path)
    if path.exists() and not unlock:
        try:
            existing_locked = load_calibration(path).locked
        except DataCorrupt:
            existing_locked = True  # an unreadable calibration is never silently replaced
        if existing_locked:
            raise CalibrationLocked("calibration is locked; pass an explicit unlock to replace it", path=str(path))
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    with os.fdopen(fd, "w") as handle:
        handle.write(calibration.dumps())
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _average(driver: "Ade9000Driver", polls: int, interval_s: float, sleep: Callable[[float], None]):
    """Mean V rms, I rms and active power per phase over `polls` reads of the chip's averaged registers."""
    v, i, w = [0.0] * 3, [0.0] * 3, [0.0] * 3
    for _ in range(polls):
        sleep(interval_s)
        for p, phase in enumerate(driver.poll().phases):
            v[p] += phase.v_rms / polls
            i[p] += phase.i_rms / polls
            w[p] += phase.power_w / polls
    return v, i, w


def _measure(driver, apply_reference, sleep, v: float, i: float, pf: float, polls: int, interval_s: float):
    apply_reference(v, i, pf)
    sleep(interval_s)
    driver.poll()  # discard the window that straddles the switch
    return _average(driver, polls, interval_s, sleep)


def calibrate(driver: "Ade9000Driver", v_ref: float, i_ref: float,
              apply_reference: Callable[[float, float, float], None], sleep: Callable[[float], None],
              polls: int = 4, interval_s: float = 0.5, lock: bool = False) -> Calibration:
    """Three reference steps, each on all phases: (1) v_ref, i_ref at PF 1 → voltage and current gains;
    (2) zero current → current RMS offsets (noise floor); (3) v_ref, i_ref at PF 0.5 inductive → phase
    compensation (a CT phase error δ shows as P = V·I·cos(60° + δ), i.e. tan 60° · δ ≈ 1.7 δ of error).

    `apply_reference(v, i, pf)` switches the injected source (the emulator's load, or an operator prompt).
    """
    driver.calibration = Calibration.identity()
    driver.start()
    v, i, _ = _measure(driver, apply_reference, sleep, v_ref, i_ref, 1.0, polls, interval_s)
    phases = [PhaseCalibration(v_gain=reg.gain_register(v_ref / v[p]), i_gain=reg.gain_register(i_ref / i[p]))
              for p in range(3)]
    driver.calibration = Calibration(phases=tuple(phases))
    driver.start()
    _, i_zero, _ = _measure(driver, apply_reference, sleep, v_ref, 0.0, 1.0, polls, interval_s)
    code_per_amp = reg.RMS_FULL_SCALE / driver.scaling.i_full_scale
    phases = [replace(phases[p], i_rms_offset=-round((i_zero[p] * code_per_amp) ** 2)) for p in range(3)]
    driver.calibration = Calibration(phases=tuple(phases))
    driver.start()
    v, i, power = _measure(driver, apply_reference, sleep, v_ref, i_ref, 0.5, polls, interval_s)
    lag = [math.acos(max(-1.0, min(1.0, power[p] / (v[p] * i[p])))) - math.pi / 3 for p in range(3)]
    phases = [replace(phases[p], phase_cal=reg.phase_register(lag[p])) for p in range(3)]
    calibration = Calibration(phases=tuple(phases), v_ref=v_ref, i_ref=i_ref)
    driver.calibration = calibration
    crc = driver.start()
    return replace(calibration, config_crc=crc, locked=lock)
