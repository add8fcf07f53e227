"""Simulated meter time: meters on `metering.SimulatedClock`s run at `scale` x real time (demo, bench).

Every tick the clocks advance by the real time elapsed times `scale`, then each meter samples its emulated chip
once. The polling runs in a worker thread: the chip emulator's signal processing for a long simulated interval
must not stall the event loop that serves the sessions and watches the pilot.

That thread is pure Python (~0.5-1 ms per meter and step: 21 register reads through the chip's SPI frames), so it
holds the GIL the event loop needs: with 100 meters a step takes ~100 ms, and stepping every 50 ms would keep
the loop waiting for the GIL at every socket call. So the step yields the GIL after every meter, and the pause
after a step grows with the step, so the sampling takes at most `max_share` of the time (a few meters: every `tick_s`; 100 meters: every ~0.3-0.5 s, still
seconds of meter time apart, and the analytic chip integrates the energy of any interval exactly).
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from metering import Meter, SimulatedClock, Snapshot

PollHook = Callable[[Meter, Snapshot], None]


class SimulatedMeterTime:
    def __init__(self, scale: float, tick_s: float = 0.05, on_poll: PollHook | None = None,
                 max_share: float = 0.25) -> None:
        if scale <= 0:
            raise ValueError("scale must be > 0")
        if not 0 < max_share <= 1:
            raise ValueError("max_share must be in (0, 1]")
        self.scale = scale
        self.tick_s = tick_s
        self.max_share = max_share
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
            # Hand the GIL over after each meter: otherwise the event loop, back from each socket or TLS call,
            # waits up to the interpreter's switch interval (5 ms) for it.
            time.sleep(0)

    def pause_after(self, step_s: float) -> float:
        """The pause after a step that took `step_s`: a tick, or long enough to keep the sampling's share."""
        return max(self.tick_s, step_s * (1 - self.max_share) / self.max_share)

    async def run(self) -> None:
        """Step until cancelled."""
        self._last = time.monotonic()
        pause = self.tick_s
        while True:
            await asyncio.sleep(pause)
            started = time.monotonic()
            await asyncio.to_thread(self.step)
            pause = self.pause_after(time.monotonic() - started)
