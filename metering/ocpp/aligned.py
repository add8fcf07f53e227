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
                         interval: int | Callable[[], int], clock: Callable[[], float] = time.time,
                         sleep: Callable[[float | None], Awaitable[bool | None]] = asyncio.sleep) -> None:
    """At every boundary, take a signed reading and queue it as an aligned Updated; runs until cancelled
    (cancel it when the transaction ends). interval 0 = aligned data off. A callable `interval` is read before
    each wait; then `sleep(seconds)` returns True when the value may have changed (the boundary is recomputed)
    and `sleep(None)` waits for a change while the interval is 0."""
    current = interval if callable(interval) else (lambda: interval)
    while True:
        step = current()
        if step <= 0:
            if not callable(interval):
                return
            await sleep(None)
            continue
        boundary = next_boundary(clock(), step)
        if await sleep(max(0.0, boundary - clock())):
            continue
        reading = read()
        if inspect.isawaitable(reading):
            reading = await reading
        await tx.aligned(reading)
