"""Tariffs as ISO 15118-20 AbsolutePriceSchedules, and Receipts priced from one MeterInfo under such a schedule.

The SECC builds the schedule from its `Tariff` and the Receipt of each ChargeLoopRes from the MeterInfo in that
same response; the EV prices the MeterInfo again under the schedule it was offered and compares. Both price
the *schedule tree* (what went over the wire), so the EV's check depends on nothing but the messages.

Choices the standard leaves open (the EV's check follows the same rules):
- One PriceRuleStack; its Duration is one day from the TimeAnchor, like the PowerSchedule we offer.
- Import is priced by the rule at PowerRangeStart 0. BPT export is priced by a rule at a negative
  PowerRangeStart (the offered discharge limit) whose EnergyFee is the credit per kWh, negated: one schedule then
  serves both control modes (Dynamic_SEResControlMode has room for a single price schedule). Without an export
  credit, exported energy costs nothing.
- EnergyCosts.Amount is the net amount: charged kWh x import fee + discharged kWh x export fee (a credit lowers
  it, it may be negative); EnergyCosts.CostPerUnit is the import fee per kWh.
- Occupancy (ParkingFee) and overstay (OverstayFee) are due per commenced fee period (like OCPI's step_size),
  counted from the price schedule's TimeAnchor to the Receipt's TimeAnchor; overstay starts
  OverstayTimeThreshold s after the TimeAnchor (time-triggered only: we never send OverstayPowerThreshold) and
  each OverstayRule runs from its StartTime to the next rule's. CostPerUnit = the fee per period.
- TaxRate is a percentage (19 = 19 %). A tax is computed on the sum of the *rounded* amounts it applies to (as an
  invoice does with its lines): base x rate / 100, or base x rate / (100 + rate) when TaxIncludedInPrice.
- Rounding: exact decimal arithmetic, then half-up (ties away from zero, the commercial rule of invoices) to the
  currency's minor unit, 10^-decimals. RationalNumber's Value is an int16, so an amount that does not fit at the
  minor unit (above 327.67 EUR) is rounded, from the exact value, at the next power of ten that fits. The EV
  accepts an amount when it equals the exact cost rounded half-up at the amount's own exponent.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

PRICE_ALGORITHMS = tuple(f"urn:iso:std:iso:15118:-20:PriceAlgorithm:{name}"
                         for name in ("1-Power", "2-PeakPower", "3-StackedEnergy"))  # facts §9
STACK_DURATION = 86_400
_INT16 = 32767
_COMPONENTS = (("EnergyCosts", "AppliesToEnergyFee"), ("OccupancyCosts", "AppliesToParkingFee"),
               ("OverstayCosts", "AppliesToOverstayFee"))


class PricingError(ValueError):
    """A price schedule this module cannot price from a MeterInfo alone (e.g. power-tiered rules)."""

    code = "ERR_TARIFF_UNPRICEABLE"


def decimal_of(value: Any) -> Decimal:
    """A config number (int, float as written, decimal string) as an exact Decimal; ValueError otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        raise ValueError(f"{value!r} is not a number")
    try:
        number = Decimal(str(value))  # str(float) is the shortest repr: 0.39 stays 0.39
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a number") from None
    if not number.is_finite():
        raise ValueError(f"{value!r} is not a finite number")
    return number


def exact_rational(value: Any) -> dict[str, int]:
    """RationalNumberType equal to `value`, or ValueError when no int16 Value x 10^int8 Exponent equals it."""
    number = decimal_of(value).normalize()
    if number == 0:
        return {"Exponent": 0, "Value": 0}
    exponent = number.as_tuple().exponent
    digits = int(number.scaleb(-exponent))
    if abs(digits) > _INT16 or not -128 <= exponent <= 127:
        raise ValueError(f"{value} needs more than 4 significant digits (RationalNumber Value is an int16)")
    return {"Exponent": exponent, "Value": digits}


def to_decimal(number: dict[str, int]) -> Decimal:
    return Decimal(number["Value"]).scaleb(number["Exponent"])


def round_at(amount: Decimal, exponent: int) -> Decimal:
    """`amount` rounded half-up (ties away from zero) to a multiple of 10^exponent."""
    return amount.quantize(Decimal(1).scaleb(exponent), rounding=ROUND_HALF_UP)


def rounded_amount(amount: Decimal, decimals: int) -> dict[str, int]:
    """RationalNumber of `amount` rounded to the minor unit, or coarser when the Value would overflow int16."""
    exponent = -decimals
    while True:
        value = int(round_at(amount, exponent).scaleb(-exponent))
        if abs(value) <= _INT16:
            return {"Exponent": exponent, "Value": value}
        exponent += 1


def absolute_price_schedule(tariff, anchor: int, discharge_power: float | None) -> dict:
    """AbsolutePriceScheduleType tree of `tariff` (a config.Tariff) from `anchor` (Unix s); `discharge_power`
    (W, > 0) adds the BPT export rule when the tariff credits export."""
    from iso15118.session.messages import rational
    parking = {}
    if tariff.parking_fee is not None:
        parking = {"ParkingFee": exact_rational(tariff.parking_fee), "ParkingFeePeriod": tariff.parking_fee_period_s}
    rules = []
    if tariff.export_credit is not None and discharge_power:
        rules.append({"EnergyFee": exact_rational(-decimal_of(tariff.export_credit)), **parking,
                      "PowerRangeStart": rational(-abs(discharge_power))})
    rules.append({"EnergyFee": exact_rational(tariff.energy_price), **parking,
                  "PowerRangeStart": {"Exponent": 0, "Value": 0}})
    schedule: dict = {"TimeAnchor": anchor, "PriceScheduleID": tariff.price_schedule_id}
    if tariff.description:
        schedule["PriceScheduleDescription"] = tariff.description
    schedule.update({"Currency": tariff.currency, "Language": tariff.language,
                     "PriceAlgorithm": tariff.price_algorithm})
    if tariff.tax_rules:
        schedule["TaxRules"] = {"TaxRule": [_tax_rule(rule) for rule in tariff.tax_rules]}
    schedule["PriceRuleStacks"] = {"PriceRuleStack": [{"Duration": STACK_DURATION, "PriceRule": rules}]}
    if tariff.overstay_rules:
        overstay: dict = {}
        if tariff.overstay_after_s:
            overstay["OverstayTimeThreshold"] = tariff.overstay_after_s
        overstay["OverstayRule"] = [
            {**({"OverstayRuleDescription": r.description} if r.description else {}),
             "StartTime": r.start_s, "OverstayFee": exact_rational(r.fee), "OverstayFeePeriod": r.period_s}
            for r in tariff.overstay_rules]
        schedule["OverstayRules"] = overstay
    return schedule


def _tax_rule(rule) -> dict:
    tree: dict = {"TaxRuleID": rule.id}
    if rule.name:
        tree["TaxRuleName"] = rule.name
    tree.update({"TaxRate": exact_rational(rule.percent), "TaxIncludedInPrice": rule.included_in_price,
                 "AppliesToEnergyFee": rule.applies_to_energy, "AppliesToParkingFee": rule.applies_to_parking,
                 "AppliesToOverstayFee": rule.applies_to_overstay, "AppliesMinimumMaximumCost": False})
    return tree


@dataclass(frozen=True)
class Costs:
    """Exact (unrounded) costs of one reading; a component is None when the schedule has no such fee."""

    energy: Decimal
    energy_unit: Decimal
    occupancy: Decimal | None = None
    occupancy_unit: Decimal | None = None
    overstay: Decimal | None = None
    overstay_unit: Decimal | None = None


def _periods(seconds: int, period: int) -> int:
    return math.ceil(max(0, seconds) / period)


def price_reading(schedule: dict, meter_info: dict, at: int) -> Costs:
    """Costs of the energy in `meter_info` (session-relative Wh) and of the time from the schedule's
    TimeAnchor to `at`, under `schedule` (AbsolutePriceScheduleType tree); PricingError if not priceable."""
    stacks = schedule["PriceRuleStacks"]["PriceRuleStack"]
    if len(stacks) != 1:
        raise PricingError(f"{len(stacks)} PriceRuleStacks: the energy per stack is not in one MeterInfo")
    rules = stacks[0]["PriceRule"]
    imports = [r for r in rules if to_decimal(r["PowerRangeStart"]) >= 0]
    exports = [r for r in rules if to_decimal(r["PowerRangeStart"]) < 0]
    if len(imports) != 1 or to_decimal(imports[0]["PowerRangeStart"]) != 0 or len(exports) > 1:
        raise PricingError("power-tiered PriceRules: the energy per power range is not in one MeterInfo")
    rule = imports[0]
    unit = to_decimal(rule["EnergyFee"])
    energy = Decimal(meter_info["ChargedEnergyReadingWh"]) / 1000 * unit
    if exports:
        energy += Decimal(meter_info.get("BPT_DischargedEnergyReadingWh", 0)) / 1000 \
            * to_decimal(exports[0]["EnergyFee"])
    elapsed = at - schedule["TimeAnchor"]
    costs = {"energy": energy, "energy_unit": unit}
    if "ParkingFee" in rule:
        if "ParkingFeePeriod" not in rule:
            raise PricingError("ParkingFee without ParkingFeePeriod")
        fee = to_decimal(rule["ParkingFee"])
        costs.update(occupancy=_periods(elapsed, rule["ParkingFeePeriod"]) * fee, occupancy_unit=fee)
    if "OverstayRules" in schedule:
        costs.update(zip(("overstay", "overstay_unit"), _overstay(schedule["OverstayRules"], elapsed)))
    return Costs(**costs)


def _overstay(rules_list: dict, elapsed: int) -> tuple[Decimal, Decimal]:
    if "OverstayPowerThreshold" in rules_list:
        raise PricingError("power-triggered overstay: the power history is not in one MeterInfo")
    since = elapsed - rules_list.get("OverstayTimeThreshold", 0)
    rules = sorted(rules_list["OverstayRule"], key=lambda r: r["StartTime"])
    amount, unit = Decimal(0), to_decimal(rules[0]["OverstayFee"])
    for i, rule in enumerate(rules):
        end = rules[i + 1]["StartTime"] if i + 1 < len(rules) else since
        if since <= rule["StartTime"]:
            break
        fee = to_decimal(rule["OverstayFee"])
        amount += _periods(min(end, since) - rule["StartTime"], rule["OverstayFeePeriod"]) * fee
        unit = fee
    return amount, unit


def tax_due(tax_rule: dict, receipt: dict) -> Decimal:
    """Exact tax of `tax_rule` (TaxRuleType tree) on the rounded amounts of `receipt` it applies to."""
    base = sum((to_decimal(receipt[name]["Amount"]) for name, flag in _COMPONENTS
                if tax_rule[flag] and name in receipt), Decimal(0))
    rate = to_decimal(tax_rule["TaxRate"])
    return base * rate / (100 + rate) if tax_rule.get("TaxIncludedInPrice") else base * rate / 100


def receipt(schedule: dict, meter_info: dict, at: int, decimals: int) -> dict:
    """ReceiptType tree for the reading `meter_info` at `at` (Unix s), amounts rounded to 10^-decimals."""
    costs = price_reading(schedule, meter_info, at)
    tree: dict = {"TimeAnchor": at,
                  "EnergyCosts": {"Amount": rounded_amount(costs.energy, decimals),
                                  "CostPerUnit": exact_rational(costs.energy_unit)}}
    for name, amount, unit in (("OccupancyCosts", costs.occupancy, costs.occupancy_unit),
                               ("OverstayCosts", costs.overstay, costs.overstay_unit)):
        if amount is not None:
            tree[name] = {"Amount": rounded_amount(amount, decimals), "CostPerUnit": exact_rational(unit)}
    taxes = schedule.get("TaxRules", {}).get("TaxRule", [])
    if taxes:
        tree["TaxCosts"] = [{"TaxRuleID": rule["TaxRuleID"], "Amount": rounded_amount(tax_due(rule, tree), decimals)}
                            for rule in taxes]
    return tree


def receipt_total(schedule: dict, receipt_tree: dict) -> Decimal:
    """What the receipt asks for: its cost amounts plus the taxes not already included in the prices."""
    included = {r["TaxRuleID"] for r in schedule.get("TaxRules", {}).get("TaxRule", [])
                if r.get("TaxIncludedInPrice")}
    total = sum((to_decimal(receipt_tree[name]["Amount"]) for name in
                 ("EnergyCosts", "OccupancyCosts", "AdditionalServicesCosts", "OverstayCosts")
                 if name in receipt_tree), Decimal(0))
    return total + sum((to_decimal(t["Amount"]) for t in receipt_tree.get("TaxCosts", [])
                        if t["TaxRuleID"] not in included), Decimal(0))
