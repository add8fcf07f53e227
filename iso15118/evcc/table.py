"""THE EVCC sequence table: for each awaited response, who handles it and which requests may follow.

The EV's state is "waiting for the response to request X". A response of another type, or a FAILED code, ends
the session (every FAILED is fatal in -20, facts §4.7). The same rules validate what the SECC sends: a
response the table does not expect is a SECC sequence error. Timeout: V2G_EVCC_Msg_Timeout of the request
sent next (2 s / 5 s / 0.5 s, facts §5).
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Callable

from . import handlers as h


class EvState(Enum):
    IDLE = "idle"
    WAIT_APP_PROTOCOL = "supportedAppProtocolReq"
    WAIT_SESSION_SETUP = "SessionSetupReq"
    WAIT_AUTHORIZATION_SETUP = "AuthorizationSetupReq"
    WAIT_CERTIFICATE_INSTALLATION = "CertificateInstallationReq"
    WAIT_AUTHORIZATION = "AuthorizationReq"
    WAIT_SERVICE_DISCOVERY = "ServiceDiscoveryReq"
    WAIT_SERVICE_DETAIL = "ServiceDetailReq"
    WAIT_SERVICE_SELECTION = "ServiceSelectionReq"
    WAIT_DC_CHARGE_PARAMETERS = "DC_ChargeParameterDiscoveryReq"
    WAIT_AC_CHARGE_PARAMETERS = "AC_ChargeParameterDiscoveryReq"
    WAIT_SCHEDULE_EXCHANGE = "ScheduleExchangeReq"
    WAIT_CABLE_CHECK = "DC_CableCheckReq"
    WAIT_PRECHARGE = "DC_PreChargeReq"
    WAIT_POWER_DELIVERY = "PowerDeliveryReq"
    WAIT_DC_CHARGE_LOOP = "DC_ChargeLoopReq"
    WAIT_AC_CHARGE_LOOP = "AC_ChargeLoopReq"
    WAIT_WELDING_DETECTION = "DC_WeldingDetectionReq"
    WAIT_SESSION_STOP = "SessionStopReq"
    ENDED = "ended"


def state_awaiting(request: str) -> EvState:
    return EvState(request)


@dataclass(frozen=True)
class EvRule:
    handler: Callable
    next_requests: frozenset[str]


E = EvState
_STOP = "SessionStopReq"


def _r(handler, *requests: str) -> EvRule:
    return EvRule(handler, frozenset(requests))


SEQUENCE: dict[tuple[EvState, str], EvRule] = {
    (E.WAIT_APP_PROTOCOL, "supportedAppProtocolRes"): _r(h.on_app_protocol, "SessionSetupReq"),
    (E.WAIT_SESSION_SETUP, "SessionSetupRes"): _r(
        h.on_session_setup, "AuthorizationSetupReq", "DC_ChargeParameterDiscoveryReq",
        "AC_ChargeParameterDiscoveryReq"),
    (E.WAIT_AUTHORIZATION_SETUP, "AuthorizationSetupRes"): _r(
        h.on_authorization_setup, "CertificateInstallationReq", "AuthorizationReq", _STOP),
    (E.WAIT_CERTIFICATE_INSTALLATION, "CertificateInstallationRes"): _r(
        h.on_certificate_installation, "CertificateInstallationReq", "AuthorizationReq", _STOP),
    (E.WAIT_AUTHORIZATION, "AuthorizationRes"): _r(h.on_authorization, "AuthorizationReq",
                                                   "ServiceDiscoveryReq", _STOP),
    (E.WAIT_SERVICE_DISCOVERY, "ServiceDiscoveryRes"): _r(h.on_service_discovery, "ServiceDetailReq", _STOP),
    (E.WAIT_SERVICE_DETAIL, "ServiceDetailRes"): _r(h.on_service_detail, "ServiceSelectionReq", _STOP),
    (E.WAIT_SERVICE_SELECTION, "ServiceSelectionRes"): _r(
        h.on_service_selection, "DC_ChargeParameterDiscoveryReq", "AC_ChargeParameterDiscoveryReq"),
    (E.WAIT_DC_CHARGE_PARAMETERS, "DC_ChargeParameterDiscoveryRes"): _r(
        h.on_charge_parameter_discovery, "ScheduleExchangeReq"),
    (E.WAIT_AC_CHARGE_PARAMETERS, "AC_ChargeParameterDiscoveryRes"): _r(
        h.on_charge_parameter_discovery, "ScheduleExchangeReq"),
    (E.WAIT_SCHEDULE_EXCHANGE, "ScheduleExchangeRes"): _r(
        h.on_schedule_exchange, "ScheduleExchangeReq", "DC_CableCheckReq", "PowerDeliveryReq", _STOP),
    (E.WAIT_CABLE_CHECK, "DC_CableCheckRes"): _r(h.on_cable_check, "DC_CableCheckReq", "DC_PreChargeReq"),
    (E.WAIT_PRECHARGE, "DC_PreChargeRes"): _r(h.on_precharge, "DC_PreChargeReq", "PowerDeliveryReq", _STOP),
    (E.WAIT_POWER_DELIVERY, "PowerDeliveryRes"): _r(
        h.on_power_delivery, "DC_ChargeLoopReq", "AC_ChargeLoopReq", "DC_WeldingDetectionReq", _STOP),
    (E.WAIT_DC_CHARGE_LOOP, "DC_ChargeLoopRes"): _r(h.on_charge_loop, "DC_ChargeLoopReq", "PowerDeliveryReq"),
    (E.WAIT_AC_CHARGE_LOOP, "AC_ChargeLoopRes"): _r(h.on_charge_loop, "AC_ChargeLoopReq", "PowerDeliveryReq"),
    (E.WAIT_WELDING_DETECTION, "DC_WeldingDetectionRes"): _r(
        h.on_welding_detection, "DC_WeldingDetectionReq", _STOP),
    (E.WAIT_SESSION_STOP, "SessionStopRes"): _r(h.on_session_stop, "ServiceDiscoveryReq"),
}
