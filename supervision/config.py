"""Supervision configuration: one dataclass, loadable from a JSON or TOML file."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from supervision.errors import ConfigInvalid
from supervision.pilot import PilotBands
from v2gbase.config import checked_scalar, read_table


@dataclass(frozen=True)
class SupervisionConfig:
    bands: PilotBands = field(default_factory=PilotBands)
    # Debounce well inside the reaction times of IEC 61851-1 Annex A (recalled as ~100 ms for a state change,
    # less for faults; verify against the edition in force): changes settle after 30 ms, E/F/invalid after 10 ms.
    debounce_s: float = 0.030
    fault_debounce_s: float = 0.010
    # The board reports every 10 ms; five missed frames and the pilot counts as unwatched.
    silence_timeout_s: float = 0.050
    # A commanded PWM must show on the pilot within this time (board latency + one debounce).
    pwm_start_timeout_s: float = 0.200
    # DESIGN.md: SNR below 20 dB ends the session (PLC_LINK_LOST); hold = how long it must stay below.
    snr_min_db: float = 20.0
    snr_hold_s: float = 0.0
    serial_port: str = ""
    baudrate: int = 115200

    @classmethod
    def from_file(cls, path: str | Path) -> SupervisionConfig:
        return cls.from_dict(read_table(path, ConfigInvalid))

    @classmethod
    def from_dict(cls, data: dict) -> SupervisionConfig:
        known = {f.name: f for f in dataclasses.fields(cls)}
        unknown = set(data) - set(known)
        if unknown:
            raise ConfigInvalid(f"unknown supervision settings: {sorted(unknown)}")
        values = dict(data)
        if "bands" in values:
            bands = values["bands"]
            band_names = {f.name for f in dataclasses.fields(PilotBands)}
            if not isinstance(bands, dict) or set(bands) - band_names:
                raise ConfigInvalid(f"bands must be a table with keys among {sorted(band_names)}")
            for key, band in bands.items():
                if (not isinstance(band, (list, tuple)) or len(band) != 2
                        or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in band)):
                    raise ConfigInvalid(f"bands.{key}: expected [low, high] in volts, got {band!r}")
            values["bands"] = PilotBands(**{k: (float(v[0]), float(v[1])) for k, v in bands.items()})
        for name, value in values.items():
            if name != "bands":
                values[name] = checked_scalar(name, value, known[name].default, ConfigInvalid)
        return cls(**values)
