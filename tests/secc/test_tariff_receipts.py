"""Tariff -> AbsolutePriceSchedule -> Receipt. Expected amounts are worked out here with integer/Fraction
arithmetic from the tariff and the metered Wh (half-up to cents, coarser only past RationalNumber's int16)."""
from fractions import Fraction
from math import ceil, floor

import pytest

from iso15118.session.config import ConfigError, OverstayRule, SeccConfig, Tariff, TaxRule, load_config
from iso15118.session.tariff import PricingError, absolute_price_schedule, price_reading, receipt

ANCHOR = 1_800_000_000


def half_up(x: Fraction) -> int:
    """x rounded to an integer, ties away from zero."""
    return floor(x + Fraction(1, 2)) if x >= 0 else -floor(-x + Fraction(1, 2))


def value(number: dict) -> Fraction:
    return Fraction(number["Value"]) * Fraction(10) ** number["Exponent"]


def cents(number: dict) -> Fraction:
    return value(number) * 100


def _receipt(tariff: Tariff, charged_wh: int, discharged_wh: int | None = None, seconds: int = 0,
             discharge_power: float | None = None) -> dict:
    schedule = absolute_price_schedule(tariff, ANCHOR, discharge_power)
    info = {"MeterID": "M", "ChargedEnergyReadingWh": charged_wh}
    if discharged_wh is not None:
        info["BPT_DischargedEnergyReadingWh"] = discharged_wh
    return receipt(schedule, info, ANCHOR + seconds, tariff.decimals)


def test_energy_costs_are_the_charged_kwh_times_the_price_rounded_half_up_to_cents():
    r = _receipt(Tariff(energy_price=0.39), charged_wh=12_345)
    # 12.345 kWh x 0.39 EUR = 4.81455 EUR -> 481 cents
    assert r["EnergyCosts"]["Amount"] == {"Exponent": -2, "Value": half_up(Fraction(12_345 * 39, 1000))} \
        == {"Exponent": -2, "Value": 481}
    assert value(r["EnergyCosts"]["CostPerUnit"]) == Fraction(39, 100)
    assert r["TimeAnchor"] == ANCHOR and "OccupancyCosts" not in r and "TaxCosts" not in r


@pytest.mark.parametrize("wh, expected_cents", [(10, 1), (30, 2), (50, 3), (70, 4)])
def test_a_half_cent_rounds_up_not_to_even(wh, expected_cents):
    # 0.50 EUR/kWh: 10 Wh = 0.5 ct, 50 Wh = 2.5 ct (banker's rounding would give 0 and 2)
    r = _receipt(Tariff(energy_price=0.5), charged_wh=wh)
    assert cents(r["EnergyCosts"]["Amount"]) == expected_cents == half_up(Fraction(wh * 50, 1000))


def test_an_amount_past_int16_cents_is_rounded_at_the_next_power_of_ten_from_the_exact_value():
    r = _receipt(Tariff(energy_price=0.39), charged_wh=1_234_567)
    exact = Fraction(1_234_567 * 39, 100_000)  # 481.48113 EUR: 48148 cents do not fit an int16
    assert r["EnergyCosts"]["Amount"] == {"Exponent": -1, "Value": half_up(exact * 10)} \
        == {"Exponent": -1, "Value": 4815}


def test_bpt_export_is_credited_in_the_net_energy_amount():
    tariff = Tariff(energy_price=0.40, export_credit=0.25)
    r = _receipt(tariff, charged_wh=8_000, discharged_wh=3_333, discharge_power=11_000)
    # 8 kWh x 0.40 - 3.333 kWh x 0.25 = 3.20 - 0.83325 = 2.36675 -> 2.37
    assert cents(r["EnergyCosts"]["Amount"]) == half_up(Fraction(8_000 * 40 - 3_333 * 25, 1000)) == 237
    assert value(r["EnergyCosts"]["CostPerUnit"]) == Fraction(40, 100)


def test_a_negative_net_amount_rounds_away_from_zero():
    tariff = Tariff(energy_price=0.5, export_credit=0.1)
    r = _receipt(tariff, charged_wh=10, discharged_wh=100, discharge_power=11_000)
    # 0.5 ct - 1 ct = -0.5 ct -> -1 ct
    assert cents(r["EnergyCosts"]["Amount"]) == -1


def test_export_is_free_without_a_credit_or_outside_bpt():
    r = _receipt(Tariff(energy_price=0.40), charged_wh=1_000, discharged_wh=5_000, discharge_power=11_000)
    assert cents(r["EnergyCosts"]["Amount"]) == 40
    schedule = absolute_price_schedule(Tariff(energy_price=0.4, export_credit=0.2), ANCHOR, None)
    assert len(schedule["PriceRuleStacks"]["PriceRuleStack"][0]["PriceRule"]) == 1


def test_parking_is_due_per_commenced_period_from_the_schedule_anchor():
    tariff = Tariff(energy_price=0.30, parking_fee=0.10, parking_fee_period_s=60)
    for seconds in (0, 1, 60, 61, 3599):
        r = _receipt(tariff, charged_wh=0, seconds=seconds)
        assert cents(r["OccupancyCosts"]["Amount"]) == 10 * ceil(seconds / 60)
        assert value(r["OccupancyCosts"]["CostPerUnit"]) == Fraction(1, 10)


def test_overstay_fees_start_after_the_threshold_and_change_with_each_rule():
    tariff = Tariff(energy_price=0.30, overstay_after_s=3600,
                    overstay_rules=(OverstayRule(fee=1.0, period_s=600),
                                    OverstayRule(fee=2.0, period_s=600, start_s=1800)))
    assert cents(_receipt(tariff, 0, seconds=3600)["OverstayCosts"]["Amount"]) == 0
    r = _receipt(tariff, 0, seconds=3600 + 2500)
    # first rule 1800 s = 3 periods x 1.00; second rule 700 s = 2 commenced periods x 2.00
    assert cents(r["OverstayCosts"]["Amount"]) == 3 * 100 + 2 * 200
    assert value(r["OverstayCosts"]["CostPerUnit"]) == 2


def test_taxes_on_top_of_net_prices_and_included_in_gross_prices():
    vat = TaxRule(id=7, name="VAT", percent=19, applies_to_parking=True)
    r = _receipt(Tariff(energy_price=0.5, parking_fee=0.1, tax_rules=(vat,)), charged_wh=10_000, seconds=300)
    base = 500 + 5 * 10  # cents: energy 5.00 + parking 5 min x 0.10
    assert r["TaxCosts"] == [{"TaxRuleID": 7, "Amount": {"Exponent": -2, "Value": half_up(Fraction(base * 19, 100))}}]
    included = TaxRule(id=1, percent=19, included_in_price=True)  # energy only
    r = _receipt(Tariff(energy_price=0.5, parking_fee=0.1, tax_rules=(included,)), charged_wh=10_000, seconds=300)
    assert cents(r["TaxCosts"][0]["Amount"]) == half_up(Fraction(500 * 19, 119)) == 80


def test_the_schedule_carries_the_tariff_within_the_schema_limits():
    tariff = Tariff(currency="CHF", energy_price=0.3949, export_credit=0.12, parking_fee=1.5,
                    parking_fee_period_s=3600, price_algorithm="urn:iso:std:iso:15118:-20:PriceAlgorithm:2-PeakPower",
                    tax_rules=tuple(TaxRule(id=i + 1, percent=i) for i in range(10)),
                    overstay_rules=tuple(OverstayRule(fee=1, start_s=600 * i) for i in range(5)))
    s = absolute_price_schedule(tariff, ANCHOR, 20_000)
    assert (s["Currency"], s["TimeAnchor"], s["PriceAlgorithm"]) == ("CHF", ANCHOR, tariff.price_algorithm)
    rules = s["PriceRuleStacks"]["PriceRuleStack"][0]["PriceRule"]
    assert [value(r["PowerRangeStart"]) for r in rules] == [-20_000, 0]  # ascending, export first
    assert [value(r["EnergyFee"]) for r in rules] == [Fraction(-12, 100), Fraction(3949, 10_000)]
    assert all(value(r["ParkingFee"]) == Fraction(3, 2) and r["ParkingFeePeriod"] == 3600 for r in rules)
    assert len(s["TaxRules"]["TaxRule"]) == 10 and len(s["OverstayRules"]["OverstayRule"]) == 5


@pytest.mark.parametrize("bad", [
    {"energy_price": 0.123456}, {"currency": "EURO"}, {"price_algorithm": "urn:x"}, {"parking_fee_period_s": 0},
    {"tax_rules": (TaxRule(id=1), TaxRule(id=1))}, {"tax_rules": tuple(TaxRule(id=i + 1) for i in range(11))},
    {"overstay_rules": tuple(OverstayRule() for _ in range(6))}, {"energy_price": "abc"}])
def test_a_tariff_the_schema_cannot_carry_is_a_config_error(bad):
    with pytest.raises(ConfigError):
        Tariff(**bad)


def test_the_tariff_loads_from_the_secc_config_file(tmp_path):
    path = tmp_path / "secc.toml"
    path.write_text('[tariff]\ncurrency = "EUR"\nenergy_price = 0.39\nexport_credit = 0.12\n'
                    'parking_fee = 0.05\nparking_fee_period_s = 60\n'
                    '[[tariff.tax_rules]]\nid = 1\nname = "VAT"\npercent = 19\napplies_to_parking = true\n'
                    '[[tariff.overstay_rules]]\nfee = 0.5\nperiod_s = 600\n')
    config = load_config(SeccConfig, path)
    assert config.tariff == Tariff(energy_price=0.39, export_credit=0.12, parking_fee=0.05,
                                   tax_rules=(TaxRule(id=1, name="VAT", percent=19, applies_to_parking=True),),
                                   overstay_rules=(OverstayRule(fee=0.5, period_s=600),))
    bad = tmp_path / "bad.toml"
    bad.write_text('[tariff]\nenergy_price = 0.39\nvat = 19\n')
    with pytest.raises(ConfigError):
        load_config(SeccConfig, bad)


def test_power_tiered_or_time_of_use_schedules_are_refused_rather_than_mispriced():
    schedule = absolute_price_schedule(Tariff(energy_price=0.3), ANCHOR, None)
    stack = schedule["PriceRuleStacks"]["PriceRuleStack"][0]
    tiered = {**schedule, "PriceRuleStacks": {"PriceRuleStack": [
        {**stack, "PriceRule": stack["PriceRule"] + [{"EnergyFee": {"Exponent": 0, "Value": 1},
                                                      "PowerRangeStart": {"Exponent": 3, "Value": 50}}]}]}}
    two_stacks = {**schedule, "PriceRuleStacks": {"PriceRuleStack": [stack, stack]}}
    for bad in (tiered, two_stacks):
        with pytest.raises(PricingError):
            price_reading(bad, {"ChargedEnergyReadingWh": 1}, ANCHOR)
