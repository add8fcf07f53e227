"""Whole sessions (our EV against our SECC, in process) with and without a tariff: the AbsolutePriceSchedule
offered, the Receipts in the charge loop priced from the MeterInfo beside them (expected amounts worked out here
from the tariff and the metered Wh), signed into MeteringConfirmation, and checked by the EV."""
import json
from dataclasses import replace
from fractions import Fraction
from math import floor

import pytest
from lxml import etree

import exi
import tests.exi.test_roundtrip_property as roundtrip
from iso15118.evcc import EvConfig, run_in_process
from iso15118.secc import SeccConfig
from iso15118.session import codec
from iso15118.session.actions import Send
from iso15118.session.config import Tariff, TaxRule
from iso15118.session.messages import NS_AC, NS_COMMON, NS_DC, Message, schema_of
from tests.exi.conftest import need_shared

PRICE_CT, CREDIT_CT, PARKING_CT, VAT = 999, 250, 1, 19  # cents per kWh, cents per second, percent
TARIFF = Tariff(currency="EUR", energy_price=9.99, export_credit=2.50, parking_fee=0.01, parking_fee_period_s=1,
                tax_rules=(TaxRule(id=3, name="VAT", percent=19, applies_to_parking=True),))


def half_up(x: Fraction) -> int:
    return floor(x + Fraction(1, 2)) if x >= 0 else -floor(-x + Fraction(1, 2))


def cents(number: dict) -> Fraction:
    return Fraction(number["Value"]) * Fraction(10) ** number["Exponent"] * 100


def _run(tariff, service="dc_bpt", mode="scheduled", **ev):
    seen: list[tuple[str, str, Message]] = []

    def trace(side, direction, payload_type, message, now):
        seen.append((side, direction, message))

    config = SeccConfig() if tariff is None else SeccConfig(tariff=tariff)
    result = run_in_process(config, EvConfig(service=service, mode=mode, charge_loops=20, discharge_loops=10,
                                             **ev), trace=trace)
    sent = lambda side, name: [m for s, d, m in seen if s == side and d == "tx" and m.name == name]  # noqa: E731
    return result, sent


def _expected_cents(meter_info: dict, seconds: int) -> dict:
    energy = half_up(Fraction(meter_info["ChargedEnergyReadingWh"] * PRICE_CT
                              - meter_info.get("BPT_DischargedEnergyReadingWh", 0) * CREDIT_CT, 1000))
    parking = PARKING_CT * seconds
    return {"energy": energy, "parking": parking, "vat": half_up(Fraction((energy + parking) * VAT, 100))}


def test_dc_bpt_receipts_price_the_meter_info_beside_them_with_export_credited_and_the_ev_agrees():
    result, sent = _run(TARIFF)
    s = result.summary
    assert s["outcome"] == "completed", s
    [exchange] = sent("secc", "ScheduleExchangeRes")
    [schedule_tuple] = exchange["Scheduled_SEResControlMode"]["ScheduleTuple"]
    prices = schedule_tuple["ChargingSchedule"]["AbsolutePriceSchedule"]
    assert schedule_tuple["DischargingSchedule"]["AbsolutePriceSchedule"] == prices
    assert "PriceLevelSchedule" not in schedule_tuple["ChargingSchedule"]
    loops = [m for m in sent("secc", "DC_ChargeLoopRes") if "Receipt" in m.body]
    assert len(loops) == 30 == len(s["receipts"])  # the EV asks for MeterInfo in every loop
    for res, entry in zip(loops, s["receipts"]):
        info, got = res["MeterInfo"], res["Receipt"]
        want = _expected_cents(info, got["TimeAnchor"] - prices["TimeAnchor"])
        assert (cents(got["EnergyCosts"]["Amount"]), cents(got["OccupancyCosts"]["Amount"]),
                cents(got["TaxCosts"][0]["Amount"])) == (want["energy"], want["parking"], want["vat"])
        assert got["TaxCosts"][0]["TaxRuleID"] == 3
        assert entry["ok"] and entry["currency"] == "EUR"
        assert Fraction(entry["total"]) * 100 == want["energy"] + want["parking"] + want["vat"]
    last = loops[-1]["MeterInfo"]
    assert last["BPT_DischargedEnergyReadingWh"] > 0 and last["ChargedEnergyReadingWh"] > 0
    assert s["receipts_ok"] is True
    # the EV signs the Receipt together with the MeterInfo it was priced from [V2G20-1919]
    asked = next(m for m in loops if (m.get("EVSEStatus") or {}).get("EVSENotification") == "MeteringConfirmation")
    [confirmation] = sent("ev", "MeteringConfirmationReq")
    signed = confirmation["SignedMeteringData"]
    assert (signed["MeterInfo"], signed["Receipt"]) == (asked["MeterInfo"], asked["Receipt"])
    assert s["metering_confirmations"] == 1


def test_dynamic_ac_offers_the_absolute_price_schedule_and_its_receipts_check_out():
    result, sent = _run(TARIFF, service="ac", mode="dynamic")
    [exchange] = sent("secc", "ScheduleExchangeRes")
    prices = exchange["Dynamic_SEResControlMode"]["AbsolutePriceSchedule"]
    assert len(prices["PriceRuleStacks"]["PriceRuleStack"][0]["PriceRule"]) == 1  # no export rule outside BPT
    s = result.summary
    assert s["outcome"] == "completed" and s["receipts"] and s["receipts_ok"]
    for res in sent("secc", "AC_ChargeLoopRes"):
        want = _expected_cents(res["MeterInfo"], res["Receipt"]["TimeAnchor"] - prices["TimeAnchor"])
        assert cents(res["Receipt"]["EnergyCosts"]["Amount"]) == want["energy"]


@pytest.mark.parametrize("mode", ["scheduled", "dynamic"])
def test_without_a_tariff_the_exchange_is_unchanged_and_no_receipt_is_sent(mode):
    result, sent = _run(None, mode=mode)
    [exchange] = sent("secc", "ScheduleExchangeRes")
    if mode == "scheduled":
        charging = exchange["Scheduled_SEResControlMode"]["ScheduleTuple"][0]["ChargingSchedule"]
        assert "AbsolutePriceSchedule" not in charging
        assert charging["PriceLevelSchedule"]["NumberOfPriceLevels"] == 1
    else:
        assert exchange["Dynamic_SEResControlMode"] == {}
    assert not [m for m in sent("secc", "DC_ChargeLoopRes") if "Receipt" in m.body]
    assert "Receipt" not in sent("ev", "MeteringConfirmationReq")[0]["SignedMeteringData"]
    assert result.summary["outcome"] == "completed" and result.summary["receipts"] == []


def _tamper(loop_number: int):
    """Intercept that adds one cent to the EnergyCosts of the SECC's `loop_number`-th ChargeLoopRes."""
    count = [0]

    def intercept(side, send: Send):
        if side != "secc" or not send.message.name.endswith("ChargeLoopRes"):
            return send
        count[0] += 1
        if count[0] != loop_number:
            return send
        body = dict(send.message.body)
        amount = body["Receipt"]["EnergyCosts"]["Amount"]
        body["Receipt"] = {**body["Receipt"], "EnergyCosts": {**body["Receipt"]["EnergyCosts"], "Amount": {
            **amount, "Value": amount["Value"] + 1}}}
        message = Message(send.message.name, body)
        return Send(send.payload_type, codec.encode(message), message)
    return intercept


def test_a_tampered_receipt_is_flagged_with_its_reason_and_the_others_check_out(caplog):
    caplog.set_level("WARNING", logger="iso15118.evcc")
    result = run_in_process(SeccConfig(tariff=TARIFF), EvConfig(service="dc", charge_loops=10),
                            intercept=_tamper(6))
    s = result.summary
    assert s["outcome"] == "completed" and s["receipts_ok"] is False
    bad = [r for r in s["receipts"] if not r["ok"]]
    assert [r["loop"] for r in bad] == [6]
    assert "EnergyCosts.Amount" in bad[0]["problems"][0]  # one cent more than the MeterInfo's price
    logged = [json.loads(r.message) for r in caplog.records if "receipt_mismatch" in r.message]
    assert [(e["code"], e["loop"]) for e in logged] == [("ERR_RECEIPT_MISMATCH", 6)]


def test_an_ev_rejecting_bad_receipts_neither_signs_it_nor_goes_on_charging():
    # the 3rd ChargeLoopRes asks for the MeteringConfirmation (metering_confirmation_after_loops = 3)
    seen = []
    result = run_in_process(SeccConfig(tariff=TARIFF), EvConfig(service="dc", charge_loops=10,
                                                                reject_bad_receipts=True),
                            intercept=_tamper(3), trace=lambda side, d, pt, m, now: seen.append((side, d, m.name)))
    s = result.summary
    assert (s["outcome"], s["code"]) == ("failed", "ERR_RECEIPT_MISMATCH") and "EnergyCosts" in s["reason"]
    assert ("ev", "tx", "MeteringConfirmationReq") not in seen
    assert s["charge_loops"] == 3


def _validate(message: Message, tmp_root: str) -> None:
    """XSD-valid XML, and the EXI round trip gives back the same tree."""
    schema = schema_of(message.name)
    namespace = {"iso20": NS_COMMON, "iso20-dc": NS_DC, "iso20-ac": NS_AC}[schema]
    element = "{%s}%s" % (namespace, message.name)
    xml = exi.to_xml(codec.to_object(message), schema=schema, element=element)
    validator = roundtrip._validator(schema, tmp_root)
    assert validator.validate(etree.fromstring(xml)), validator.error_log.last_error
    data = codec.encode(message)
    assert exi.encode(xml, schema=schema) == data
    back, _ = codec.decode({"iso20": 0x8002, "iso20-dc": 0x8004, "iso20-ac": 0x8003}[schema], data)
    assert back == message


def test_price_schedule_receipt_and_signed_metering_data_are_schema_valid_and_round_trip(tmp_path_factory):
    need_shared()
    tariff = replace(TARIFF, description="Day tariff", tax_rules=TARIFF.tax_rules + (
        TaxRule(id=4, percent=2.5, included_in_price=True, applies_to_energy=False, applies_to_overstay=True),))
    _, sent = _run(tariff)
    tmp_root = str(tmp_path_factory.getbasetemp())
    loop = next(m for m in sent("secc", "DC_ChargeLoopRes") if "Receipt" in m.body)
    for message in (sent("secc", "ScheduleExchangeRes")[0], loop, sent("ev", "MeteringConfirmationReq")[0]):
        _validate(message, tmp_root)


def test_ongoing_and_renegotiated_exchanges_offer_the_same_prices_from_the_first_anchor():
    seen = []
    config = SeccConfig(tariff=TARIFF, schedule_ongoing_rounds=2)
    result = run_in_process(config, EvConfig(service="dc_bpt", charge_loops=20, discharge_loops=5,
                                             renegotiate_after_loops=5),
                            trace=lambda side, d, pt, m, now: seen.append(m) if side == "secc" and d == "tx"
                            and m.name == "ScheduleExchangeRes" else None)
    s = result.summary
    assert s["outcome"] == "completed" and s["renegotiations"] == 1
    offered = [m["Scheduled_SEResControlMode"]["ScheduleTuple"][0]["ChargingSchedule"]["AbsolutePriceSchedule"]
               for m in seen]
    # 2 Ongoing + Finished (the Ongoing rounds are counted per session), then the renegotiation's Finished
    assert len(offered) == 3 + 1 and all(o == offered[0] for o in offered)
    assert s["receipts"] and s["receipts_ok"]
