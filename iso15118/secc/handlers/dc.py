"""DC_ChargeParameterDiscovery, DC_CableCheck, DC_PreCharge, DC_ChargeLoop (incl. BPT), DC_WeldingDetection."""
from __future__ import annotations

from iso15118.session.events import PowerRequest
from iso15118.session.messages import Message, from_rational, rational
from iso15118.session.response_codes import ResponseCode as RC
from iso15118.session.sequence import Reply

from .metering import loop_common
from .power import dynamic_setpoint


def _evse_cpd(session) -> dict:
    d = session.config.dc
    body = {
        "EVSEMaximumChargePower": rational(d.max_charge_power),
        "EVSEMinimumChargePower": rational(d.min_charge_power),
        "EVSEMaximumChargeCurrent": rational(d.max_charge_current),
        "EVSEMinimumChargeCurrent": rational(d.min_charge_current),
        "EVSEMaximumVoltage": rational(d.max_voltage),
        "EVSEMinimumVoltage": rational(d.min_voltage),
    }
    if session.ctx.is_bpt:
        body.update({
            "EVSEMaximumDischargePower": rational(d.max_discharge_power),
            "EVSEMinimumDischargePower": rational(d.min_discharge_power),
            "EVSEMaximumDischargeCurrent": rational(d.max_discharge_current),
            "EVSEMinimumDischargeCurrent": rational(d.min_discharge_current),
        })
    return body


def charge_parameter_discovery(session, req: Message, now: float) -> Reply:
    ctx = session.ctx
    wanted = "BPT_DC_CPDReqEnergyTransferMode" if ctx.is_bpt else "DC_CPDReqEnergyTransferMode"
    res_name = "BPT_DC_CPDResEnergyTransferMode" if ctx.is_bpt else "DC_CPDResEnergyTransferMode"
    mode = req.get(wanted)
    if mode is None or not ctx.is_dc:
        return Reply({res_name: _evse_cpd(session)}, RC.FAILED_WrongChargeParameter.value)
    ctx.ev_limits = {
        "max_charge_power": from_rational(mode["EVMaximumChargePower"]),
        "max_charge_current": from_rational(mode["EVMaximumChargeCurrent"]),
        "max_voltage": from_rational(mode["EVMaximumVoltage"]),
        "min_voltage": from_rational(mode["EVMinimumVoltage"]),
        "max_discharge_power": from_rational(mode.get("EVMaximumDischargePower")),
        "max_discharge_current": from_rational(mode.get("EVMaximumDischargeCurrent")),
    }
    if ctx.ev_limits["max_voltage"] < session.config.dc.min_voltage:
        return Reply({res_name: _evse_cpd(session)}, RC.FAILED_WrongChargeParameter.value)
    return Reply({res_name: _evse_cpd(session)})


def cable_check(session, req: Message, now: float) -> Reply:
    finished = session.ctx.connector.charger.cable_check(now)
    return Reply({"EVSEProcessing": "Finished" if finished else "Ongoing"}, stay=not finished)


def precharge(session, req: Message, now: float) -> Reply:
    target = from_rational(req["EVTargetVoltage"])
    if target > session.config.dc.max_voltage:
        return Reply({"EVSEPresentVoltage": rational(0)}, RC.FAILED_WrongChargeParameter.value)
    voltage = session.ctx.connector.charger.precharge(target, 2.0, now)
    return Reply({"EVSEPresentVoltage": rational(voltage)})


def _control_mode(req: Message) -> tuple[str, dict] | tuple[None, None]:
    for name in ("BPT_Scheduled_DC_CLReqControlMode", "Scheduled_DC_CLReqControlMode",
                 "BPT_Dynamic_DC_CLReqControlMode", "Dynamic_DC_CLReqControlMode"):
        if name in req.body:
            return name, req[name]
    return None, None


def charge_loop(session, req: Message, now: float) -> Reply:
    ctx, d = session.ctx, session.config.dc
    charger = ctx.connector.charger
    name, mode = _control_mode(req)
    expected_prefix = ("BPT_" if ctx.is_bpt else "") + ("Dynamic" if ctx.control_mode == "dynamic" else "Scheduled")
    common, code = loop_common(session, req, now)
    ev_voltage = from_rational(req["EVPresentVoltage"])
    if name is None or not name.startswith(expected_prefix):
        return Reply({**common, **_loop_fields(ev_voltage, 0.0), "Scheduled_DC_CLResControlMode": {}},
                     RC.FAILED_WrongChargeParameter.value)
    if ctx.control_mode == "scheduled":
        target_current = from_rational(mode["EVTargetCurrent"])
    else:
        power = dynamic_setpoint(session, now)
        target_current = power / ev_voltage if ev_voltage > 0 else 0.0
    if ctx.standby:
        target_current = 0.0
    if target_current >= 0:
        max_current = min(d.max_charge_current, ctx.ev_limits.get("max_charge_current", d.max_charge_current))
        max_power = min(d.max_charge_power, ctx.ev_limits.get("max_charge_power", d.max_charge_power))
    elif ctx.is_bpt:
        max_current = min(d.max_discharge_current, ctx.ev_limits.get("max_discharge_current") or 0.0)
        max_power = min(d.max_discharge_power, ctx.ev_limits.get("max_discharge_power") or 0.0)
    else:
        target_current, max_current, max_power = 0.0, 0.0, 0.0  # no export without BPT
    out = charger.deliver_dc(ev_voltage, target_current, max_current, max_power, now)
    body = {**common,
            "EVSEPresentCurrent": rational(out.current), "EVSEPresentVoltage": rational(out.voltage),
            "EVSEPowerLimitAchieved": out.power_limit_achieved,
            "EVSECurrentLimitAchieved": out.current_limit_achieved,
            "EVSEVoltageLimitAchieved": out.voltage_limit_achieved}
    body.update(_res_control_mode(session))
    return Reply(body, code, events=(PowerRequest(ctx.session_id, ev_voltage, target_current, None),))


def _loop_fields(voltage: float, current: float) -> dict:
    return {"EVSEPresentCurrent": rational(current), "EVSEPresentVoltage": rational(voltage),
            "EVSEPowerLimitAchieved": False, "EVSECurrentLimitAchieved": False, "EVSEVoltageLimitAchieved": False}


def _res_control_mode(session) -> dict:
    ctx, d = session.ctx, session.config.dc
    limits = {"EVSEMaximumChargePower": rational(d.max_charge_power),
              "EVSEMinimumChargePower": rational(d.min_charge_power),
              "EVSEMaximumChargeCurrent": rational(d.max_charge_current),
              "EVSEMaximumVoltage": rational(d.max_voltage)}
    bpt = {"EVSEMaximumDischargePower": rational(d.max_discharge_power),
           "EVSEMinimumDischargePower": rational(d.min_discharge_power),
           "EVSEMaximumDischargeCurrent": rational(d.max_discharge_current),
           "EVSEMinimumVoltage": rational(d.min_voltage)}
    if ctx.control_mode == "dynamic":
        return {"BPT_Dynamic_DC_CLResControlMode": {**limits, **bpt}} if ctx.is_bpt \
            else {"Dynamic_DC_CLResControlMode": limits}
    return {"BPT_Scheduled_DC_CLResControlMode": {**limits, **bpt}} if ctx.is_bpt \
        else {"Scheduled_DC_CLResControlMode": limits}


def welding_detection(session, req: Message, now: float) -> Reply:
    voltage = session.ctx.connector.charger.welding_check(now)
    return Reply({"EVSEPresentVoltage": rational(voltage)})
