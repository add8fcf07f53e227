"""THE SECC sequence table: which request is accepted in which state, who answers it, where it leads.

Everything that affects transitions lives here; handlers only build responses (and may keep the state, e.g.
"Ongoing"). A request not listed for the current state is answered with FAILED_SequenceError and ends the
session [V2G20-1040 ff., facts §4.7]. The timeout is V2G_SECC_Sequence_Timeout armed after the response
(60 s; 0.5 s after a charge-loop response) [V2G20-443], [V2G20-1500], [V2G20-1502].
The side stream (MeteringConfirmation, 0x8102) has its own table: it runs beside the main stream [V2G20-1041].
"""
from __future__ import annotations

from enum import Enum

from iso15118.session.sequence import Rule
from iso15118.session.timing import timing_of

from .handlers import ac, authorization, dc, metering, schedule, services, setup


class SeccState(Enum):
    WAIT_APP_PROTOCOL = "wait_app_protocol"
    WAIT_SESSION_SETUP = "wait_session_setup"
    WAIT_AUTHORIZATION_SETUP = "wait_authorization_setup"
    WAIT_AUTHORIZATION = "wait_authorization"
    AUTHORIZED = "authorized"
    SERVICES_DISCOVERED = "services_discovered"
    SERVICE_SELECTED = "service_selected"
    DC_PARAMETERS = "dc_parameters"
    AC_PARAMETERS = "ac_parameters"
    DC_SCHEDULED = "dc_scheduled"
    AC_SCHEDULED = "ac_scheduled"
    DC_CABLE_CHECKED = "dc_cable_checked"
    DC_PRECHARGING = "dc_precharging"
    DC_CHARGING = "dc_charging"
    AC_CHARGING = "ac_charging"
    DC_POWER_STOPPED = "dc_power_stopped"
    AC_POWER_STOPPED = "ac_power_stopped"
    ENDED = "ended"


S = SeccState


def _rule(handler, next_state: SeccState, request: str) -> Rule:
    return Rule(handler, next_state, timing_of(request).secc_sequence_timeout)


_ROWS: list[tuple[SeccState, str, object, SeccState]] = [
    (S.WAIT_APP_PROTOCOL, "supportedAppProtocolReq", setup.app_protocol, S.WAIT_SESSION_SETUP),
    (S.WAIT_SESSION_SETUP, "SessionSetupReq", setup.session_setup, S.WAIT_AUTHORIZATION_SETUP),
    (S.WAIT_AUTHORIZATION_SETUP, "AuthorizationSetupReq", authorization.authorization_setup,
     S.WAIT_AUTHORIZATION),
    (S.WAIT_AUTHORIZATION, "CertificateInstallationReq", authorization.certificate_installation,
     S.WAIT_AUTHORIZATION),
    (S.WAIT_AUTHORIZATION, "AuthorizationReq", authorization.authorization, S.AUTHORIZED),
    (S.AUTHORIZED, "ServiceDiscoveryReq", services.service_discovery, S.SERVICES_DISCOVERED),
    (S.SERVICES_DISCOVERED, "ServiceDetailReq", services.service_detail, S.SERVICES_DISCOVERED),
    (S.SERVICES_DISCOVERED, "ServiceSelectionReq", services.service_selection, S.SERVICE_SELECTED),
    (S.SERVICE_SELECTED, "DC_ChargeParameterDiscoveryReq", dc.charge_parameter_discovery, S.DC_PARAMETERS),
    (S.SERVICE_SELECTED, "AC_ChargeParameterDiscoveryReq", ac.charge_parameter_discovery, S.AC_PARAMETERS),
    (S.DC_PARAMETERS, "ScheduleExchangeReq", schedule.schedule_exchange, S.DC_SCHEDULED),
    (S.AC_PARAMETERS, "ScheduleExchangeReq", schedule.schedule_exchange, S.AC_SCHEDULED),
    # DC: the EV sets CP C/D before the first cable check [V2G20-1418]; precharge until the EV is satisfied.
    (S.DC_SCHEDULED, "DC_CableCheckReq", dc.cable_check, S.DC_CABLE_CHECKED),
    (S.DC_CABLE_CHECKED, "DC_PreChargeReq", dc.precharge, S.DC_PRECHARGING),
    (S.DC_PRECHARGING, "DC_PreChargeReq", dc.precharge, S.DC_PRECHARGING),
    (S.DC_PRECHARGING, "PowerDeliveryReq", schedule.power_delivery, S.DC_CHARGING),
    (S.DC_CHARGING, "DC_ChargeLoopReq", dc.charge_loop, S.DC_CHARGING),
    (S.DC_CHARGING, "PowerDeliveryReq", schedule.power_delivery, S.DC_POWER_STOPPED),
    (S.DC_POWER_STOPPED, "DC_WeldingDetectionReq", dc.welding_detection, S.DC_POWER_STOPPED),
    (S.DC_POWER_STOPPED, "SessionStopReq", setup.session_stop, S.ENDED),
    # AC: PowerDelivery(Start) right after the schedule; the EV switches to C/D afterwards [V2G20-847].
    (S.AC_SCHEDULED, "PowerDeliveryReq", schedule.power_delivery, S.AC_CHARGING),
    (S.AC_CHARGING, "AC_ChargeLoopReq", ac.charge_loop, S.AC_CHARGING),
    (S.AC_CHARGING, "PowerDeliveryReq", schedule.power_delivery, S.AC_POWER_STOPPED),
    (S.AC_POWER_STOPPED, "SessionStopReq", setup.session_stop, S.ENDED),
]
# The EV may end the session before energy transfer starts.
_ROWS += [(state, "SessionStopReq", setup.session_stop, S.ENDED) for state in (
    S.WAIT_AUTHORIZATION_SETUP, S.WAIT_AUTHORIZATION, S.AUTHORIZED, S.SERVICES_DISCOVERED, S.SERVICE_SELECTED,
    S.DC_PARAMETERS, S.AC_PARAMETERS, S.DC_SCHEDULED, S.AC_SCHEDULED, S.DC_CABLE_CHECKED, S.DC_PRECHARGING)]

SEQUENCE: dict[tuple[SeccState, str], Rule] = {
    (state, request): _rule(handler, next_state, request) for state, request, handler, next_state in _ROWS}

# Side stream 0x8102: accepted while a service session exists and energy may have flowed.
SIDE_STREAM_STATES = frozenset({S.DC_CHARGING, S.AC_CHARGING, S.DC_POWER_STOPPED, S.AC_POWER_STOPPED})
SIDE_STREAM: dict[str, Rule] = {
    "MeteringConfirmationReq": _rule(metering.metering_confirmation, S.DC_CHARGING, "MeteringConfirmationReq"),
}



class RenegotiationState(Enum):
    """Side stream 0x8101, EV-triggered schedule renegotiation while the loop goes on [V2G20-1045..1051]."""

    IDLE = "idle"
    PARAMETERS = "parameters"
    SCHEDULED = "scheduled"


R = RenegotiationState
SCHEDULE_RENEGOTIATION: dict[tuple[RenegotiationState, str], Rule] = {
    (R.IDLE, "DC_ChargeParameterDiscoveryReq"): _rule(dc.charge_parameter_discovery, R.PARAMETERS,
                                                      "DC_ChargeParameterDiscoveryReq"),
    (R.IDLE, "AC_ChargeParameterDiscoveryReq"): _rule(ac.charge_parameter_discovery, R.PARAMETERS,
                                                      "AC_ChargeParameterDiscoveryReq"),
    (R.PARAMETERS, "ScheduleExchangeReq"): _rule(schedule.schedule_exchange, R.SCHEDULED, "ScheduleExchangeReq"),
    (R.SCHEDULED, "PowerDeliveryReq"): _rule(schedule.renegotiated_power_delivery, R.IDLE, "PowerDeliveryReq"),
}
# Renegotiation only during energy transfer, after at least one ChargeLoopReq [V2G20-1846].
RENEGOTIATION_STATES = frozenset({S.DC_CHARGING, S.AC_CHARGING})

# After a resumed SessionSetup the next request is ChargeParameterDiscovery [V2G20-1032], [V2G20-1843].
RESUME_STATE = S.SERVICE_SELECTED
# After SessionStop(ServiceRenegotiation) the next request is ServiceDiscovery [V2G20-1643].
RENEGOTIATION_STATE = S.AUTHORIZED
# States in which a service session exists (a SessionID was assigned) and must be sealed if it ends badly.
NO_SERVICE_SESSION = frozenset({S.WAIT_APP_PROTOCOL, S.WAIT_SESSION_SETUP})
