"""ScheduleExchange (Scheduled and Dynamic) and PowerDelivery (Start, Stop, Standby, ScheduleRenegotiation)."""
from __future__ import annotations

from iso15118.session.messages import Message, rational
from iso15118.session.response_codes import ResponseCode as RC
from iso15118.session.sequence import Reply
from iso15118.session.tariff import absolute_price_schedule

SCHEDULE_TUPLE_ID = 1
_DAY = 86_400


def _limits(session) -> tuple[float, float]:
    """(max charge power, max discharge power) the SECC offers for the selected service."""
    ctx = session.ctx
    limits = session.config.dc if ctx.is_dc else session.config.ac
    charge = min(limits.max_charge_power, ctx.ev_limits.get("max_charge_power", limits.max_charge_power))
    discharge = 0.0
    if ctx.is_bpt:
        discharge = min(limits.max_discharge_power,
                        ctx.ev_limits.get("max_discharge_power", limits.max_discharge_power))
    return charge, discharge


def _power_schedule(anchor: int, power: float) -> dict:
    return {"TimeAnchor": anchor,
            "PowerScheduleEntries": {"PowerScheduleEntry": [{"Duration": _DAY, "Power": rational(power)}]}}


def _price_schedule(session, anchor: int, discharge: float) -> dict | None:
    """The tariff's AbsolutePriceSchedule, kept in the session for its Receipts. Its TimeAnchor is the first
    offer's: occupancy runs from there, through renegotiations and pauses of the same service session."""
    tariff = session.config.tariff
    if tariff is None:
        return None
    extra = session.ctx.extra
    schedule = absolute_price_schedule(tariff, extra.setdefault("tariff_anchor", anchor), discharge)
    extra["price_schedule"] = schedule
    return schedule


def _charging_schedule(session, anchor: int, power: float, prices: dict | None) -> dict:
    schedule: dict = {"PowerSchedule": _power_schedule(anchor, power)}
    if prices is not None:
        schedule["AbsolutePriceSchedule"] = prices
    elif session.config.flat_price_level_schedule:
        schedule["PriceLevelSchedule"] = {
            "TimeAnchor": anchor, "PriceScheduleID": 1, "NumberOfPriceLevels": 1,
            "PriceLevelScheduleEntries": {"PriceLevelScheduleEntry": [{"Duration": _DAY, "PriceLevel": 0}]}}
    return schedule


def schedule_exchange(session, req: Message, now: float) -> Reply:
    ctx, config = session.ctx, session.config
    wanted = "Dynamic_SEReqControlMode" if ctx.control_mode == "dynamic" else "Scheduled_SEReqControlMode"
    if wanted not in req.body:
        return Reply({"EVSEProcessing": "Finished", "Dynamic_SEResControlMode": {}},
                     RC.FAILED_WrongChargeParameter.value)
    ongoing = ctx.schedule_rounds < config.schedule_ongoing_rounds
    ctx.schedule_rounds += 1
    processing = "Ongoing" if ongoing else "Finished"
    anchor = int(session.wall_clock())
    charge, discharge = _limits(session)
    prices = _price_schedule(session, anchor, discharge)
    if ctx.control_mode == "dynamic":
        mode = {} if prices is None else {"AbsolutePriceSchedule": prices}
        return Reply({"EVSEProcessing": processing, "Dynamic_SEResControlMode": mode}, stay=ongoing)
    schedule_tuple = {"ScheduleTupleID": SCHEDULE_TUPLE_ID,
                      "ChargingSchedule": _charging_schedule(session, anchor, charge, prices)}
    if ctx.is_bpt:
        # Discharge power is negative in -20 schedules; the price schedule is the same (its export rule).
        schedule_tuple["DischargingSchedule"] = _charging_schedule(session, anchor, -discharge, prices)
    ctx.schedule_tuple_id = SCHEDULE_TUPLE_ID
    return Reply({"EVSEProcessing": processing,
                  "Scheduled_SEResControlMode": {"ScheduleTuple": [schedule_tuple]}}, stay=ongoing)


def power_delivery(session, req: Message, now: float) -> Reply:
    ctx = session.ctx
    charger = ctx.connector.charger
    progress = req["ChargeProgress"]
    if progress == "ScheduleRenegotiation":
        return Reply({}, RC.FAILED_SequenceError.value)  # only on the 0x8101 side stream [V2G20-2018]
    charging = session.in_charge_loop
    if progress == "Start" and charging:
        if not ctx.standby:
            return Reply({}, RC.FAILED_SequenceError.value)  # already delivering power
        ctx.standby = False  # leave standby: power flows again from the next loop
        return Reply({}, stay=True)
    if progress == "Start":
        if req["EVProcessing"] != "Finished":
            return Reply({}, stay=True)  # the EV is still preparing its profile
        profile = req.get("EVPowerProfile")
        if ctx.control_mode == "scheduled":
            selected = (profile or {}).get("Scheduled_EVPPTControlMode", {}).get("SelectedScheduleTupleID")
            if selected != ctx.schedule_tuple_id:
                return Reply({}, RC.FAILED_ScheduleSelectionInvalid.value)
        ctx.extra["ev_power_profile"] = profile
        if not charger.close_contactors(now):
            return Reply({}, RC.FAILED_ContactorError.value)  # [V2G20-858], [V2G20-861]
        ctx.power_started_at = now
        return Reply({})
    if progress == "Standby":
        if not session.config.standby_allowed or not charging:
            return Reply({}, RC.WARNING_StandbyNotAllowed.value, stay=True)
        ctx.standby = True  # session and contactors kept, no power until PowerDelivery(Start) [V2G20-2193]
        return Reply({}, stay=True)
    # Stop: answer OK only with the contactors open [V2G20-863].
    if not charger.open_contactors(now):
        return Reply({}, RC.FAILED_ContactorError.value)
    return Reply({})


def renegotiated_power_delivery(session, req: Message, now: float) -> Reply:
    """Side stream 0x8101: the EV commits to the renegotiated schedule; it applies from the next main-stream
    ChargeLoopReq [V2G20-1049], [V2G20-1050] while charging goes on [V2G20-1051]."""
    ctx = session.ctx
    if req["ChargeProgress"] != "ScheduleRenegotiation":
        return Reply({}, RC.FAILED_SequenceError.value)
    profile = req.get("EVPowerProfile")
    if ctx.control_mode == "scheduled":
        selected = (profile or {}).get("Scheduled_EVPPTControlMode", {}).get("SelectedScheduleTupleID")
        if selected != ctx.schedule_tuple_id:
            return Reply({}, RC.FAILED_ScheduleSelectionInvalid.value)
    ctx.extra["ev_power_profile"] = profile
    ctx.power_started_at = now
    ctx.renegotiations += 1
    ctx.renegotiation_wanted, ctx.renegotiation_announced_at, ctx.renegotiation_announcements = False, None, 0
    return Reply({})
