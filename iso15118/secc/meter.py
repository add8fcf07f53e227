"""Where the SECC gets MeterInfo, and where it leaves confirmations and the sealed reading (Receipts are priced
from that MeterInfo under the session's price schedule: iso15118.session.tariff).

`MeterSource` is the seam to the metering package (the `metering.Meter` facade: signed readings, journal,
sessions sealed exactly once). `ChargerMeter` reads the charger's own energy counter when no meter is fitted;
its MeterInfo carries no MeterSignature.
"""
from __future__ import annotations

import time
from typing import Any, Callable, Protocol

from .charger import Charger


class MeterSource(Protocol):
    def meter_info(self, session_id: bytes, now: float, bidirectional: bool, current_type: str) -> dict[str, Any]:
        """MeterInfoType tree: energy of the current service session [V2G20-902]. Without `bidirectional` the
        BPT_ readings are left out, and a MeterSignature covers exactly the fields returned: Table 101
        [V2G20-1313] makes them "optional for BPT, not applicable for other energy transfer services"
        (Josev's EVCC refuses them). `current_type` ("AC"/"DC") is the session's supply, for a meter that
        records it (OCMF RT)."""

    def store_confirmation(self, session_id: bytes, signed_metering_data: dict[str, Any], raw: bytes,
                           verified: bool) -> None:
        """Keep the EV's MeteringConfirmationReq (its verbatim EXI) bound to the session; `verified` tells
        whether its signature was checked and held (False: unsigned, e.g. EIM without a contract key)."""

    def seal(self, session_id: bytes, reason: str, now: float) -> dict[str, Any]:
        """Final reading, journaled; called exactly once per service session. Returns the final MeterInfo."""


class ChargerMeter:
    """MeterInfo from the charger's energy counter, per service session (baseline at the session's start)."""

    def __init__(self, charger: Charger, meter_id: str = "SIM-METER-1",
                 wall_clock: Callable[[], float] = time.time) -> None:
        self.charger = charger
        self.meter_id = meter_id
        self.wall_clock = wall_clock
        self._baseline: dict[bytes, tuple[float, float]] = {}
        self.confirmations: dict[bytes, list[tuple[dict[str, Any], bytes]]] = {}
        self.sealed: dict[bytes, tuple[str, dict[str, Any]]] = {}

    def _session_energy(self, session_id: bytes, now: float) -> tuple[float, float]:
        imported, exported = self.charger.energy_wh(now)
        base_i, base_e = self._baseline.setdefault(session_id, (imported, exported))
        return imported - base_i, exported - base_e

    def meter_info(self, session_id: bytes, now: float, bidirectional: bool,
                   current_type: str = "AC") -> dict[str, Any]:
        imported, exported = self._session_energy(session_id, now)
        info: dict[str, Any] = {"MeterID": self.meter_id, "ChargedEnergyReadingWh": int(imported)}
        if bidirectional:
            info["BPT_DischargedEnergyReadingWh"] = int(exported)
        info["MeterTimestamp"] = int(self.wall_clock())
        return info

    def store_confirmation(self, session_id: bytes, signed_metering_data: dict[str, Any], raw: bytes,
                           verified: bool) -> None:
        self.confirmations.setdefault(session_id, []).append((signed_metering_data, raw))

    def seal(self, session_id: bytes, reason: str, now: float) -> dict[str, Any]:
        if session_id in self.sealed:
            raise RuntimeError("METER_SESSION_ALREADY_SEALED")
        info = self.meter_info(session_id, now, bidirectional=True)  # the sealed record keeps every register
        self.sealed[session_id] = (reason, info)
        return info
