"""Virtual powerline, sans-I/O: one virtual PLC modem per attached host, and the medium between them.

Each port is one host's `VirtualModem` (facts/slac.md §6): frames a host sends to its modem (CM_SET_KEY.REQ,
the Qualcomm vendor queries) are answered by that modem; everything else goes onto the medium, which here is
simply every other port in the same process (`WireModem` is the one-modem-per-process variant). Faults: frame
drop probability, QCA 0xA14E noise frames during sounding, per-port SNR, a cut link (modem answers, medium
gone) and a silent modem (answers nothing).

`receive(port, frame, now)` returns `Delivery`s; the asyncio driver (`powerline_aio.py`) moves the bytes.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from slac.virtual_modem import Delivery, ModemConfig, VirtualModem
from v2gbase.config import load_dataclass

__all__ = ["Delivery", "Powerline", "PowerlineConfig"]


@dataclass
class PowerlineConfig(ModemConfig):
    """The settings every port's modem starts with (`attenuation_db`: unless `attach` gives its own)."""

    @classmethod
    def load(cls, path: str | Path, **overrides: Any) -> "PowerlineConfig":
        return load_dataclass(cls, path, **overrides)


class Powerline:
    def __init__(self, config: PowerlineConfig | None = None) -> None:
        self.config = config or PowerlineConfig()
        self.ports: dict[str, VirtualModem] = {}
        self._rng = random.Random(self.config.seed)

    def attach(self, name: str, role: str, *, attenuation_db: float | None = None,
               host_mac: str | None = None) -> VirtualModem:
        if role not in ("ev", "evse"):
            raise ValueError(f"role must be 'ev' or 'evse', not {role!r}")
        index = len(self.ports) + 1
        port = VirtualModem.create(name, f"00:b0:52:00:01:{index:02x}", self.config, self._rng,
                                   attenuation_db=attenuation_db, host_mac=host_mac)
        self.ports[name] = port
        return port

    # -- faults ------------------------------------------------------------------------------------------
    def set_snr(self, name: str, snr_db: float | list[float]) -> None:
        self.ports[name].set_snr(snr_db)

    def cut(self, name: str, cut: bool = True) -> None:
        self.ports[name].cut = cut

    def silence(self, name: str, silent: bool = True) -> None:
        self.ports[name].silent = silent

    # -- frames ------------------------------------------------------------------------------------------
    def receive(self, name: str, frame: bytes, now: float) -> list[Delivery]:
        port = self.ports[name]
        others = [p for p in self.ports.values() if p is not port and not p.cut and not p.silent]
        deliveries, tx = port.from_host(frame, [p.as_peer() for p in others])
        if tx is not None:
            for other in others:
                deliveries += other.hear(tx)
        return deliveries
