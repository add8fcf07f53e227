"""Energy.Active.Import.Register / Energy.Active.Export.Register: monotonic 64-bit software totals, plus the
inductive / capacitive reactive registers of the -20 MeterInfo.

Totals are integers in µWh / µvarh (64 bits hold 18 TWh), fed with the signed net flow per poll; the
sub-µ remainder is carried so nothing is lost to rounding. Published readings are whole Wh (floor), hence
monotonic. Reactive energy is split by quadrant (IEC 62053-23 convention): inductive in quadrants I and III
(active and reactive energy of the same sign), capacitive in II and IV.
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
    inductive_uvarh: int = 0
    capacitive_uvarh: int = 0

    @property
    def import_wh(self) -> int:
        return self.import_uwh // UWH_PER_WH

    @property
    def export_wh(self) -> int:
        return self.export_uwh // UWH_PER_WH

    @property
    def inductive_varh(self) -> int:
        return self.inductive_uvarh // UWH_PER_WH

    @property
    def capacitive_varh(self) -> int:
        return self.capacitive_uvarh // UWH_PER_WH


class _SplitRegister:
    """A positive and a negative 64-bit accumulator fed with a signed flow, sub-unit remainder carried."""

    def __init__(self, positive: int, negative: int) -> None:
        self.positive, self.negative = positive, negative
        self._carry = 0.0

    def add(self, amount_u: float) -> None:
        amount = amount_u + self._carry
        whole = int(amount)
        self._carry = amount - whole
        if whole > 0:
            self.positive = min(MAX_UWH, self.positive + whole)
        else:
            self.negative = min(MAX_UWH, self.negative - whole)


class EnergyRegisters:
    def __init__(self, start: Totals = Totals(0, 0)) -> None:
        self._active = _SplitRegister(start.import_uwh, start.export_uwh)
        self._reactive = _SplitRegister(start.inductive_uvarh, start.capacitive_uvarh)
        self._lock = threading.Lock()

    def add(self, energy_wh: float, reactive_varh: float = 0.0) -> Totals:
        """Book one poll's net active energy (positive = import) and reactive energy (positive = current
        lagging the voltage)."""
        with self._lock:
            self._active.add(energy_wh * UWH_PER_WH)
            quadrant_sign = 1.0 if energy_wh >= 0 else -1.0  # export flips which reactive sign is inductive
            self._reactive.add(quadrant_sign * reactive_varh * UWH_PER_WH)
            return self._totals()

    def totals(self) -> Totals:
        with self._lock:
            return self._totals()

    def _totals(self) -> Totals:
        return Totals(self._active.positive, self._active.negative, self._reactive.positive, self._reactive.negative)
