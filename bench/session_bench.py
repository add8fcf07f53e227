"""Session benchmarks: SECC per-message response time over TLS 1.3 in full -20 sessions, and N concurrent EV
sessions against one SECC process (N = 1, 10, 50, 100) with p50/p99 and the SECC process's memory.

The SECC runs in its own process (asyncio server, TLS 1.3 with the -20 profile, simulated charger); the EVs
run in this process. Two numbers per message:
  secc_ms  time inside the SECC from a decoded frame to its encoded response (decode + handler + encode),
  rtt_ms   round trip seen by the EV (TLS, TCP, both machines).
Baseline, measured in the same run: a V2GTP echo round trip over the same kind of TLS 1.3 connection.
Each run starts with one uncounted warm-up session (first use of every message type and grammar).
Prints a table; asserts nothing. Targets (issue 6): p99 < 5 ms per message at N = 1; N = 100 with p99 < 50 ms.

    python3 bench/session_bench.py [--sessions 1,10,50,100] [--loops 20]
"""
from __future__ import annotations

import argparse
import collections
import asyncio
import multiprocessing
import resource
import statistics
import tempfile
import time


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _serve(pki_dir: str, sessions: int, conn) -> None:
    """Child process: SECC server; reports per-message processing times and peak RSS when done."""
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
            await server.wait()
        echo_server.close()
        conn.send((timings, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))

    asyncio.run(main())


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


async def _ev_sessions(port: int, pki_dir: str, n: int, loops: int, ramp: float = 0.05
                       ) -> tuple[list[float], list[str]]:
    from iso15118.evcc import EvConfig, Evcc
    from iso15118.evcc.client import run_session
    from iso15118.session.tls_contexts import ev_context
    services = ["dc", "ac", "dc_bpt", "ac_bpt"]
    evs = [Evcc(EvConfig(service=services[i % 4], charge_loops=loops, discharge_loops=loops // 2,
                         loop_period=0.2)) for i in range(n)]
    context = ev_context(pki_dir)

    async def plug_in(i: int, ev: Evcc) -> dict:
        await asyncio.sleep(i * ramp)  # EVs arrive spread out, not in one TLS-handshake storm
        return await run_session(ev, "::1", port, ssl_context=context)
    summaries = await asyncio.gather(*(plug_in(i, ev) for i, ev in enumerate(evs)))
    return [t for ev in evs for t in ev.response_times], [
        s["outcome"] if s["outcome"] == "completed" else f'{s["outcome"]}:{s["code"]}' for s in summaries]


def run(n: int, loops: int, pki_dir: str) -> dict:
    parent, child = multiprocessing.Pipe()
    proc = multiprocessing.Process(target=_serve, args=(pki_dir, n, child))
    proc.start()
    port, echo_port = parent.recv()
    baseline = asyncio.run(_baseline_rtts(echo_port, pki_dir))
    asyncio.run(_ev_sessions(port, pki_dir, 1, loops))  # warm-up: first use of every message type, not counted
    parent.send("measure")
    started = time.perf_counter()
    rtts, outcomes = asyncio.run(_ev_sessions(port, pki_dir, n, loops))
    wall = time.perf_counter() - started
    secc_times, max_rss_kb = parent.recv()
    proc.join()
    failures = collections.Counter(o for o in outcomes if o != "completed")
    return {"n": n, "completed": outcomes.count("completed"), "failures": dict(failures), "messages": len(secc_times), "wall_s": wall,
            "secc_p50": _percentile(secc_times, 0.5) * 1e3, "secc_p99": _percentile(secc_times, 0.99) * 1e3,
            "rtt_p50": _percentile(rtts, 0.5) * 1e3, "rtt_p99": _percentile(rtts, 0.99) * 1e3,
            "base_p50": statistics.median(baseline) * 1e3, "rss_mb": max_rss_kb / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", default="1,10,50,100")
    parser.add_argument("--loops", type=int, default=20)
    args = parser.parse_args()
    from certs import PkiConfig, create_pki
    with tempfile.TemporaryDirectory() as tmp:
        pki_dir = str(create_pki(tmp, PkiConfig()).directory)
        print(f"{'N':>4} {'done':>5} {'msgs':>6} {'wall s':>7} {'SECC p50 ms':>11} {'SECC p99 ms':>11} "
              f"{'RTT p50 ms':>10} {'RTT p99 ms':>10} {'echo p50 ms':>11} {'RTT/echo':>8} {'SECC RSS MB':>11}")
        for n in (int(v) for v in args.sessions.split(",")):
            r = run(n, args.loops, pki_dir)
            print(f"{r['n']:>4} {r['completed']:>5} {r['messages']:>6} {r['wall_s']:>7.2f} {r['secc_p50']:>11.3f} "
                  f"{r['secc_p99']:>11.3f} {r['rtt_p50']:>10.3f} {r['rtt_p99']:>10.3f} {r['base_p50']:>11.3f} "
                  f"{r['rtt_p50'] / r['base_p50']:>8.1f} {r['rss_mb']:>11.1f}  {r['failures'] or ''}", flush=True)


if __name__ == "__main__":
    main()
