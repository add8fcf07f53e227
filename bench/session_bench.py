"""Session benchmarks: SECC per-message response time over TLS 1.3 in full -20 sessions, and N concurrent EV
sessions against one SECC process (N = 1, 10, 50, 100) with p50/p99 and the SECC process's memory.

The SECC runs in its own process (asyncio server, TLS 1.3 with the -20 profile, simulated charger); the EVs
run in up to --ev-workers other processes (each an asyncio loop with its share of the EVs), so the EV side is
not the bottleneck it was with all EVs in one process. Two numbers per message:
  secc_ms  time inside the SECC from a decoded frame to its encoded response (decode + handler + encode),
  rtt_ms   round trip seen by the EV (TLS, TCP, both machines).
Baseline, measured in the same run: a V2GTP echo round trip over the same kind of TLS 1.3 connection.
Each run starts with one uncounted warm-up session (first use of every message type and grammar).
SECC CPU% = the SECC process's CPU time / wall time of the round (100 = one core saturated); lag = how late
the SECC's (and the EV workers') event loop woke up for a 10 ms sleep: a busy or descheduled loop delays all
of its sessions by that much, which is what turns into V2G timeouts.
Prints a table; asserts nothing. Targets (issue 6): p99 < 5 ms per message at N = 1; N = 100 with p99 < 50 ms.

    python3 bench/session_bench.py [--sessions 1,10,50,100] [--loops 20] [--ev-workers 3] [--ramp 0.05]
                                 [--secc-nice 0] [--profile N]

--profile N: run the SECC of the N-session round under cProfile and print its top functions (cumulative and
own time) after the table; profiling slows the SECC, so that round's times are not comparable.
"""
from __future__ import annotations

import argparse
import collections
import asyncio
import cProfile
import io
import multiprocessing
import os
import pstats
import resource
import statistics
import tempfile
import time


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def _probe_lag(lags: list[float], period: float = 0.01) -> None:
    """How late this process's event loop wakes up: a loop busy for X ms delays every session in it by X ms."""
    loop = asyncio.get_running_loop()
    while True:
        due = loop.time() + period
        await asyncio.sleep(period)
        lags.append(loop.time() - due)


def _serve(pki_dir: str, sessions: int, conn, profile: bool = False, nice: int = 0) -> None:
    """Child process: SECC server; reports per-message processing times and peak RSS when done."""
    if nice:
        os.setpriority(os.PRIO_PROCESS, 0, nice)  # emulate a SECC with a CPU of its own (root only for < 0)
    from iso15118.secc import SeccConfig, Station
    from iso15118.secc.server import SeccServer
    from iso15118.session.tls_contexts import secc_context
    from iso15118.transport.v2gtp_asyncio import start_v2gtp_server

    timings: list[float] = []

    class TimedStation(Station):
        def new_session(self, **kwargs):
            secc = super().new_session(**kwargs)
            receive = secc.receive

            def timed(payload_type, payload, now):
                start = time.perf_counter()
                actions = receive(payload_type, payload, now)
                timings.append(time.perf_counter() - start)
                return actions
            secc.receive = timed
            return secc

    async def echo(stream):
        async for message in stream:
            await stream.send(message.payload_type, message.payload)

    async def main():
        context = secc_context(pki_dir)
        echo_server = await start_v2gtp_server(echo, "::1", 0, ssl_context=secc_context(pki_dir))
        async with SeccServer(TimedStation(SeccConfig()), ssl_context=context, max_sessions=sessions + 1) as server:
            conn.send((server.port, echo_server.sockets[0].getsockname()[1]))
            await asyncio.get_running_loop().run_in_executor(None, conn.recv)  # warm-up over: measure now
            timings.clear()
            usage = resource.getrusage(resource.RUSAGE_SELF)
            cpu_at_start = usage.ru_utime + usage.ru_stime
            lags: list[float] = []
            probe = asyncio.create_task(_probe_lag(lags))
            profiler = cProfile.Profile() if profile else None
            if profiler is not None:
                profiler.enable()
            # Until the EVs are done: a connection whose TLS handshake failed never becomes a session, so
            # waiting for max_sessions alone could wait forever.
            await asyncio.get_running_loop().run_in_executor(None, conn.recv)
            try:
                await asyncio.wait_for(server.wait(), 6.0)  # the 5 s linger after SessionStopRes
            except asyncio.TimeoutError:
                pass
            probe.cancel()
            if profiler is not None:
                profiler.disable()
        echo_server.close()
        usage = resource.getrusage(resource.RUSAGE_SELF)
        conn.send((timings, usage.ru_maxrss, usage.ru_utime + usage.ru_stime - cpu_at_start, lags,
                   _profile_text(profiler)))

    asyncio.run(main())


def _profile_text(profiler: cProfile.Profile | None) -> str:
    if profiler is None:
        return ""
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs()
    stats.sort_stats("cumulative").print_stats(30)
    stats.sort_stats("tottime").print_stats(25)
    return out.getvalue()


async def _baseline_rtts(port: int, pki_dir: str, count: int = 200) -> list[float]:
    from iso15118.session.tls_contexts import ev_context
    from iso15118.transport.v2gtp_asyncio import open_v2gtp_connection
    stream = await open_v2gtp_connection("::1", port, ssl_context=ev_context(pki_dir))
    payload = bytes(40)
    rtts = []
    for _ in range(count):
        start = time.perf_counter()
        await stream.send(0x8002, payload)
        await stream.receive()
        rtts.append(time.perf_counter() - start)
    await stream.close()
    return rtts


async def _ev_sessions(port: int, pki_dir: str, indices: list[int], loops: int, ramp: float = 0.05
                       ) -> tuple[list[float], list[str]]:
    from iso15118.evcc import EvConfig, Evcc
    from iso15118.evcc.client import run_session
    from iso15118.session.tls_contexts import ev_context
    services = ["dc", "ac", "dc_bpt", "ac_bpt"]
    evs = [Evcc(EvConfig(service=services[i % 4], charge_loops=loops, discharge_loops=loops // 2,
                         loop_period=0.2)) for i in indices]
    context = ev_context(pki_dir)

    async def plug_in(i: int, ev: Evcc) -> dict:
        await asyncio.sleep(i * ramp)  # EVs arrive spread out, not in one TLS-handshake storm
        return await run_session(ev, "::1", port, ssl_context=context)
    lags: list[float] = []
    probe = asyncio.create_task(_probe_lag(lags))
    summaries = await asyncio.gather(*(plug_in(i, ev) for i, ev in zip(indices, evs)))
    probe.cancel()
    return lags, [t for ev in evs for t in ev.response_times], [
        s["outcome"] if s["outcome"] == "completed" else f'{s["outcome"]}:{s["code"]}' for s in summaries]


def _ev_worker(port: int, pki_dir: str, indices: list[int], loops: int, start_at: float, ramp: float,
               conn) -> None:
    """EV worker process: its share of the EVs (EV i arrives at i * ramp after the common start)."""
    from iso15118.evcc.inprocess import warm_up
    warm_up()
    time.sleep(max(0.0, start_at - time.time()))
    conn.send(asyncio.run(_ev_sessions(port, pki_dir, indices, loops, ramp)))


def _run_evs(port: int, pki_dir: str, n: int, loops: int, workers: int, ramp: float
             ) -> tuple[list[float], list[float], list[str]]:
    """Spread EV i over worker i % workers; all workers start together once warmed up."""
    workers = max(1, min(workers, n))
    start_at = time.time() + 3.0  # time for the workers to import and warm up
    pipes, procs = [], []
    for w in range(workers):
        parent, child = multiprocessing.Pipe()
        proc = multiprocessing.Process(target=_ev_worker,
                                       args=(port, pki_dir, list(range(w, n, workers)), loops, start_at, ramp, child))
        proc.start()
        pipes.append(parent)
        procs.append(proc)
    rtts: list[float] = []
    outcomes: list[str] = []
    ev_lags: list[float] = []
    for parent, proc in zip(pipes, procs):
        worker_lags, worker_rtts, worker_outcomes = parent.recv()
        ev_lags += worker_lags
        rtts += worker_rtts
        outcomes += worker_outcomes
        proc.join()
    return ev_lags, rtts, outcomes


def run(n: int, loops: int, pki_dir: str, workers: int, ramp: float, profile: bool = False, nice: int = 0) -> dict:
    parent, child = multiprocessing.Pipe()
    proc = multiprocessing.Process(target=_serve, args=(pki_dir, n, child, profile, nice))
    proc.start()
    port, echo_port = parent.recv()
    baseline = asyncio.run(_baseline_rtts(echo_port, pki_dir))
    asyncio.run(_ev_sessions(port, pki_dir, [0], loops, ramp))  # warm-up: first use of every message type, not counted
    parent.send("measure")
    started = time.perf_counter()
    ev_lags, rtts, outcomes = _run_evs(port, pki_dir, n, loops, workers, ramp)
    wall = time.perf_counter() - started
    parent.send("evs done")
    secc_times, max_rss_kb, secc_cpu, secc_lags, profile_text = parent.recv()
    proc.join()
    failures = collections.Counter(o for o in outcomes if o != "completed")
    return {"n": n, "completed": outcomes.count("completed"), "failures": dict(failures), "messages": len(secc_times), "wall_s": wall,
            "secc_p50": _percentile(secc_times, 0.5) * 1e3, "secc_p99": _percentile(secc_times, 0.99) * 1e3,
            "rtt_p50": _percentile(rtts, 0.5) * 1e3, "rtt_p99": _percentile(rtts, 0.99) * 1e3,
            "base_p50": statistics.median(baseline) * 1e3, "rss_mb": max_rss_kb / 1024, "profile": profile_text,
            "cpu_pct": 100 * secc_cpu / wall, "secc_lag_p99": _percentile(secc_lags, 0.99) * 1e3,
            "secc_lag_max": max(secc_lags, default=0.0) * 1e3, "ev_lag_max": max(ev_lags, default=0.0) * 1e3}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", default="1,10,50,100")
    parser.add_argument("--loops", type=int, default=20)
    parser.add_argument("--ev-workers", type=int, default=3, help="EV processes (the SECC has its own)")
    parser.add_argument("--ramp", type=float, default=0.05, help="seconds between EV arrivals (TLS handshakes)")
    parser.add_argument("--secc-nice", type=int, default=0,
                        help="scheduling niceness of the SECC process (e.g. -10: it gets a core when it needs one, "
                             "as on a charger; the EVs and other load on this machine otherwise starve it)")
    parser.add_argument("--profile", type=int, default=None, metavar="N", help="cProfile the SECC at N sessions")
    args = parser.parse_args()
    print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}, {os.cpu_count()} CPUs, "
          f"{args.ev_workers} EV worker processes + 1 SECC process, EVs arrive {args.ramp} s apart, SECC nice {args.secc_nice}", flush=True)
    profiles = []
    from certs import PkiConfig, create_pki
    with tempfile.TemporaryDirectory() as tmp:
        pki_dir = str(create_pki(tmp, PkiConfig()).directory)
        print(f"{'N':>4} {'done':>5} {'msgs':>6} {'wall s':>7} {'SECC p50 ms':>11} {'SECC p99 ms':>11} "
              f"{'RTT p50 ms':>10} {'RTT p99 ms':>10} {'echo p50 ms':>11} {'RTT/echo':>8} {'SECC RSS MB':>11} {'SECC CPU%':>9} "
              f"{'SECC lag p99/max ms':>19} {'EV lag max ms':>13}")
        for n in (int(v) for v in args.sessions.split(",")):
            r = run(n, args.loops, pki_dir, args.ev_workers, args.ramp, profile=n == args.profile,
                    nice=args.secc_nice)
            if r["profile"]:
                profiles.append((n, r["profile"]))
            print(f"{r['n']:>4} {r['completed']:>5} {r['messages']:>6} {r['wall_s']:>7.2f} {r['secc_p50']:>11.3f} "
                  f"{r['secc_p99']:>11.3f} {r['rtt_p50']:>10.3f} {r['rtt_p99']:>10.3f} {r['base_p50']:>11.3f} "
                  f"{r['rtt_p50'] / r['base_p50']:>8.1f} {r['rss_mb']:>11.1f} {r['cpu_pct']:>9.0f} "
                  f"{r['secc_lag_p99']:>9.1f}/{r['secc_lag_max']:<9.1f} {r['ev_lag_max']:>13.1f}  {r['failures'] or ''}",
                  flush=True)
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    for n, text in profiles:
        print(f"\n--- SECC cProfile, N = {n} (profiled: times above are inflated) ---\n{text}")


if __name__ == "__main__":
    main()
