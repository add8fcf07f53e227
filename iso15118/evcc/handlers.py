"""EV reactions: one small function per response, returning the next request (or the end of the session).

A handler is `handler(ev, response, now) -> Step`; which requests it may choose is fixed by `table.SEQUENCE`.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace

from iso15118.session.config import CONTROL_MODES, SERVICE_IDS
from iso15118.session.log import log_event
from iso15118.session.messages import NS_AC, NS_DC, Message, from_rational

from . import energy
from .receipts import ERR_RECEIPT_MISMATCH, checked_receipt, offered_price_schedule

_log = logging.getLogger("iso15118.evcc")
SAFE_VOLTAGE = 60.0  # below this the DC output counts as discharged after welding detection
MAX_PRECHARGE_ROUNDS = 40
MAX_WELDING_ROUNDS = 20


@dataclass(frozen=True)
class Step:
    """Next request (name + content without Header) and how long to wait before sending it."""

    request: str | None
    body: dict
    delay: float = 0.0
    outcome: str | None = None  # set when the session ends after this response
    reason: str = ""
    code: str | None = None  # the failure's code when the EV itself decided it (else the response's)
    header_signature: dict | None = field(default=None, compare=False)  # xmldsig Signature for the Header


def _repeat(ev, delay: float) -> Step:
    """The same request again (EVSEProcessing Ongoing), signature included."""
    return replace(ev.last_step, delay=delay)


def _stop(ev, kind: str = "Terminate", reason: str = "") -> Step:
    return Step("SessionStopReq", {"ChargingSession": kind}, reason=reason)


def _end_of_energy_transfer(ev) -> Step:
    """SessionStop after PowerDelivery(Stop) (and welding detection): the kind the EVSE asked for, else a service
    renegotiation once when configured and supported [V2G20-1969], [V2G20-1476], else the profile's stop."""
    ctx = ev.ctx
    if ev.stop_kind is None and ev.config.service_renegotiation and ctx.service_renegotiation_supported \
            and ctx.service_renegotiations == 0:
        return _stop(ev, "ServiceRenegotiation")
    return _stop(ev, ev.stop_kind or ev.config.stop_with)


def app_protocol(ev) -> Step:
    c = ev.config
    wanted = NS_DC if c.service.startswith("dc") else NS_AC
    namespaces = list(c.only_protocols) or [wanted, *c.offer_protocols]
    offers = [{"ProtocolNamespace": ns, "VersionNumberMajor": 1 if ":-20:" in ns else 2,
               "VersionNumberMinor": 0, "SchemaID": i + 1, "Priority": i + 1}
              for i, ns in enumerate(namespaces)]
    ev.offers = offers
    return Step("supportedAppProtocolReq", {"AppProtocol": offers})


def on_app_protocol(ev, res: Message, now: float) -> Step:
    chosen = next((o for o in ev.offers if o["SchemaID"] == res.get("SchemaID")), None)
    if res["ResponseCode"].startswith("Failed") or chosen is None or ":-20:" not in chosen["ProtocolNamespace"]:
        return Step(None, {}, outcome="failed", reason=f"no common protocol ({res['ResponseCode']})")
    ev.ctx.namespace = chosen["ProtocolNamespace"]
    if ev.config.resume_session_id:
        ev.ctx.session_id = bytes.fromhex(ev.config.resume_session_id)  # resume a paused session [V2G20-2623]
    return Step("SessionSetupReq", {"EVCCID": ev.config.evcc_id})


def on_session_setup(ev, res: Message, now: float) -> Step:
    ev.ctx.session_id = res["Header"]["SessionID"]
    if res["ResponseCode"] == "OK_OldSessionJoined":
        ev.ctx.resumed = True
        return _cpd(ev)
    return Step("AuthorizationSetupReq", {})


def _pnc_authorization(ev) -> Step:
    mode = ev.contract_signer.authorization_mode(ev.ctx.gen_challenge)
    # The EV signs PnC_AReqAuthorizationMode with its contract key [V2G20-1063] (signature in the Header).
    return Step("AuthorizationReq", {"SelectedAuthorizationService": "PnC", "PnC_AReqAuthorizationMode": mode},
                header_signature=ev.contract_signer.sign_authorization_mode(mode))


def on_authorization_setup(ev, res: Message, now: float) -> Step:
    ctx = ev.ctx
    pnc = res.get("PnC_ASResAuthorizationMode")
    if ev.config.auth == "pnc" and "PnC" in res["AuthorizationServices"] and pnc:
        ctx.gen_challenge, ctx.auth_method = pnc["GenChallenge"], "PnC"
        if ev.contract_signer is None and ev.contract_installer is not None and res["CertificateInstallationService"]:
            body = ev.contract_installer.request_body()
            return Step("CertificateInstallationReq", body,
                        header_signature=ev.contract_installer.sign_request(body))
        if ev.contract_signer is not None:
            return _pnc_authorization(ev)
    if "EIM" not in res["AuthorizationServices"]:
        return _stop(ev, reason="no usable authorization service")
    ctx.auth_method = "EIM"
    return Step("AuthorizationReq", {"SelectedAuthorizationService": "EIM", "EIM_AReqAuthorizationMode": {}})


def on_certificate_installation(ev, res: Message, now: float) -> Step:
    if res["EVSEProcessing"] != "Finished":
        return _repeat(ev, ev.config.loop_period)
    try:
        ev.contract_signer = ev.contract_installer.accept(res, ev.last_payload)
    except Exception as exc:  # SignatureError / CertificateError / KeyDeliveryError: reject the Res [V2G20-2649]
        return _stop(ev, reason=f"certificate installation rejected ({getattr(exc, 'code', type(exc).__name__)})")
    ev.ctx.contract_installed = True
    return _pnc_authorization(ev)


def on_authorization(ev, res: Message, now: float) -> Step:
    if res["EVSEProcessing"] != "Finished":
        return _repeat(ev, ev.config.loop_period)
    if not res["ResponseCode"].startswith("OK"):
        return _stop(ev, reason=f"not authorized ({res['ResponseCode']})")
    return Step("ServiceDiscoveryReq", {})


def on_service_discovery(ev, res: Message, now: float) -> Step:
    if ev.ctx.service_renegotiation_supported is None:  # only the first answer counts [V2G20-1643]
        ev.ctx.service_renegotiation_supported = bool(res["ServiceRenegotiationSupported"])
    wanted = SERVICE_IDS[ev.config.service]
    offered = [s["ServiceID"] for s in res["EnergyTransferServiceList"]["Service"]]
    if wanted not in offered:
        return _stop(ev, reason=f"service {ev.config.service} not offered")
    return Step("ServiceDetailReq", {"ServiceID": wanted})


def on_service_detail(ev, res: Message, now: float) -> Step:
    mode = CONTROL_MODES[ev.config.mode]
    for parameter_set in res["ServiceParameterList"]["ParameterSet"]:
        values = {p["Name"]: p.get("intValue") for p in parameter_set["Parameter"]}
        if values.get("ControlMode") == mode:
            ev.ctx.parameter_set_id = parameter_set["ParameterSetID"]
            return Step("ServiceSelectionReq", {"SelectedEnergyTransferService": {
                "ServiceID": res["ServiceID"], "ParameterSetID": parameter_set["ParameterSetID"]}})
    return _stop(ev, reason=f"control mode {ev.config.mode} not offered")


def _cpd(ev) -> Step:
    if ev.ctx.is_dc:
        return Step("DC_ChargeParameterDiscoveryReq", energy.dc_cpd(ev.ctx))
    return Step("AC_ChargeParameterDiscoveryReq", energy.ac_cpd(ev.ctx))


def on_service_selection(ev, res: Message, now: float) -> Step:
    return _cpd(ev)


def schedule_request(ev) -> dict:
    b = ev.ctx.battery
    if ev.ctx.dynamic:
        mode = {"DepartureTime": 7200, "MinimumSOC": int(b.config.min_soc), "TargetSOC": int(b.config.target_soc),
                **energy._energy_requests(ev.ctx)}
        return {"MaximumSupportingPoints": 1024, "Dynamic_SEReqControlMode": mode}
    return {"MaximumSupportingPoints": 1024, "Scheduled_SEReqControlMode": {"DepartureTime": 7200}}


def on_charge_parameter_discovery(ev, res: Message, now: float) -> Step:
    mode = next(v for k, v in res.body.items() if k.endswith("CPDResEnergyTransferMode"))
    ev.ctx.evse_limits = {k: from_rational(v) for k, v in mode.items() if isinstance(v, dict)}
    return Step("ScheduleExchangeReq", schedule_request(ev))


def _power_delivery_start(ev) -> Step:
    body = {"EVProcessing": "Finished", "ChargeProgress": "Start",
            "EVPowerProfile": energy.power_profile(ev.ctx, int(ev.wall_clock()))}
    if ev.ctx.is_bpt:
        body["BPT_ChannelSelection"] = "Charge"
    return Step("PowerDeliveryReq", body)


def on_schedule_exchange(ev, res: Message, now: float) -> Step:
    if res["EVSEProcessing"] != "Finished":
        return _repeat(ev, ev.config.loop_period)
    if not ev.ctx.dynamic:
        tuples = res.get("Scheduled_SEResControlMode", {}).get("ScheduleTuple", [])
        if not tuples:
            return _stop(ev, reason="no schedule offered")
        ev.ctx.schedule_tuple_id = tuples[0]["ScheduleTupleID"]
    record_price_schedule(ev, res)
    if ev.ctx.is_dc:
        return Step("DC_CableCheckReq", {})  # CP already in C/D [V2G20-1418]
    return _power_delivery_start(ev)


def record_price_schedule(ev, res: Message) -> None:
    """Keep the AbsolutePriceSchedule offered with the selected schedule: the Receipts are checked against it."""
    ev.ctx.price_schedule = offered_price_schedule(res, ev.ctx.dynamic, ev.ctx.schedule_tuple_id)


def on_cable_check(ev, res: Message, now: float) -> Step:
    if res["EVSEProcessing"] != "Finished":
        return Step("DC_CableCheckReq", {}, delay=ev.config.loop_period)
    return _precharge(ev)


def _precharge(ev) -> Step:
    voltage = ev.ctx.battery.voltage
    ev.ctx.precharge_rounds += 1
    return Step("DC_PreChargeReq", {"EVProcessing": "Ongoing",
                                    "EVPresentVoltage": energy.rational(round(voltage, 1)),
                                    "EVTargetVoltage": energy.rational(round(voltage, 1))})


def on_precharge(ev, res: Message, now: float) -> Step:
    present = from_rational(res["EVSEPresentVoltage"])
    if abs(present - ev.ctx.battery.voltage) <= ev.config.precharge_tolerance_v:
        return _power_delivery_start(ev)
    if ev.ctx.precharge_rounds >= MAX_PRECHARGE_ROUNDS:
        return _stop(ev, reason="precharge did not reach the battery voltage")
    return _precharge(ev)


def _loop(ev, delay: float) -> Step:
    if ev.ctx.is_dc:
        return Step("DC_ChargeLoopReq", energy.dc_loop(ev.ctx), delay=delay)
    return Step("AC_ChargeLoopReq", energy.ac_loop(ev.ctx), delay=delay)


def on_power_delivery(ev, res: Message, now: float) -> Step:
    progress = ev.last_request_body["ChargeProgress"]
    if progress == "Standby":
        if res["ResponseCode"] != "OK":  # WARNING_StandbyNotAllowed: keep charging, no standby
            ev.ctx.standby_done = True
        return _loop(ev, ev.config.loop_period)  # the loop goes on in standby [V2G20-2120]
    if progress == "Start":
        if ev.ctx.last_loop_at is None:
            ev.ctx.last_loop_at = now
            return _loop(ev, 0.0)
        return _loop(ev, ev.config.loop_period)  # back from standby
    if ev.ctx.is_dc:
        return Step("DC_WeldingDetectionReq", {"EVProcessing": "Ongoing"})
    return _end_of_energy_transfer(ev)


def on_charge_loop(ev, res: Message, now: float) -> Step:
    ctx = ev.ctx
    if ctx.is_dc:
        power = from_rational(res["EVSEPresentVoltage"]) * from_rational(res["EVSEPresentCurrent"])
    else:
        mode = next(v for k, v in res.body.items() if k.endswith("_AC_CLResControlMode"))
        power = from_rational(mode.get("EVSEPresentActivePower"), from_rational(mode.get("EVSETargetActivePower")))
    ctx.account(power, now)
    ctx.loops += 1
    _check_evse_limits(ev, res, power)
    if "MeterInfo" in res.body:
        ctx.last_meter_info = res["MeterInfo"]
    receipt_ok = _check_receipt(ev, res)
    status = res.get("EVSEStatus") or {}
    if ev.config.renegotiate_after_loops and ctx.loops == ev.config.renegotiate_after_loops:
        ev.start_renegotiation()
    elif status.get("EVSENotification") == "ScheduleRenegotiation" and ev.config.follow_renegotiation_requests:
        ev.start_renegotiation()  # SECC-triggered: start within NotificationMaxDelay [V2G20-1052]
    if status.get("EVSENotification") == "MeteringConfirmation" and ev.config.metering_confirmation and receipt_ok:
        ev.queue_metering_confirmation(res.get("MeterInfo") or ctx.last_meter_info, res.get("Receipt"), now)
    standby = _standby_step(ev)
    if standby is not None:
        return standby
    if status.get("EVSENotification") in ("Terminate", "Pause"):
        ev.stop_kind = status["EVSENotification"]  # the EVSE asked: stop (or pause) the session
    if ev.stop_kind is not None or ctx.loops >= _loops_wanted(ev) \
            or (not ctx.battery.can_charge() and not ctx.discharging):
        ctx.account(0.0, now)
        return Step("PowerDeliveryReq", {"EVProcessing": "Finished", "ChargeProgress": "Stop"})
    return _loop(ev, ev.config.loop_period)


def _check_receipt(ev, res: Message) -> bool:
    """Check the response's Receipt against the offered prices and its MeterInfo; False when it does not check
    out and the EV rejects such receipts (it then neither signs it nor goes on charging)."""
    if "Receipt" not in res.body:
        return True
    ctx = ev.ctx
    entry = checked_receipt(ctx.earlier_loops + ctx.loops, ctx.price_schedule, res.get("MeterInfo"), res["Receipt"])
    ctx.receipts.append(entry)
    if entry["ok"]:
        return True
    log_event(_log, "receipt_mismatch", logging.WARNING, code=ERR_RECEIPT_MISMATCH, loop=entry["loop"],
              problems=entry["problems"])
    if not ev.config.reject_bad_receipts:
        return True
    if ev.stop_kind is None:
        ev.stop_kind, ev.stop_code = "Terminate", ERR_RECEIPT_MISMATCH
        ev.stop_reason = f"{ERR_RECEIPT_MISMATCH}: {entry['problems'][0]}"
    return False


def _check_evse_limits(ev, res: Message, power: float) -> None:
    """The SECC never exceeds the limits it announced in ChargeParameterDiscovery while serving targets
    [V2G20-2188], [V2G20-2654], [V2G20-2655]; a breach is recorded (the emulator is a conformance tester)."""
    limits, ctx = ev.ctx.evse_limits, ev.ctx
    key = "EVSEMaximumChargePower" if power >= 0 else "EVSEMaximumDischargePower"
    allowed = limits.get(key)
    if allowed is not None and abs(power) > allowed * 1.01 + 1.0:
        ctx.violations.append(f"[V2G20-2188] loop {ctx.loops}: |power| {abs(power):.0f} W > {key} {allowed:.0f} W")
    if ctx.is_dc:
        current = from_rational(res["EVSEPresentCurrent"])
        key = "EVSEMaximumChargeCurrent" if current >= 0 else "EVSEMaximumDischargeCurrent"
        allowed = limits.get(key)
        if allowed is not None and abs(current) > allowed * 1.01 + 0.5:
            ctx.violations.append(f"[V2G20-2188] loop {ctx.loops}: |current| {abs(current):.1f} A > {key} "
                                  f"{allowed:.1f} A")


def _standby_step(ev) -> Step | None:
    """EV profile with standby_loops: PowerDelivery(Standby) halfway through charging, Start after."""
    ctx, loops = ev.ctx, ev.config.standby_loops
    if loops <= 0 or ctx.standby_done:
        return None
    if ctx.standby_started_at_loop is None and ctx.loops >= max(1, ev.config.charge_loops // 2):
        ctx.standby_started_at_loop = ctx.loops
        return Step("PowerDeliveryReq", {"EVProcessing": "Finished", "ChargeProgress": "Standby"})
    if ctx.standby_started_at_loop is not None and ctx.loops >= ctx.standby_started_at_loop + loops:
        ctx.standby_done = True
        return Step("PowerDeliveryReq", {"EVProcessing": "Finished", "ChargeProgress": "Start"})
    return None


def _loops_wanted(ev) -> int:
    c = ev.config
    return c.charge_loops + c.standby_loops + (c.discharge_loops if ev.ctx.is_bpt else 0)


def on_welding_detection(ev, res: Message, now: float) -> Step:
    ev.ctx.welding_rounds += 1
    if from_rational(res["EVSEPresentVoltage"]) < SAFE_VOLTAGE or ev.ctx.welding_rounds >= MAX_WELDING_ROUNDS:
        return _end_of_energy_transfer(ev)
    return Step("DC_WeldingDetectionReq", {"EVProcessing": "Ongoing"})


def on_session_stop(ev, res: Message, now: float) -> Step:
    kind = ev.last_request_body["ChargingSession"]
    if kind == "ServiceRenegotiation" and not ev.stop_reason:
        # The SECC now expects ServiceDiscoveryReq [V2G20-1643]; a new charging phase follows.
        ctx = ev.ctx
        ctx.service_renegotiations += 1
        ctx.earlier_loops += ctx.loops
        ctx.loops, ctx.last_loop_at, ctx.precharge_rounds, ctx.welding_rounds = 0, None, 0, 0
        ctx.standby_started_at_loop, ctx.standby_done = None, False
        return Step("ServiceDiscoveryReq", {})
    if ev.stop_reason:
        return Step(None, {}, outcome="failed", reason=ev.stop_reason, code=ev.stop_code)
    return Step(None, {}, outcome="paused" if kind == "Pause" else "completed", reason=f"SessionStop {kind}")
