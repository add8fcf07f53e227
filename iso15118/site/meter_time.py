"""Simulated meter time: meters on `metering.SimulatedClock`s run at `scale` x real time (demo, bench).

Every tick the clocks advance by the real time elapsed times `scale`, then each meter samples its emulated chip
once. The polling runs in a worker thread: the chip emulator's signal processing for a long simulated interval
must not stall the event loop that serves the sessions and watches the pilot.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from metering import Meter, SimulatedClock, Snapshot

PollHook = Callable[[Meter, Snapshot], None]


class SimulatedMeterTime:
    def __init__(self, scale: float, tick_s: float = 0.05, on_poll: PollHook | None = None) -> None:
        if scale <= 0:
            raise ValueError("scale must be > 0")
        self.scale = scale
        self.tick_s = tick_s
        self.on_poll = on_poll
        self._meters: list[tuple[Meter, SimulatedClock]] = []
        self._last = time.monotonic()

    def add(self, meter: Meter, clock: SimulatedClock) -> None:
        self._meters.append((meter, clock))

    def step(self) -> None:
        """Advance every clock by the real time since the previous step (x scale) and poll each meter."""
        now = time.monotonic()
        elapsed, self._last = now - self._last, now
        for meter, clock in self._meters:
            clock.advance(elapsed * self.scale)
            snapshot = meter.poll()
            if self.on_poll is not None:
                self.on_poll(meter, snapshot)

    async def run(self) -> None:
        """Step every tick until cancelled."""
        self._last = time.monotonic()
        while True:
            await asyncio.sleep(self.tick_s)
            await asyncio.to_thread(self.step)
