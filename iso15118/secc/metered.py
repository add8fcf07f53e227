"""The SECC's meter as the metering package's `metering.Meter` facade: signed MeterInfo (MeterSignature), the
journal, receipts of MeteringConfirmation and the exactly-once seal; plus a charger wrapper that drives the
emulated metrology chip with the charger's output so the meter measures what the simulation delivers."""
from __future__ import annotations

from typing import Any

from .charger import Charger, Output
from .context import Connector

_PHASE_VOLTAGE = 230.0


def meter_info_tree(info) -> dict[str, Any]:
    """metering.MeterInfo -> MeterInfoType tree."""
    tree: dict[str, Any] = {"MeterID": info.meter_id, "ChargedEnergyReadingWh": info.charged_wh}
    optional = {"BPT_DischargedEnergyReadingWh": info.discharged_wh,
                "CapacitiveEnergyReadingVARh": info.capacitive_varh,
                "BPT_InductiveEnergyReadingVARh": info.inductive_varh,
                "MeterSignature": info.meter_signature, "MeterStatus": info.meter_status,
                "MeterTimestamp": info.meter_timestamp}
    tree.update({k: v for k, v in optional.items() if v is not None})
    return tree


class MeteringMeterSource:
    """`MeterSource` over a `metering.Meter`; service sessions are journaled under the SessionID in hex.

    `poll`: read the chip before each MeterInfo. Pass False when the meter is sampled elsewhere (its own
    sampler thread, or the site's simulated meter time): then a charge loop never waits for the chip, nor for
    the register checkpoint (an fsync) that a poll may write."""

    def __init__(self, meter, poll: bool = True) -> None:
        self.meter = meter
        self.poll = poll
        self._begun: set[str] = set()  # sessions known to be journaled: no journal read per charge loop

    def _open(self, session_id: bytes, current_type: str | None = None) -> str:
        """`current_type`: the session's OCMF RT, known from the first MeterInfo on (the charge loop)."""
        sid = session_id.hex()
        if sid not in self._begun:
            if self.meter.journal.session_state(sid) is None:
                # charging=None: the reversed-CT diagnostic would misread BPT export as a wiring fault.
                self.meter.begin_session(sid, current_type=current_type)
            self._begun.add(sid)
        return sid

    def meter_info(self, session_id: bytes, now: float, bidirectional: bool, current_type: str) -> dict[str, Any]:
        sid = self._open(session_id, current_type)
        if self.poll:
            self.meter.poll()
        return meter_info_tree(self.meter.meter_info(sid, bidirectional=bidirectional))

    def store_confirmation(self, session_id: bytes, signed_metering_data: dict[str, Any], raw: bytes,
                           verified: bool) -> None:
        self.meter.journal.add_receipt(self._open(session_id), raw, verified,
                                       "" if verified else "signature not checked")

    def seal(self, session_id: bytes, reason: str, now: float) -> dict[str, Any]:
        sid = self._open(session_id)
        self._begun.discard(sid)
        return meter_info_tree(self.meter.seal_session(sid, reason).meter_info)


class MeteredCharger:
    """Delegates to a charger and sets the emulated chip's load to the charger's present power after every
    step (three phases at 230 V; negative power = export)."""

    def __init__(self, charger: Charger, meter) -> None:
        self.charger = charger
        self.meter = meter

    def _load(self, power: float) -> None:
        from metering import LoadProfile
        self.meter.emulator.set_profile(LoadProfile.constant(
            v_rms=_PHASE_VOLTAGE, i_rms=abs(power) / (3 * _PHASE_VOLTAGE), export=power < 0))

    def cable_check(self, now: float) -> bool:
        return self.charger.cable_check(now)

    def precharge(self, target_voltage: float, max_current: float, now: float) -> float:
        return self.charger.precharge(target_voltage, max_current, now)

    def close_contactors(self, now: float) -> bool:
        return self.charger.close_contactors(now)

    def open_contactors(self, now: float) -> bool:
        self._load(0.0)
        return self.charger.open_contactors(now)

    def deliver_dc(self, ev_voltage: float, target_current: float, max_current: float, max_power: float,
                   now: float) -> Output:
        out = self.charger.deliver_dc(ev_voltage, target_current, max_current, max_power, now)
        self._load(out.power)
        return out

    def deliver_ac(self, target_power: float, now: float) -> float:
        power = self.charger.deliver_ac(target_power, now)
        self._load(power)
        return power

    def welding_check(self, now: float) -> float:
        return self.charger.welding_check(now)

    def energy_wh(self, now: float) -> tuple[float, float]:
        return self.charger.energy_wh(now)


def metered_connector(charger: Charger, meter, poll: bool = True) -> Connector:
    """A connector whose MeterInfo comes from `meter` (a metering.Meter running on its emulated chip);
    `poll=False` when something else samples the meter (see `MeteringMeterSource`)."""
    return Connector(MeteredCharger(charger, meter), MeteringMeterSource(meter, poll))
