"""Time for readings: wall clock + synchronisation state (chrony), simulated time, 5-minute alignment, steps.

OCMF marks every reading's clock quality (facts/metering.md §1.3, §5.4): `S` only when chrony reports a
synchronised clock within our bound, `U` otherwise. No numeric legal tolerance exists, so the bound is ours.
"""
from __future__ import annotations

import enum
import math
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

MARKET_INTERVAL_S = 300  # aligned readings fall on the 5-minute market interval boundaries
SYNC_BOUND_S = 1.0  # our own bound on |system time offset| for calling the clock synchronised
STEP_THRESHOLD_S = 1.0  # wall time jumping this much against the monotonic clock is a step


class SyncState(enum.Enum):
    SYNCHRONISED = "S"
    INFORMATIVE = "I"
    UNSYNCHRONISED = "U"


def parse_chrony_tracking(output: str) -> SyncState:
    """Classify `chronyc tracking` output: leap status Normal and offset within SYNC_BOUND_S → synchronised."""
    fields = dict(
        (key.strip(), value.strip()) for key, _, value in (line.partition(":") for line in output.splitlines()) if value
    )
    if fields.get("Leap status") != "Normal":
        return SyncState.UNSYNCHRONISED
    match = re.match(r"([0-9.]+) seconds (slow|fast)", fields.get("System time", ""))
    if match is None or float(match.group(1)) > SYNC_BOUND_S:
        return SyncState.INFORMATIVE
    return SyncState.SYNCHRONISED


def chrony_sync_state(timeout: float = 2.0) -> SyncState:
    """Ask chrony; without chronyc (or if it fails) the clock counts as unsynchronised."""
    chronyc = shutil.which("chronyc")
    if chronyc is None:
        return SyncState.UNSYNCHRONISED
    try:
        proc = subprocess.run([chronyc, "-n", "tracking"], capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired):
        return SyncState.UNSYNCHRONISED
    return parse_chrony_tracking(proc.stdout) if proc.returncode == 0 else SyncState.UNSYNCHRONISED


def aligned_boundary(t: float, interval: int = MARKET_INTERVAL_S) -> float:
    """The latest interval boundary at or before wall time t."""
    return math.floor(t / interval) * interval


class SystemClock:
    """Wall time for timestamps, monotonic time for intervals, chrony for the sync state (cached)."""

    def __init__(self, sync_probe: Callable[[], SyncState] = chrony_sync_state, probe_every_s: float = 60.0) -> None:
        self._probe = sync_probe
        self._probe_every = probe_every_s
        self._state: SyncState | None = None
        self._probed_at = -math.inf
        self._lock = threading.Lock()

    def wall(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def sync_state(self) -> SyncState:
        with self._lock:
            now = time.monotonic()
            if self._state is None or now - self._probed_at >= self._probe_every:
                self._state = self._probe()
                self._probed_at = now
            return self._state


class SimulatedClock:
    """Manually advanced time for tests and the demo; `step_wall` models an NTP step of the wall clock."""

    def __init__(self, wall_start: float = 1_767_225_600.0, state: SyncState = SyncState.SYNCHRONISED) -> None:
        self._mono = 0.0
        self._wall_offset = wall_start
        self.state = state
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.monotonic()

    def monotonic(self) -> float:
        with self._lock:
            return self._mono

    def wall(self) -> float:
        with self._lock:
            return self._mono + self._wall_offset

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._mono += seconds

    def sleep(self, seconds: float) -> None:
        self.advance(seconds)

    def step_wall(self, seconds: float) -> None:
        with self._lock:
            self._wall_offset += seconds

    def sync_state(self) -> SyncState:
        return self.state


@dataclass(frozen=True)
class ClockStep:
    """The wall clock moved by `step_s` against the monotonic clock between two readings."""

    at_wall: float
    step_s: float


class StepDetector:
    """Compares wall and monotonic progress between observations; reports steps, never rewrites the past."""

    def __init__(self) -> None:
        self._last: tuple[float, float] | None = None

    def observe(self, wall: float, mono: float) -> ClockStep | None:
        last, self._last = self._last, (wall, mono)
        if last is None:
            return None
        step = (wall - last[0]) - (mono - last[1])
        return ClockStep(at_wall=wall, step_s=step) if abs(step) >= STEP_THRESHOLD_S else None
