"""Public vocabulary of the supervisors: small frozen dataclasses (the SECC turns faults into abort → seal)."""
from __future__ import annotations

from dataclasses import dataclass

from supervision.pilot import PilotReading, PilotState

# Stable fault codes (DESIGN.md error codes; PLC_LINK_LOST is shared with slac/).
CP_STATE_E = "CP_STATE_E"
CP_STATE_F = "CP_STATE_F"
CP_UNPLUGGED = "CP_UNPLUGGED"
CP_PWM_LOST = "CP_PWM_LOST"
CP_OUT_OF_RANGE = "CP_OUT_OF_RANGE"
CP_BOARD_SILENT = "CP_BOARD_SILENT"
PLC_LINK_LOST = "PLC_LINK_LOST"

# States that are faults whatever came before (E: CP short or supply error, F: EVSE not available).
STATE_FAULTS = {PilotState.E: CP_STATE_E, PilotState.F: CP_STATE_F}


@dataclass(frozen=True)
class PilotStateChanged:
    """A debounced change of the pilot (state letter or PWM on/off); `previous` is None for the first reading."""

    previous: PilotReading | None
    reading: PilotReading
    at: float


@dataclass(frozen=True)
class Fault:
    """A condition that must end a running session at once: stop power, seal, no SessionStopRes."""

    code: str
    detail: str
    at: float
