"""SLAC match time on the in-memory virtual powerline (no root): ISO 15118-3 timers vs shortened timers,
with 1 and 3 EVSEs, next to the sum of the timers the EV must wait through (the protocol's floor: the
batch of START_ATTEN_CHAR/M-sounds, then TT_EV_atten_results from the first START_ATTEN_CHAR). Plus frame
build/parse cost per frame. Prints a table; asserts nothing.

    python3 bench/slac_bench.py [--repeat 3]
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from slac import AsyncPowerline, Matched, PowerlineConfig, SlacConfig, run_evse, run_pev
from slac.frames import CmAttenCharInd, build_frame, parse_frame


async def _match_once(config: SlacConfig, evses: int) -> float:
    async with AsyncPowerline(PowerlineConfig()) as plc:
        ev = plc.attach_memory("ev", "02:00:00:00:00:01")
        tasks = [asyncio.create_task(run_evse(plc.attach_memory("evse", f"02:00:00:00:01:{i:02x}",
                                                                attenuation_db=4 + i), config))
                 for i in range(evses)]
        await asyncio.sleep(0.01)
        started = time.perf_counter()
        result = await run_pev(ev, config)
        elapsed = time.perf_counter() - started
        for task in tasks:
            task.cancel()
        assert isinstance(result, Matched), result
        return elapsed


def _floor(config: SlacConfig) -> float:
    return config.tt_ev_atten_results


def _frame_cost(repeat: int) -> tuple[float, float]:
    msg = CmAttenCharInd(source_address="02:00:00:00:00:01", num_sounds=10, aag=list(range(58)))
    n = 2000
    t = time.perf_counter()
    for _ in range(n):
        frame = build_frame(msg, "02:00:00:00:00:02", "02:00:00:00:00:01")
    build = (time.perf_counter() - t) / n
    t = time.perf_counter()
    for _ in range(n):
        parse_frame(frame)
    return build, (time.perf_counter() - t) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"{'timers':<11} {'EVSEs':>5} {'match s (median)':>17} {'EV wait floor s':>16} {'overhead s':>11}")
    for name, config in (("ISO 15118-3", SlacConfig()), ("shortened", SlacConfig.shortened())):
        for evses in (1, 3):
            times = [asyncio.run(_match_once(config, evses)) for _ in range(args.repeat)]
            median = statistics.median(times)
            print(f"{name:<11} {evses:>5} {median:>17.3f} {_floor(config):>16.3f} "
                  f"{median - _floor(config):>11.3f}")
    build, parse = _frame_cost(args.repeat)
    print(f"\nCM_ATTEN_CHAR.IND (129 B): build {build * 1e6:.0f} µs, strict parse {parse * 1e6:.0f} µs per frame")


if __name__ == "__main__":
    main()
