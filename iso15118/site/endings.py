"""How a sealed session ends its OCPP transaction: seal reason or fault code → (triggerReason, stoppedReason).

Supervision codes (CP_*, PLC_LINK_LOST) use metering.ocpp's FAULT_STOP_REASONS; the session-side reasons
(the SECC machine's seal reasons and the gateway's restart recovery) are mapped here. Enumerations: OCPP 2.0.1
TriggerReasonEnumType / ReasonEnumType.
"""
from __future__ import annotations

from metering.ocpp import FAULT_STOP_REASONS

NORMAL = "normal"
RESTART = "restart"  # the gateway process died mid-session; the meter sealed it at the next start

SESSION_STOP_REASONS = {
    NORMAL: ("ChargingStateChanged", "StoppedByEV"),  # the EV's SessionStopReq(Terminate)
    RESTART: ("AbnormalCondition", "Reboot"),
    "CONNECTION_LOST": ("EVCommunicationLost", "Other"),
    "TIMEOUT_SEQUENCE": ("EVCommunicationLost", "Timeout"),
}


# A session the CSMS refused to authorize (Authorize answered other than Accepted), whatever ended it after.
REFUSED_AUTHORIZATION = ("Deauthorized", "DeAuthorized")


def stop_reasons(code: str) -> tuple[str, str]:
    """(triggerReason, stoppedReason) for the Ended event of a session sealed for `code`."""
    if code in FAULT_STOP_REASONS:
        return FAULT_STOP_REASONS[code]
    if code in SESSION_STOP_REASONS:
        return SESSION_STOP_REASONS[code]
    if code.startswith("TIMEOUT"):
        return "EVCommunicationLost", "Timeout"
    return "AbnormalCondition", "Other"  # a FAILED_* response code or a local error
