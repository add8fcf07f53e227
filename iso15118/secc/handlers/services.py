"""ServiceDiscovery, ServiceDetail, ServiceSelection."""
from __future__ import annotations

from iso15118.session.config import CONTROL_MODES, SERVICE_IDS, SERVICE_NAMES
from iso15118.session.events import ServiceSelected
from iso15118.session.messages import Message
from iso15118.session.response_codes import ResponseCode as RC
from iso15118.session.sequence import Reply

_CONNECTOR = {"dc": 1, "dc_bpt": 1, "ac": 2, "ac_bpt": 2}  # DC core, AC three-phase (facts §4.1)
_MODE_NAMES = {v: k for k, v in CONTROL_MODES.items()}


def service_discovery(session, req: Message, now: float) -> Reply:
    services = [{"ServiceID": SERVICE_IDS[s], "FreeService": False} for s in session.ctx.offered_services]
    # The SupportedServiceIDs filter applies to the VAS list only [V2G20-1248]; we offer no VAS.
    return Reply({"ServiceRenegotiationSupported": session.config.service_renegotiation,
                  "EnergyTransferServiceList": {"Service": services}})


def parameter_sets(session, service: str) -> list[dict]:
    """One ParameterSet per control mode; its ParameterSetID is the ControlMode value."""
    nominal = session.config.ac.nominal_voltage if service.startswith("ac") else session.config.dc.max_voltage
    sets = []
    for mode in session.config.control_modes:
        params = [
            {"Name": "Connector", "intValue": _CONNECTOR[service]},
            {"Name": "ControlMode", "intValue": CONTROL_MODES[mode]},
            {"Name": "EVSENominalVoltage", "intValue": int(nominal)},
            {"Name": "MobilityNeedsMode", "intValue": 2 if mode == "dynamic" else 1},
            {"Name": "Pricing", "intValue": 0},
        ]
        if service.endswith("_bpt"):
            params += [{"Name": "BPTChannel", "intValue": 1}, {"Name": "GeneratorMode", "intValue": 1}]
        sets.append({"ParameterSetID": CONTROL_MODES[mode], "Parameter": params})
    return sets


def service_detail(session, req: Message, now: float) -> Reply:
    service = SERVICE_NAMES.get(req["ServiceID"])
    if service not in session.ctx.offered_services:
        return Reply({"ServiceID": req["ServiceID"],
                      "ServiceParameterList": {"ParameterSet": parameter_sets(session, "dc")}},
                     RC.FAILED_ServiceIDInvalid.value)
    return Reply({"ServiceID": req["ServiceID"],
                  "ServiceParameterList": {"ParameterSet": parameter_sets(session, service)}})


def service_selection(session, req: Message, now: float) -> Reply:
    selected = req["SelectedEnergyTransferService"]
    service = SERVICE_NAMES.get(selected["ServiceID"])
    mode = _MODE_NAMES.get(selected["ParameterSetID"])
    if service not in session.ctx.offered_services or mode not in session.config.control_modes:
        return Reply({}, RC.FAILED_ServiceSelectionInvalid.value)
    ctx = session.ctx
    ctx.service, ctx.control_mode, ctx.parameter_set_id = service, mode, selected["ParameterSetID"]
    return Reply({}, events=(ServiceSelected(ctx.session_id, service, ctx.parameter_set_id, mode),))
