"""Run an EVCC against a SECC inside one process on a virtual clock (no sockets, no sleeping).

The two sans-I/O machines exchange V2GTP payloads through an event queue with a fixed one-way latency;
timers fire at their deadlines in virtual time. Deterministic and fast: the tests and the demo use it.
"""
from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass, field
from typing import Callable

from iso15118.secc.machine import Secc
from iso15118.secc.station import Station
from iso15118.session.actions import Close, Send, StartTimer
from iso15118.session.config import EvConfig, SeccConfig
from iso15118.session.events import Event, SessionEnded

from .machine import Evcc

WALL_CLOCK_BASE = 1_800_000_000.0


@dataclass
class InProcessResult:
    summary: dict
    evcc: Evcc
    secc: Secc
    station: Station
    ev_events: list[Event] = field(default_factory=list)
    secc_events: list[Event] = field(default_factory=list)
    ended_at: dict[str, float] = field(default_factory=dict)  # virtual time each side ended its session


def run_in_process(secc_config: SeccConfig | Station | None = None, ev_config: EvConfig | None = None, *,
                   latency: float = 0.002, start: float = 0.0, max_time: float = 3600.0,
                   trace: Callable[[str, str, int, object, float], None] | None = None,
                   intercept: Callable[[str, Send], Send | None] | None = None, evcc: Evcc | None = None,
                   ) -> InProcessResult:
    """Run one session. `secc_config` may be a Station to share paused sessions between runs (resume).
    `intercept(direction, send)` may replace or drop (None) a frame, for fault injection."""
    station = secc_config if isinstance(secc_config, Station) else Station(secc_config)
    clock = [start]

    def wall() -> float:
        return WALL_CLOCK_BASE + clock[0]

    def tracer(side: str):
        return (lambda direction, pt, msg, now: trace(side, direction, pt, msg, now)) if trace else None

    secc = station.new_session(wall_clock=wall, trace=tracer("secc"))
    ev = evcc or Evcc(ev_config or EvConfig(), wall_clock=wall, trace=tracer("ev"))
    result = InProcessResult({}, ev, secc, station)
    queue: list = []
    order = itertools.count()
    closed = {"ev": False, "secc": False}

    def schedule(at: float, kind: str, target: str, data=None) -> None:
        heapq.heappush(queue, (at, next(order), kind, target, data))

    def apply(side: str, actions: list) -> None:
        other = "secc" if side == "ev" else "ev"
        for action in actions:
            if isinstance(action, Send):
                if intercept is not None:
                    action = intercept(side, action)
                    if action is None:
                        continue
                schedule(clock[0] + latency, "frame", other, action)
            elif isinstance(action, StartTimer):
                schedule(action.deadline, "timer", side)
            elif isinstance(action, Close):
                if not closed[side]:
                    closed[side] = True
                    schedule(clock[0] + latency + action.linger, "lost", other)
            elif isinstance(action, Event):
                if isinstance(action, SessionEnded):
                    result.ended_at.setdefault(side, clock[0])
                (result.ev_events if side == "ev" else result.secc_events).append(action)

    machines = {"ev": ev, "secc": secc}
    apply("ev", ev.start(clock[0]))
    while queue:
        at, _, kind, target, data = heapq.heappop(queue)
        if at > start + max_time:
            break
        clock[0] = max(clock[0], at)
        machine = machines[target]
        if kind == "frame" and not closed[target]:
            apply(target, machine.receive(data.payload_type, data.payload, clock[0]))
        elif kind == "timer":
            apply(target, machine.timer_expired(clock[0]))
        elif kind == "lost" and not closed[target]:
            closed[target] = True
            apply(target, machine.connection_lost(clock[0]))
    result.summary = ev.summary()
    return result


_warmed_up = False


def warm_up() -> None:
    """Exercise every message type once (a short in-process session per service and control mode), so the
    first real session does not pay for grammar and class-model caches being filled (up to ~0.5 s, beyond
    the 0.25 s charge-loop performance time). Once per process: the caches stay filled, and a gateway that
    starts many SECCs and EVs must not block its event loop for each of them."""
    global _warmed_up
    if _warmed_up:
        return
    _warmed_up = True
    for service in ("dc", "ac", "dc_bpt", "ac_bpt"):
        for mode in ("scheduled", "dynamic"):
            run_in_process(SeccConfig(), EvConfig(service=service, mode=mode, charge_loops=3, discharge_loops=3))
