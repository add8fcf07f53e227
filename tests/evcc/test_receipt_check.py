"""The EV's receipt check names what does not match; it never raises on a malformed Receipt."""
from iso15118.evcc.cli import _config, _parser
from iso15118.evcc.receipts import checked_receipt, mismatches
from iso15118.session.config import Tariff, TaxRule
from iso15118.session.tariff import absolute_price_schedule, receipt

ANCHOR = 1_800_000_000
TARIFF = Tariff(energy_price=0.39, parking_fee=0.05, tax_rules=(TaxRule(id=1, percent=19),))
SCHEDULE = absolute_price_schedule(TARIFF, ANCHOR, None)
INFO = {"MeterID": "M", "ChargedEnergyReadingWh": 20_000}
GOOD = receipt(SCHEDULE, INFO, ANCHOR + 600, 2)


def test_a_correct_receipt_checks_out_and_its_total_adds_the_tax():
    entry = checked_receipt(1, SCHEDULE, INFO, GOOD)
    assert entry["ok"] and entry["problems"] == []
    # 20 kWh x 0.39 = 7.80; 10 min x 0.05 = 0.50; VAT 19 % of 7.80 (energy only) = 1.482 -> 1.48
    assert (entry["energy"], entry["occupancy"], entry["taxes"], entry["total"]) == \
        ("7.80", "0.50", {"1": "1.48"}, "9.78")


def test_each_kind_of_mismatch_is_named():
    wrong_unit = {**GOOD, "EnergyCosts": {**GOOD["EnergyCosts"], "CostPerUnit": {"Exponent": -2, "Value": 38}}}
    assert "EnergyCosts.CostPerUnit" in mismatches(SCHEDULE, INFO, wrong_unit)[0]
    no_tax = {k: v for k, v in GOOD.items() if k != "TaxCosts"}
    assert mismatches(SCHEDULE, INFO, no_tax) == ["TaxCosts for TaxRule 1 missing"]
    extra_tax = {**GOOD, "TaxCosts": GOOD["TaxCosts"] + [{"TaxRuleID": 9, "Amount": {"Exponent": 0, "Value": 1}}]}
    assert mismatches(SCHEDULE, INFO, extra_tax) == ["TaxCosts for unknown TaxRule 9"]
    later = {**GOOD, "TimeAnchor": ANCHOR + 660}  # one more minute of parking not charged
    assert "OccupancyCosts.Amount" in mismatches(SCHEDULE, INFO, later)[0]
    assert "MeterInfo" in mismatches(SCHEDULE, None, GOOD)[0]
    assert "AbsolutePriceSchedule" in mismatches(None, INFO, GOOD)[0]


def test_a_malformed_receipt_is_a_mismatch_not_a_crash():
    entry = checked_receipt(1, SCHEDULE, INFO, {"EnergyCosts": {"Amount": "x"}})
    assert not entry["ok"] and entry["problems"]


def test_v2g_ev_reject_bad_receipts_option():
    assert _config(_parser().parse_args(["--reject-bad-receipts"])).reject_bad_receipts is True
    assert _config(_parser().parse_args([])).reject_bad_receipts is False
