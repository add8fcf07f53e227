"""Energy.Active.Import.Register / Energy.Active.Export.Register: monotonic 64-bit software totals.

Totals are integers in µWh (64 bits hold 18 TWh), fed with signed energy per poll; the sub-µWh remainder is
carried so nothing is lost to rounding. Published readings are whole Wh (floor), hence monotonic.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

UWH_PER_WH = 1_000_000
MAX_UWH = (1 << 63) - 1


@dataclass(frozen=True)
class Totals:
    import_uwh: int
    export_uwh: int

    @property
    def import_wh(self) -> int:
        return self.import_uwh // UWH_PER_WH

    @property
    def export_wh(self) -> int:
        return self.export_uwh // UWH_PER_WH


class EnergyRegisters:
    def __init__(self, start: Totals = Totals(0, 0)) -> None:
        self._import = start.import_uwh
        self._export = start.export_uwh
        self._carry = 0.0  # signed sub-µWh remainder of the net flow
        self._lock = threading.Lock()

    def add(self, energy_wh: float) -> Totals:
        """Book one poll's net energy (positive = import, negative = export)."""
        with self._lock:
            amount = energy_wh * UWH_PER_WH + self._carry
            whole = int(amount)
            self._carry = amount - whole
            if whole > 0:
                self._import = min(MAX_UWH, self._import + whole)
            else:
                self._export = min(MAX_UWH, self._export - whole)
            return Totals(self._import, self._export)

    def totals(self) -> Totals:
        with self._lock:
            return Totals(self._import, self._export)
