"""Site gateway under load: N simulated EVSEs (SECC over TLS 1.3 + emulated meter + OCPP connection each) in one
gateway process, with N EV emulators running -20 sessions against them at the same time, and a local CSMS.

    python3 bench/gateway_bench.py                 # N = 1 (baseline), 50, 100
    python3 bench/gateway_bench.py --evses 10 50 --rounds 3 --auth eim

Each N runs in a fresh child process (clean memory figures). The meters' simulated time shares that process and
its CPU with the gateway; the local CSMS runs in a process of its own (--csms-in-process: in the gateway's, as
before), the EV emulators in the gateway process unless --ev-workers gives them processes of their own. Reported per N: sessions completed, throughput (sessions/s), the EV-side response time of
every request (p50/p99/max: request sent → response decoded, i.e. SECC processing + TLS + loop queuing), CPU
time and share, peak RSS, sealed metering sessions and transactions the CSMS saw end, the busiest EV worker's
CPU share, how late each event loop (gateway; busiest EV worker) woke a 10 ms sleeper, p99/max (the side
whose loop lags past a timeout is the one late), how busy the whole machine was (all cores, every process:
other work on the box shows here); ratios against N = 1;
then how the failed sessions ended, on each side (--profile: a cProfile of the gateway's event loop).
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path


def _box_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, from /proc/stat (every process, every core)."""
    with open("/proc/stat") as stat:
        fields = [float(v) for v in stat.readline().split()[1:]]
    ticks = os.sysconf("SC_CLK_TCK")
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / ticks, sum(fields[:8]) / ticks


class _LoopLag:
    """How late the event loop wakes a 10 ms sleeper: what any callback waiting for the loop then waits too (a
    busy or blocked loop, or a thread holding the GIL)."""

    def __init__(self) -> None:
        self.lags: list[float] = []
        self._task: asyncio.Task | None = None

    async def __aenter__(self) -> "_LoopLag":
        self._task = asyncio.create_task(self._watch())
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(0.01)
            self.lags.append(loop.time() - before - 0.01)

    def summary(self) -> tuple[float, float]:
        """(p99, max) in ms."""
        lags = sorted(self.lags) or [0.0]
        return lags[min(len(lags) - 1, int(0.99 * len(lags)))] * 1000, lags[-1] * 1000


async def _drive_evs(targets: list[tuple[int, int]], total: int, rounds: int, auth: str, charge_loops: int,
                     arrival_window_s: float, pki_dir: str) -> tuple[list[str], list[float], float, tuple]:
    """Run `rounds` sessions per (index, port) target, EV i starting at i/total of the arrival window; returns
    the outcomes, every response time, the wall time of the sessions (imports and set-up excluded) and the EV
    loop's lag (p99, max ms)."""
    from certs import Pki
    from iso15118.evcc import EvConfig, Evcc
    from iso15118.evcc import warm_up
    from iso15118.evcc.client import run_session
    from iso15118.security.session_hooks import ContractSigner
    from iso15118.session.tls_contexts import ev_context

    pki = Pki.load(pki_dir)
    signer = ContractSigner(pki.load_private_key("contract"), pki.load_chain("contract")) if auth == "pnc" else None
    ev_ssl = ev_context(pki_dir)
    times: list[float] = []
    outcomes: list[str] = []

    async def ev_driver(index: int, port: int) -> None:
        await asyncio.sleep(arrival_window_s * index / total)
        for _ in range(rounds):
            evcc = Evcc(EvConfig(service="dc", auth=auth, charge_loops=charge_loops, loop_period=0.1),
                        contract_signer=signer, metering_signer=signer)
            summary = await run_session(evcc, "::1", port, ssl_context=ev_ssl)
            outcomes.append(summary["outcome"] if summary["outcome"] == "completed"
                            else f"{summary['outcome']}/{summary['code']}: {summary['reason'][:70]}")
            times.extend(evcc.response_times)

    warm_up()  # the codec's one-time set-up, before the clock starts (else the first EV stalls all the others)
    started = time.monotonic()
    async with _LoopLag() as lag:
        await asyncio.gather(*(ev_driver(index, port) for index, port in targets))
    return outcomes, times, time.monotonic() - started, lag.summary()


async def _ev_workers(targets: list[tuple[int, int]], workers: int,
                      args: list[str]) -> tuple[list[str], list[float], float, float, tuple]:
    """The EV emulators in `workers` processes of their own (the gateway process then carries only the gateway);
    also returns the busiest worker's CPU share and the worst worker loop lag."""
    procs = []
    for w in range(workers):
        share = targets[w::workers]
        procs.append(await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--ev-worker", json.dumps(share), *args, stdout=asyncio.subprocess.PIPE,
            cwd=Path(__file__).resolve().parents[1]))
    outcomes: list[str] = []
    times: list[float] = []
    wall = busiest = 0.0
    lag = (0.0, 0.0)
    for proc in procs:
        out, _ = await proc.communicate()
        result = json.loads(out.decode().strip().splitlines()[-1])
        outcomes += result["outcomes"]
        times += result["times"]
        wall = max(wall, result["wall"])
        busiest = max(busiest, result["cpu"] / result["wall"])
        lag = max(lag, tuple(result["lag"]))
    return outcomes, times, wall, busiest, lag


def _ended_transactions(record) -> int:
    """Transactions whose Ended event reached the CSMS (deduplicated by seqNo)."""
    return sum(any(e["eventType"] == "Ended" for e in events.values()) for events in record.transactions.values())


async def _serve_csms() -> None:
    """--csms-worker: the local CSMS in a process of its own; prints its URL, then, once stdin closes, the number
    of transactions it saw end."""
    from metering.ocpp import LocalCsms

    async with LocalCsms(heartbeat_interval=3600) as csms:
        print(json.dumps({"url": csms.url}), flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
        print(json.dumps({"ended": _ended_transactions(csms.record)}), flush=True)


@contextlib.asynccontextmanager
async def _csms(in_process: bool):
    """Yields (url, ended) where `await ended()` counts the transactions the CSMS saw end."""
    if in_process:
        from metering.ocpp import LocalCsms
        async with LocalCsms(heartbeat_interval=3600) as csms:
            async def ended() -> int:
                return _ended_transactions(csms.record)
            yield csms.url, ended
        return
    proc = await asyncio.create_subprocess_exec(sys.executable, __file__, "--csms-worker", stdin=asyncio.subprocess.PIPE,
                                                stdout=asyncio.subprocess.PIPE, cwd=Path(__file__).resolve().parents[1])
    url = json.loads(await proc.stdout.readline())["url"]

    async def ended() -> int:
        proc.stdin.close()
        return json.loads(await proc.stdout.readline())["ended"]
    try:
        yield url, ended
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()


async def _child(evses: int, rounds: int, auth: str, charge_loops: int, checkpoint_s: float,
                 arrival_window_s: float, ev_workers: int, csms_in_process: bool) -> dict:
    from certs import PkiConfig, create_pki
    from iso15118.site import ConnectorConfig, SiteConfig, SiteGateway
    from iso15118.session.events import SessionEnded

    work = Path(tempfile.mkdtemp(prefix="gateway-bench-"))
    create_pki(work / "pki", PkiConfig())
    pki_dir = str(work / "pki")
    secc_endings: Counter[str] = Counter()

    def on_event(_connector: int, event: object) -> None:
        if isinstance(event, SessionEnded) and event.outcome != "completed":
            secc_endings[f"{event.outcome}/{event.code}: {event.reason[:70]}"] += 1

    async with _csms(csms_in_process) as (csms_url, csms_ended):
        config = SiteConfig(connectors=tuple(ConnectorConfig(i, sdp_port=None, services=("dc",))
                                             for i in range(1, evses + 1)),
                            data_dir=str(work / "data"), pki_dir=pki_dir, meter_time_scale=60.0,
                            tx_updated_interval_s=0.0, ocpp={"csms_url": csms_url},
                            meter_checkpoint_interval_s=checkpoint_s)
        async with SiteGateway(config, on_event=on_event) as site:
            targets = [(i - 1, site.evses[i].port) for i in range(1, evses + 1)]
            usage0 = resource.getrusage(resource.RUSAGE_SELF)
            box0 = _box_cpu()
            async with _LoopLag() as gateway_lag:
                if ev_workers:
                    outcomes, times, wall, ev_cpu_share, ev_lag = await _ev_workers(targets, ev_workers, [
                        "--total", str(evses), "--rounds", str(rounds), "--auth", auth, "--charge-loops",
                        str(charge_loops), "--arrival-window", str(arrival_window_s), "--pki", pki_dir])
                else:
                    ev_cpu_share = ev_lag = None
                    outcomes, times, wall, _ = await _drive_evs(targets, evses, rounds, auth, charge_loops,
                                                                arrival_window_s, pki_dir)
            usage1 = resource.getrusage(resource.RUSAGE_SELF)
            box1 = _box_cpu()
            await asyncio.sleep(0.3)
            await site.drain(timeout=120)
            sealed = sum(len(meter.journal.records(kind="session_seal")) for meter in site.meters.values())
        ended = await csms_ended()
    cpu = (usage1.ru_utime - usage0.ru_utime) + (usage1.ru_stime - usage0.ru_stime)
    times.sort()
    return {"evses": evses, "sessions": len(outcomes), "completed": outcomes.count("completed"), "wall_s": wall,
            "throughput": outcomes.count("completed") / wall, "messages": len(times),
            "p50_ms": statistics.median(times) * 1000,
            "p99_ms": times[min(len(times) - 1, int(0.99 * len(times)))] * 1000, "max_ms": times[-1] * 1000,
            "cpu_s": cpu, "cpu_share": cpu / wall, "rss_mb": usage1.ru_maxrss / 1024, "sealed": sealed,
            "ended": ended, "ev_failures": dict(Counter(o for o in outcomes if o != "completed")),
            "secc_failures": dict(secc_endings), "ev_cpu_share": ev_cpu_share,
            "lag_ms": gateway_lag.summary(), "ev_lag_ms": ev_lag,
            "box_busy": (box1[0] - box0[0]) / max(1e-9, box1[1] - box0[1])}


def _pair(values) -> str:
    return "-" if values is None else f"{values[0]:.0f}/{values[1]:.0f}"


def _table(rows: list[dict]) -> str:
    base = rows[0]
    head = (f"{'EVSEs':>5} {'sessions':>8} {'ok':>4} {'wall s':>7} {'sess/s':>7} {'x base':>6} {'msgs':>6} "
            f"{'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} {'CPU s':>6} {'CPU %':>6} {'RSS MB':>7} {'sealed':>6} "
            f"{'Ended':>5} {'EV CPU %':>8} {'lag p99/max ms':>14} {'EV lag p99/max':>14} {'box %':>5}")
    lines = [head, "-" * len(head)]
    for r in rows:
        ratio = r["throughput"] / base["throughput"] if base["throughput"] else 0.0
        lines.append(f"{r['evses']:>5} {r['sessions']:>8} {r['completed']:>4} {r['wall_s']:>7.2f} "
                     f"{r['throughput']:>7.2f} {ratio:>6.1f} {r['messages']:>6} "
                     f"{r['p50_ms']:>7.2f} {r['p99_ms']:>7.2f} {r['max_ms']:>7.1f} {r['cpu_s']:>6.2f} "
                     f"{100 * r['cpu_share']:>6.0f} {r['rss_mb']:>7.1f} {r['sealed']:>6} {r['ended']:>5} "
                     + (f"{100 * r['ev_cpu_share']:>8.0f}" if r["ev_cpu_share"] is not None else f"{'-':>8}")
                     + f" {_pair(r['lag_ms']):>14} {_pair(r['ev_lag_ms']):>14} {100 * r['box_busy']:>5.0f}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--evses", type=int, nargs="+", default=[1, 50, 100])
    parser.add_argument("--rounds", type=int, default=2, help="sessions per EVSE, one after the other")
    parser.add_argument("--auth", choices=("eim", "pnc"), default="pnc")
    parser.add_argument("--charge-loops", type=int, default=20)
    parser.add_argument("--checkpoint", type=float, default=1.0,
                        help="meter register checkpoint interval, real seconds (one fsync per meter each)")
    parser.add_argument("--arrival-window", type=float, default=5.0,
                        help="the EVs' first sessions start spread evenly over this many seconds")
    parser.add_argument("--ev-workers", type=int, default=0,
                        help="run the EV emulators in this many processes of their own (0: in the gateway process)")
    parser.add_argument("--csms-in-process", action="store_true",
                        help="run the local CSMS in the gateway process (default: a process of its own, as a real "
                             "CSMS is elsewhere)")
    parser.add_argument("--csms-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--profile", metavar="PREFIX",
                        help="cProfile the gateway process's event-loop thread into PREFIX-<N>.pstats")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--ev-worker", help=argparse.SUPPRESS)
    parser.add_argument("--total", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--pki", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.ev_worker:
        targets = [tuple(t) for t in json.loads(args.ev_worker)]
        outcomes, times, wall, lag = asyncio.run(_drive_evs(targets, args.total, args.rounds, args.auth,
                                                            args.charge_loops, args.arrival_window, args.pki))
        usage = resource.getrusage(resource.RUSAGE_SELF)
        print(json.dumps({"outcomes": outcomes, "times": times, "wall": wall, "lag": lag,
                          "cpu": usage.ru_utime + usage.ru_stime}))
        return 0
    if args.csms_worker:
        asyncio.run(_serve_csms())
        return 0
    if args.child:
        profiler = None
        if args.profile:
            import cProfile
            profiler = cProfile.Profile()
            profiler.enable()
        result = asyncio.run(_child(args.child, args.rounds, args.auth, args.charge_loops, args.checkpoint,
                                    args.arrival_window, args.ev_workers, args.csms_in_process))
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(f"{args.profile}-{args.child}.pstats")
        print(json.dumps(result))
        return 0
    rows = []
    for n in args.evses:
        proc = subprocess.run([sys.executable, __file__, "--child", str(n), "--rounds", str(args.rounds),
                               "--auth", args.auth, "--charge-loops", str(args.charge_loops),
                               "--checkpoint", str(args.checkpoint), "--arrival-window", str(args.arrival_window),
                               "--ev-workers", str(args.ev_workers),
                               *(["--csms-in-process"] if args.csms_in_process else []),
                               *(["--profile", str(Path(args.profile).resolve())] if args.profile else [])],
                              capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1])
        if proc.returncode != 0:
            print(proc.stderr[-3000:], file=sys.stderr)
            return 1
        rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        print(f"N={n} done in {rows[-1]['wall_s']:.1f} s", file=sys.stderr)
    print(f"gateway bench: DC, {args.auth.upper()}, TLS 1.3 (P-521), {args.charge_loops} charge loops at 0.1 s, "
          f"{args.rounds} sessions per EVSE (first ones spread over {args.arrival_window:g} s), meter checkpoint "
          f"every {args.checkpoint:g} s; meters"
          + (" and CSMS" if args.csms_in_process else "") + " in the gateway process"
          + ("" if args.csms_in_process else ", CSMS in a process of its own") + "; EVs "
          + (f"in {args.ev_workers} worker processes (CPU/RSS: gateway only)" if args.ev_workers
             else "in the gateway process too (CPU/RSS include them)"))
    print(_table(rows))
    for r in rows:
        for side in ("ev", "secc"):
            for what, count in sorted(r[f"{side}_failures"].items(), key=lambda kv: -kv[1]):
                print(f"N={r['evses']} {side.upper()} ended {count} x {what}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.exit(main(sys.argv[1:]))
