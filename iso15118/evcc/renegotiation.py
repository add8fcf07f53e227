"""EV-triggered schedule renegotiation on the side stream 0x8101 while the charge loop goes on
[V2G20-1045..1051]: ChargeParameterDiscovery -> ScheduleExchange (repeated while Ongoing) ->
PowerDelivery(ScheduleRenegotiation) with the new profile. One table: awaited response -> next request."""
from __future__ import annotations

from iso15118.session.messages import Message

from . import energy
from .handlers import record_price_schedule, schedule_request


def first_request(ev) -> tuple[str, dict]:
    if ev.ctx.is_dc:
        return "DC_ChargeParameterDiscoveryReq", energy.dc_cpd(ev.ctx)
    return "AC_ChargeParameterDiscoveryReq", energy.ac_cpd(ev.ctx)


def _after_parameters(ev, res: Message) -> tuple[str, dict] | None:
    return "ScheduleExchangeReq", schedule_request(ev)


def _after_schedule(ev, res: Message) -> tuple[str, dict] | None:
    if res["EVSEProcessing"] != "Finished":
        return "ScheduleExchangeReq", schedule_request(ev)
    if not ev.ctx.dynamic:
        ev.ctx.schedule_tuple_id = res["Scheduled_SEResControlMode"]["ScheduleTuple"][0]["ScheduleTupleID"]
    record_price_schedule(ev, res)
    return "PowerDeliveryReq", {"EVProcessing": "Finished", "ChargeProgress": "ScheduleRenegotiation",
                                "EVPowerProfile": energy.power_profile(ev.ctx, int(ev.wall_clock()))}


def _after_power_delivery(ev, res: Message) -> tuple[str, dict] | None:
    ev.ctx.renegotiations += 1
    return None


SEQUENCE = {
    "DC_ChargeParameterDiscoveryRes": _after_parameters,
    "AC_ChargeParameterDiscoveryRes": _after_parameters,
    "ScheduleExchangeRes": _after_schedule,
    "PowerDeliveryRes": _after_power_delivery,
}
