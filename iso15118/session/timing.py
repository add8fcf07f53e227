"""ISO 15118-20 timers, per request (facts §5: common table "Table 215", DC table 217, AC table 216).

EVCC: `V2G_EVCC_Msg_Timeout` from sending a request to its response.
SECC: `V2G_SECC_Msg_Performance_Time` to answer; `V2G_SECC_Sequence_Timeout` armed on sending a response and
disarmed by the next valid request [V2G20-436..445]: 60 s, but 0.5 s after a charge-loop response
[V2G20-1500], [V2G20-1502].
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MessageTiming:
    evcc_msg_timeout: float
    secc_performance_time: float
    secc_sequence_timeout: float


GENERAL = MessageTiming(2.0, 1.5, 60.0)
LONG = MessageTiming(5.0, 4.5, 60.0)  # ServiceDetail, CertificateInstallation
CHARGE_LOOP = MessageTiming(0.5, 0.25, 0.5)

_LONG = {"ServiceDetailReq", "CertificateInstallationReq"}
_LOOP = {"AC_ChargeLoopReq", "DC_ChargeLoopReq", "WPT_ChargeLoopReq"}


def timing_of(request_name: str) -> MessageTiming:
    if request_name in _LOOP:
        return CHARGE_LOOP
    if request_name in _LONG:
        return LONG
    return GENERAL


EVCC_ONGOING_TIMEOUT = 60.0  # V2G_EVCC_Ongoing_Timeout: total time a request may be answered "Ongoing"
SECC_ONGOING_PERFORMANCE_TIME = 55.0  # V2G_SECC_Ongoing_Performance_Time
EVCC_COMMUNICATION_SETUP_TIMEOUT = 20.0  # from TCP/TLS up to SessionSetupRes [V2G20-2298] (-2 value, verify)
SECC_STOP_LINGER = 5.0  # keep TCP open >= 5 s after SessionStopRes [V2G20-1633]
EVCC_LOOP_PERIOD = 0.25  # V2G_EVCC_Sequence_Performance_Time in the charge loop [V2G20-1499]

# Timer names shared by machines and adapters.
RESPONSE_TIMER = "msg_timeout"  # EVCC, main stream
SIDE_RESPONSE_TIMER = "side_msg_timeout"  # EVCC, metering-confirmation side stream [V2G20-1041]
RENEGOTIATION_RESPONSE_TIMER = "renegotiation_msg_timeout"  # EVCC, schedule-renegotiation side stream
ONGOING_TIMER = "ongoing_timeout"  # EVCC
SETUP_TIMER = "communication_setup"  # EVCC
NEXT_REQUEST_TIMER = "next_request"  # EVCC pacing of loops (not an abort timer)
SEQUENCE_TIMER = "sequence_timeout"  # SECC
