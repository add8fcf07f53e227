"""The EV's check of the SECC's Receipts (ChargeLoopRes): each one is priced again from the AbsolutePriceSchedule
the EV was offered and the MeterInfo of the same response [V2G20-1919]; every amount must be that exact cost
rounded half-up at the amount's own exponent, every CostPerUnit the schedule's fee (pricing and rounding rules:
iso15118.session.tariff). A mismatch is reported with its reason; it is never corrected."""
from __future__ import annotations

from decimal import Decimal

from iso15118.session.messages import Message
from iso15118.session.tariff import price_reading, receipt_total, round_at, tax_due, to_decimal

ERR_RECEIPT_MISMATCH = "ERR_RECEIPT_MISMATCH"
_MALFORMED = (KeyError, TypeError, ValueError, ArithmeticError, IndexError)


def offered_price_schedule(res: Message, dynamic: bool, tuple_id: int | None) -> dict | None:
    """The AbsolutePriceSchedule of a ScheduleExchangeRes: Dynamic_SEResControlMode's, or the charging
    schedule's of the selected ScheduleTuple (its DischargingSchedule carries the same one from our SECC)."""
    if dynamic:
        return res.get("Dynamic_SEResControlMode", {}).get("AbsolutePriceSchedule")
    for schedule_tuple in res.get("Scheduled_SEResControlMode", {}).get("ScheduleTuple", []):
        if schedule_tuple["ScheduleTupleID"] == tuple_id:
            return schedule_tuple["ChargingSchedule"].get("AbsolutePriceSchedule")
    return None


def _amount_problem(name: str, amount: dict, exact: Decimal) -> str | None:
    got, expected = to_decimal(amount), round_at(exact, amount["Exponent"])
    return None if got == expected else f"{name}.Amount {got} != {expected} (exact {exact.normalize()})"


def mismatches(schedule: dict | None, meter_info: dict | None, receipt: dict) -> list[str]:
    """Why `receipt` is not the cost of `meter_info` under `schedule` (empty: it checks out)."""
    if schedule is None:
        return ["Receipt without an AbsolutePriceSchedule offered"]
    if meter_info is None:
        return ["Receipt without MeterInfo in the same ChargeLoopRes [V2G20-1919]"]
    try:
        costs = price_reading(schedule, meter_info, receipt["TimeAnchor"])
        problems = []
        for name, exact, unit in (("EnergyCosts", costs.energy, costs.energy_unit),
                                  ("OccupancyCosts", costs.occupancy, costs.occupancy_unit),
                                  ("OverstayCosts", costs.overstay, costs.overstay_unit)):
            if exact is None:
                if name in receipt:
                    problems.append(f"{name} but the price schedule has no such fee")
                continue
            if name not in receipt:
                problems.append(f"{name} missing")
                continue
            problem = _amount_problem(name, receipt[name]["Amount"], exact)
            problems += [problem] if problem else []
            if to_decimal(receipt[name]["CostPerUnit"]) != unit:
                problems.append(f"{name}.CostPerUnit {to_decimal(receipt[name]['CostPerUnit'])} != fee {unit}")
        if "AdditionalServicesCosts" in receipt and "AdditionalSelectedServices" not in schedule:
            problems.append("AdditionalServicesCosts but no additional service was offered")
        rules = {r["TaxRuleID"]: r for r in schedule.get("TaxRules", {}).get("TaxRule", [])}
        taxes = {t["TaxRuleID"]: t for t in receipt.get("TaxCosts", [])}
        problems += [f"TaxCosts for TaxRule {i} missing" for i in rules.keys() - taxes.keys()]
        problems += [f"TaxCosts for unknown TaxRule {i}" for i in taxes.keys() - rules.keys()]
        for rule_id in rules.keys() & taxes.keys():
            problem = _amount_problem(f"TaxCosts[{rule_id}]", taxes[rule_id]["Amount"],
                                      tax_due(rules[rule_id], receipt))
            problems += [problem] if problem else []
        return problems
    except _MALFORMED as exc:
        return [f"{getattr(exc, 'code', 'malformed')}: {exc!r}"]


def checked_receipt(loop: int, schedule: dict | None, meter_info: dict | None, receipt: dict) -> dict:
    """Summary entry of one Receipt: its amounts (decimal strings), total, and whether it checked out."""
    problems = mismatches(schedule, meter_info, receipt)
    entry: dict = {"loop": loop, "time_anchor": receipt.get("TimeAnchor"),
                   "currency": (schedule or {}).get("Currency"),
                   "meter_wh": {"import": (meter_info or {}).get("ChargedEnergyReadingWh"),
                                "export": (meter_info or {}).get("BPT_DischargedEnergyReadingWh")}}
    try:
        for key, name in (("energy", "EnergyCosts"), ("occupancy", "OccupancyCosts"),
                          ("overstay", "OverstayCosts")):
            if name in receipt:
                entry[key] = str(to_decimal(receipt[name]["Amount"]))
        entry["taxes"] = {str(t["TaxRuleID"]): str(to_decimal(t["Amount"])) for t in receipt.get("TaxCosts", [])}
        entry["total"] = str(receipt_total(schedule or {}, receipt))
    except _MALFORMED as exc:
        problems.append(f"malformed: {exc!r}")
    entry.update(ok=not problems, problems=problems)
    return entry
