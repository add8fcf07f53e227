"""Simulated meter time: meters on `metering.SimulatedClock`s run at `scale` x real time (demo, bench).

Every step the clocks advance by the real time elapsed times `scale`, then up to `meters_per_step` meters, in
turn, sample their emulated chip (a few meters: all of them, every `tick_s`). The polling runs in a worker
thread: the chip emulator's signal processing for a long simulated interval must not stall the event loop that
serves the sessions and watches the pilot.

That thread is pure Python (~0.5-1 ms per meter poll: 21 register reads through the chip's SPI frames), so it holds
the GIL the event loop needs; polling 100 meters in one step took ~100 ms, every 50 ms, and every meter then
crossed its checkpoint and clock-aligned boundaries in the same step: 100 signed readings and fsyncs handed to
100 journal threads at once, a GIL storm every few seconds. So a step polls a slice of the meters (their
boundaries fall in different steps), yields the GIL after each meter, and the pause after a step grows with it,
so the sampling takes at most `max_share` of the time. With 100 meters each is polled every ~0.5 s (30 s of meter
time at 60x; the analytic chip integrates the energy of any interval exactly).
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from metering import Meter, SimulatedClock, Snapshot

PollHook = Callable[[Meter, Snapshot], None]


class SimulatedMeterTime:
    def __init__(self, scale: float, tick_s: float = 0.05, on_poll: PollHook | None = None,
                 max_share: float = 0.25, meters_per_step: int = 10) -> None:
        if scale <= 0:
            raise ValueError("scale must be > 0")
        if not 0 < max_share <= 1:
            raise ValueError("max_share must be in (0, 1]")
        if meters_per_step < 1:
            raise ValueError("meters_per_step must be >= 1")
        self.meters_per_step = meters_per_step
        self._next = 0  # the first meter of the next step's slice
        self.scale = scale
        self.tick_s = tick_s
        self.max_share = max_share
        self.on_poll = on_poll
        self._meters: list[tuple[Meter, SimulatedClock]] = []
        self._last = time.monotonic()

    def add(self, meter: Meter, clock: SimulatedClock) -> None:
        self._meters.append((meter, clock))

    def step(self) -> None:
        """Advance every clock by the real time since the previous step (x scale) and poll the next slice."""
        now = time.monotonic()
        elapsed, self._last = now - self._last, now
        for _, clock in self._meters:
            clock.advance(elapsed * self.scale)
        for meter in self._slice():
            snapshot = meter.poll()
            if self.on_poll is not None:
                self.on_poll(meter, snapshot)
            # Hand the GIL over after each meter: otherwise the event loop, back from each socket or TLS call,
            # waits up to the interpreter's switch interval (5 ms) for it.
            time.sleep(0)

    def _slice(self) -> list[Meter]:
        count = len(self._meters)
        size = min(count, self.meters_per_step)
        chosen = [self._meters[(self._next + i) % count][0] for i in range(size)]
        self._next = (self._next + size) % count if count else 0
        return chosen

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
