"""The site's power decision in Dynamic control mode (the SECC, not the EV, sets the power)."""
from __future__ import annotations


def dynamic_setpoint(session, now: float) -> float:
    """Power for this loop from the configured (until-seconds, watts) steps since PowerDelivery(Start),
    clamped to the EV's discharge ability (no export unless BPT)."""
    ctx = session.ctx
    elapsed = now - (ctx.power_started_at if ctx.power_started_at is not None else now)
    power = 0.0
    for until, watts in session.config.dynamic_setpoints:
        if elapsed < until:
            power = watts
            break
    if power < 0:
        if not ctx.is_bpt:
            return 0.0
        return max(power, -(ctx.ev_limits.get("max_discharge_power") or 0.0))
    return min(power, ctx.ev_limits.get("max_charge_power", power))
