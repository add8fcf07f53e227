"""Clock-aligned meter values (AlignedDataCtrlr.Interval): boundaries counted from midnight (UTC here), so with
300 s the values fall on :00, :05, :10 … of every hour whenever the session started."""
from __future__ import annotations

import asyncio
import inspect
import math
import time
from collections.abc import Awaitable, Callable

from metering.ocpp.messages import SignedMeterReading
from metering.ocpp.transaction import Transaction

DAY = 86_400


def next_boundary(wall: float, interval: int) -> float:
    """The first aligned instant strictly after `wall`; a day's last partial interval ends at midnight."""
    midnight = math.floor(wall / DAY) * DAY
    boundary = midnight + (math.floor((wall - midnight) / interval) + 1) * interval
    return min(boundary, midnight + DAY)


async def sample_aligned(tx: Transaction, read: Callable[[], SignedMeterReading | Awaitable[SignedMeterReading]],
                         interval: int, clock: Callable[[], float] = time.time,
                         sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
    """At every boundary, take a signed reading and queue it as an aligned Updated; runs until cancelled
    (cancel it when the transaction ends). interval 0 = aligned data off."""
    if interval <= 0:
        return
    while True:
        boundary = next_boundary(clock(), interval)
        await sleep(max(0.0, boundary - clock()))
        reading = read()
        if inspect.isawaitable(reading):
            reading = await reading
        await tx.aligned(reading)
