"""Request contents that depend on the energy transfer service: ChargeParameterDiscovery and ChargeLoop."""
from __future__ import annotations

import math

from iso15118.session.messages import rational

from .context import EvContext


def dc_cpd(ctx: EvContext) -> dict:
    b = ctx.battery.config
    mode = {
        "EVMaximumChargePower": rational(b.max_charge_power),
        "EVMinimumChargePower": rational(0),
        "EVMaximumChargeCurrent": rational(b.max_charge_current),
        "EVMinimumChargeCurrent": rational(0),
        "EVMaximumVoltage": rational(b.max_voltage),
        "EVMinimumVoltage": rational(b.min_voltage),
        "TargetSOC": int(b.target_soc),
    }
    if ctx.is_bpt:
        mode.update({"EVMaximumDischargePower": rational(b.max_discharge_power),
                     "EVMinimumDischargePower": rational(0),
                     "EVMaximumDischargeCurrent": rational(b.max_discharge_current),
                     "EVMinimumDischargeCurrent": rational(0)})
        return {"BPT_DC_CPDReqEnergyTransferMode": mode}
    return {"DC_CPDReqEnergyTransferMode": mode}


def ac_cpd(ctx: EvContext) -> dict:
    b = ctx.battery.config
    mode = {"EVMaximumChargePower": rational(b.max_charge_power), "EVMinimumChargePower": rational(0)}
    if ctx.is_bpt:
        mode.update({"EVMaximumDischargePower": rational(b.max_discharge_power),
                     "EVMinimumDischargePower": rational(0)})
        return {"BPT_AC_CPDReqEnergyTransferMode": mode}
    return {"AC_CPDReqEnergyTransferMode": mode}


def _energy_requests(ctx: EvContext) -> dict:
    b = ctx.battery
    target = max(0.0, b.config.capacity_wh * b.config.target_soc / 100.0 - b.energy_wh)
    maximum = max(0.0, b.config.capacity_wh - b.energy_wh)
    minimum = max(0.0, b.config.capacity_wh * b.config.min_soc / 100.0 - b.energy_wh)
    return {"EVTargetEnergyRequest": rational(target), "EVMaximumEnergyRequest": rational(maximum),
            "EVMinimumEnergyRequest": rational(minimum)}


def _display(ctx: EvContext, complete: bool) -> dict:
    b = ctx.battery
    return {"PresentSOC": int(b.soc), "MinimumSOC": int(b.config.min_soc), "TargetSOC": int(b.config.target_soc),
            "ChargingComplete": complete}


def _loop_common(ctx: EvContext) -> dict:
    return {"DisplayParameters": _display(ctx, False), "MeterInfoRequested": ctx.config.meter_info_requested}


def dc_loop(ctx: EvContext) -> dict:
    b = ctx.battery
    body = _loop_common(ctx)
    body["EVPresentVoltage"] = rational(round(b.voltage, 1))
    limits = {"EVMaximumChargePower": rational(b.config.max_charge_power),
              "EVMinimumChargePower": rational(0),
              "EVMaximumChargeCurrent": rational(b.config.max_charge_current),
              "EVMaximumVoltage": rational(b.config.max_voltage),
              "EVMinimumVoltage": rational(b.config.min_voltage)}
    bpt = {"EVMaximumDischargePower": rational(b.config.max_discharge_power),
           "EVMinimumDischargePower": rational(0),
           "EVMaximumDischargeCurrent": rational(b.config.max_discharge_current)}
    if ctx.dynamic:
        mode = {**_energy_requests(ctx), **limits}
        body["BPT_Dynamic_DC_CLReqControlMode" if ctx.is_bpt else "Dynamic_DC_CLReqControlMode"] = \
            {**mode, **bpt} if ctx.is_bpt else mode
        return body
    current = 0.0 if ctx.in_standby else -b.discharge_current() if ctx.discharging else b.charge_current()
    mode = {"EVTargetCurrent": rational(round(current, 1)), "EVTargetVoltage": rational(round(b.voltage, 1))}
    if ctx.is_bpt:
        body["BPT_Scheduled_DC_CLReqControlMode"] = {**mode, **limits, **bpt}
    else:
        body["Scheduled_DC_CLReqControlMode"] = {**mode, **limits}
    return body


def ac_loop(ctx: EvContext) -> dict:
    b = ctx.battery
    body = _loop_common(ctx)
    present = rational(round(ctx.last_power))
    if ctx.dynamic:
        mode = {**_energy_requests(ctx), "EVMaximumChargePower": rational(b.config.max_charge_power),
                "EVMinimumChargePower": rational(0), "EVPresentActivePower": present,
                "EVPresentReactivePower": rational(0)}
        if ctx.is_bpt:
            mode.update({"EVMaximumDischargePower": rational(b.config.max_discharge_power),
                         "EVMinimumDischargePower": rational(0)})
        body["BPT_Dynamic_AC_CLReqControlMode" if ctx.is_bpt else "Dynamic_AC_CLReqControlMode"] = mode
        return body
    body["BPT_Scheduled_AC_CLReqControlMode" if ctx.is_bpt else "Scheduled_AC_CLReqControlMode"] = \
        {"EVPresentActivePower": present}
    return body


def power_profile(ctx: EvContext, now_wall: int) -> dict:
    """EVPowerProfile for PowerDeliveryReq(Start): charge, then (BPT) discharge, per the configured loops."""
    b, c = ctx.battery.config, ctx.config
    charge_s = max(1, math.ceil((c.charge_loops + c.standby_loops) * c.loop_period))
    entries = [{"Duration": charge_s, "Power": rational(b.max_charge_power)}]
    if ctx.is_bpt and c.discharge_loops > 0:
        entries.append({"Duration": max(1, math.ceil(c.discharge_loops * c.loop_period)),
                        "Power": rational(-b.max_discharge_power)})
    if ctx.dynamic:
        mode = {"Dynamic_EVPPTControlMode": {}}
    else:
        # PowerToleranceAcceptance is optional in the XSD; Josev 0.31.2's SECC refuses a profile without it.
        mode = {"Scheduled_EVPPTControlMode": {"SelectedScheduleTupleID": ctx.schedule_tuple_id,
                                               "PowerToleranceAcceptance": "PowerToleranceConfirmed"}}
    return {"TimeAnchor": now_wall, **mode, "EVPowerProfileEntries": {"EVPowerProfileEntry": entries}}
