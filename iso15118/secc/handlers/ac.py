"""AC_ChargeParameterDiscovery and AC_ChargeLoop (incl. BPT)."""
from __future__ import annotations

from iso15118.session.events import PowerRequest
from iso15118.session.messages import Message, from_rational, rational
from iso15118.session.response_codes import ResponseCode as RC
from iso15118.session.sequence import Reply

from .metering import loop_common
from .power import dynamic_setpoint


def _evse_cpd(session) -> dict:
    a = session.config.ac
    body = {"EVSEMaximumChargePower": rational(a.max_charge_power),
            "EVSEMinimumChargePower": rational(a.min_charge_power),
            "EVSENominalFrequency": rational(a.nominal_frequency)}
    if session.ctx.is_bpt:
        body.update({"EVSEMaximumDischargePower": rational(a.max_discharge_power),
                     "EVSEMinimumDischargePower": rational(a.min_discharge_power)})
    return body


def charge_parameter_discovery(session, req: Message, now: float) -> Reply:
    ctx = session.ctx
    wanted = "BPT_AC_CPDReqEnergyTransferMode" if ctx.is_bpt else "AC_CPDReqEnergyTransferMode"
    res_name = "BPT_AC_CPDResEnergyTransferMode" if ctx.is_bpt else "AC_CPDResEnergyTransferMode"
    mode = req.get(wanted)
    if mode is None or ctx.is_dc:
        return Reply({res_name: _evse_cpd(session)}, RC.FAILED_WrongChargeParameter.value)
    ctx.ev_limits = {"max_charge_power": from_rational(mode["EVMaximumChargePower"]),
                     "max_discharge_power": from_rational(mode.get("EVMaximumDischargePower"))}
    return Reply({res_name: _evse_cpd(session)})


def _profile_power(session, now: float) -> float:
    """Scheduled mode: the EV committed its power profile in PowerDeliveryReq(Start); follow its entries."""
    ctx = session.ctx
    profile = ctx.extra.get("ev_power_profile") or {}
    entries = profile.get("EVPowerProfileEntries", {}).get("EVPowerProfileEntry", [])
    elapsed = now - (ctx.power_started_at or now)
    for entry in entries:
        if elapsed < entry["Duration"]:
            return from_rational(entry["Power"])
        elapsed -= entry["Duration"]
    return 0.0


def charge_loop(session, req: Message, now: float) -> Reply:
    ctx, a = session.ctx, session.config.ac
    names = [n for n in req.body if n.endswith("_AC_CLReqControlMode")]
    expected = ("BPT_" if ctx.is_bpt else "") + ("Dynamic" if ctx.control_mode == "dynamic" else "Scheduled")
    common, code = loop_common(session, req, now)
    res_mode = ("BPT_" if ctx.is_bpt else "") + ("Dynamic" if ctx.control_mode == "dynamic" else "Scheduled") \
        + "_AC_CLResControlMode"
    if not names or not names[0].startswith(expected):
        return Reply({**common, "Scheduled_AC_CLResControlMode": {}}, RC.FAILED_WrongChargeParameter.value)
    target = dynamic_setpoint(session, now) if ctx.control_mode == "dynamic" else _profile_power(session, now)
    if ctx.standby:
        target = 0.0
    if target >= 0:
        target = min(target, a.max_charge_power, ctx.ev_limits.get("max_charge_power", target))
    elif ctx.is_bpt:
        target = max(target, -a.max_discharge_power, -(ctx.ev_limits.get("max_discharge_power") or 0.0))
    else:
        target = 0.0
    present = ctx.connector.charger.deliver_ac(target, now)
    body = {**common, res_mode: {"EVSETargetActivePower": rational(target),
                                 "EVSEPresentActivePower": rational(present)}}
    return Reply(body, code, events=(PowerRequest(ctx.session_id, None, None, target),))
