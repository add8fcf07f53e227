"""Events a session machine reports to its application (charger controller, EV emulator, supervisor).

They are returned among the actions of `receive()` / `timer_expired()`; adapters hand them to a callback.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Event:
    pass


@dataclass(frozen=True)
class ProtocolNegotiated(Event):
    namespace: str | None  # None: no common protocol (e.g. the EV offered only DIN 70121 / ISO 15118-2)
    response_code: str


@dataclass(frozen=True)
class SessionStarted(Event):
    session_id: bytes
    evcc_id: str
    resumed: bool


@dataclass(frozen=True)
class Authorized(Event):
    session_id: bytes
    method: str  # "EIM" | "PnC"
    identity: str  # EMAID for PnC, EVCCID for EIM


@dataclass(frozen=True)
class ServiceSelected(Event):
    session_id: bytes
    service: str  # "dc" | "ac" | "dc_bpt" | "ac_bpt"
    parameter_set_id: int
    control_mode: str  # "scheduled" | "dynamic"


@dataclass(frozen=True)
class PowerRequest(Event):
    """What the EV asks of the power electronics in this loop (negative = discharge, BPT)."""

    session_id: bytes
    target_voltage: float | None
    target_current: float | None
    target_power: float | None


@dataclass(frozen=True)
class PowerDelivered(Event):
    """EV side: what the EVSE reported in one charge-loop response."""

    voltage: float
    current: float
    power: float
    soc: float


@dataclass(frozen=True)
class MeteringConfirmed(Event):
    session_id: bytes
    signed_metering_data: dict[str, Any] = field(compare=False)


@dataclass(frozen=True)
class SessionPaused(Event):
    session_id: bytes


@dataclass(frozen=True)
class SessionSealed(Event):
    """The metering session was closed with a final reading; emitted exactly once per service session."""

    session_id: bytes
    reason: str
    meter_info: dict[str, Any] | None = field(default=None, compare=False)


@dataclass(frozen=True)
class SessionEnded(Event):
    """The communication session is over. outcome: completed | paused | failed | timeout | aborted."""

    outcome: str
    code: str | None
    reason: str
