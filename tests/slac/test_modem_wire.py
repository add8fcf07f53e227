"""`v2g slac modem`: one virtual modem per process, each between its host's interface and a shared wire (a bridge).

Real raw Ethernet frames everywhere: hosts ↔ modems on veth pairs, modems ↔ each other over the bridge.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import socket
import sys

import pytest

from slac import Matched, RawEthernetLink, SlacConfig, read_stats, run_evse, run_pev
from slac.wire_aio import AsyncWireModem
from tests.netns import in_netns
from tests.slac.plc_net import WireHost, netns_run, tcp_transfer, wire_net

pytestmark = pytest.mark.netns
FAST = SlacConfig.shortened()


class ModemProcess:
    """A `v2g slac modem --json` process; its stdout events are collected as they arrive."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.events: list[dict] = []
        self._arrived = asyncio.Condition()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def start(cls, host: WireHost, *options: str) -> "ModemProcess":
        proc = await asyncio.create_subprocess_exec(
            "ip", "netns", "exec", host.modem_ns, sys.executable, "-m", "iso15118", "slac", "modem",
            "-i", host.modem_host_if, "--wire", host.modem_wire_if, "--json", *options,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        return cls(proc)

    async def _read(self) -> None:
        while line := await self.proc.stdout.readline():
            async with self._arrived:
                self.events.append(json.loads(line))
                self._arrived.notify_all()

    async def wait_for(self, name: str, timeout: float = 20) -> dict:
        async with self._arrived:
            await asyncio.wait_for(self._arrived.wait_for(lambda: self.named(name)), timeout)
        return self.named(name)[0]

    def named(self, name: str) -> list[dict]:
        return [e for e in self.events if e["event"] == name]

    async def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.proc.returncode is None:
            self.proc.send_signal(sig)
        await asyncio.wait_for(self._reader, 10)
        err = await self.proc.stderr.read()
        await asyncio.wait_for(self.proc.wait(), 10)
        assert b"Traceback" not in err, err.decode()
        return self.proc.returncode


async def test_evse_and_pev_commands_match_through_two_modem_processes():
    with wire_net(["ev", "evse"]) as hosts:
        ev, evse = hosts["ev"], hosts["evse"]
        modems = await asyncio.gather(ModemProcess.start(ev), ModemProcess.start(evse, "--attenuation", "6"))
        ev_modem, evse_modem = modems
        try:
            await asyncio.gather(*(m.wait_for("ModemReady") for m in modems))
            evse_cmd = netns_run(evse.endpoint.netns, "-m", "iso15118", "slac", "evse", "-i", evse.endpoint.ifname,
                                  "--fast", "--json", "--set", "tt_evse_slac_init=10")
            await evse_modem.wait_for("KeySet")  # the EVSE loaded its session key: it waits for the EV now
            pev_cmd = netns_run(ev.endpoint.netns, "-m", "iso15118", "slac", "pev", "-i", ev.endpoint.ifname,
                                 "--fast", "--json")
            (pev_code, pev_out, pev_err), (evse_code, evse_out, evse_err) = await pev_cmd, await evse_cmd
        finally:
            codes = [await ev_modem.stop(signal.SIGTERM), await evse_modem.stop(signal.SIGINT)]
    assert pev_code == 0, pev_err
    assert evse_code == 0, evse_err
    pev, evse_result = json.loads(pev_out), json.loads(evse_out)
    assert pev["peer_mac"] == evse.endpoint.mac and evse_result["peer_mac"] == ev.endpoint.mac
    assert pev["nid"] == evse_result["nid"] and abs(pev["attenuation_db"] - 6) <= 1
    assert codes == [0, 0]  # SIGTERM and SIGINT are clean stops
    # The EVSE's modem made one profile per M-sound of the EV (the EV host's MAC as PEV_MAC), 6 dB on average
    # (a multiple of the sounds per attempt: a loaded machine may need a second attempt).
    profiles = evse_modem.named("AttenProfile")
    assert len(profiles) % FAST.c_ev_match_mnbc == 0 and {p["pev_mac"] for p in profiles} == {ev.endpoint.mac}
    assert abs(sum(p["attenuation_db"] for p in profiles) / len(profiles) - 6) <= 1
    assert not ev_modem.named("AttenProfile")  # nobody sounded towards the EV
    # After CM_SLAC_MATCH both modems hold the session key: one AVLN, each sees the other host's station.
    assert ev_modem.named("KeySet")[-1]["nid"] == evse_modem.named("KeySet")[-1]["nid"] == pev["nid"]
    assert {e["host_mac"] for e in ev_modem.named("StationJoined")} == {evse.endpoint.mac}
    assert {e["host_mac"] for e in evse_modem.named("StationJoined")} == {ev.endpoint.mac}
    assert all(m.events[-1]["event"] == "ModemStopped" for m in modems)


async def test_pev_picks_the_evse_whose_modem_reports_the_lower_attenuation():
    with wire_net(["ev", "near", "far"]) as hosts:
        ev, near, far = hosts["ev"], hosts["near"], hosts["far"]
        modems = await asyncio.gather(ModemProcess.start(ev), ModemProcess.start(far, "--attenuation", "14"),
                                      ModemProcess.start(near, "--attenuation", "5"))
        links = {}
        try:
            await asyncio.gather(*(m.wait_for("ModemReady") for m in modems))
            for role, host in hosts.items():
                with in_netns(host.endpoint.netns):
                    links[role] = RawEthernetLink(host.endpoint.ifname)
            evses = [asyncio.create_task(run_evse(links[role], FAST)) for role in ("far", "near")]
            await asyncio.sleep(0.05)  # the EVSEs load their keys first, as after CP state B
            pev = await run_pev(links["ev"], FAST)
            near_result = await asyncio.wait_for(evses[1], FAST.tt_evse_match_session + 2)
            # the far EVSE characterised the same sounds but is never asked to match; it waits on for another EV
            far_result = evses[0].result() if evses[0].done() else None
            evses[0].cancel()
            stats = await read_stats(links["ev"])  # the EV's modem, through the vendor queries
        finally:
            for link in links.values():
                link.close()
            codes = [await m.stop() for m in modems]
    assert isinstance(pev, Matched) and pev.peer_mac == near.endpoint.mac
    assert abs(pev.attenuation_db - 5) <= 1
    assert isinstance(near_result, Matched) and not isinstance(far_result, Matched)
    # Both EVSE modems heard all sounds; only the chosen one shares the EV's AVLN.
    assert len(modems[1].named("AttenProfile")) == len(modems[2].named("AttenProfile")) >= FAST.c_ev_match_mnbc
    assert stats.link_up and stats.nid == pev.nid.hex()
    assert [s.host_mac for s in stats.stations] == [near.endpoint.mac]
    assert stats.version.startswith("MAC-QCA7000")
    assert codes == [0, 0, 0]


async def test_ipv6_tcp_crosses_two_modems_only_after_the_match():
    """In-process AsyncWireModems (sockets in the modems' namespaces): 64 KiB TCP segments with offloaded
    checksums cross the wire in fragments, and only once both modems hold the session key."""
    payload = bytes(range(256)) * 800
    with wire_net(["ev", "evse"]) as hosts:
        ev, evse = hosts["ev"], hosts["evse"]
        with in_netns(evse.endpoint.netns):
            server = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
            server.bind((evse.endpoint.link_local, 0, 0, socket.if_nametoindex(evse.endpoint.ifname)))
            server.listen()
            server.setblocking(False)
        with in_netns(ev.endpoint.netns):
            scope = socket.if_nametoindex(ev.endpoint.ifname)
        address = (evse.endpoint.link_local, server.getsockname()[1], 0, scope)
        loop = asyncio.get_running_loop()

        def client() -> socket.socket:
            with in_netns(ev.endpoint.netns):
                sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
            sock.setblocking(False)
            return sock

        async with contextlib.AsyncExitStack() as stack:
            links = {}
            for role, host in hosts.items():
                with in_netns(host.modem_ns):
                    await stack.enter_async_context(AsyncWireModem(host.modem_host_if, host.modem_wire_if))
                with in_netns(host.endpoint.netns):
                    links[role] = RawEthernetLink(host.endpoint.ifname)
                stack.callback(links[role].close)
            early = client()
            before = asyncio.ensure_future(loop.sock_connect(early, address))
            await asyncio.sleep(0.3)
            assert not before.done(), "data frames crossed between different AVLNs"
            before.cancel()
            early.close()
            evse_task = asyncio.create_task(run_evse(links["evse"], FAST))
            await asyncio.sleep(0.05)
            assert isinstance(await run_pev(links["ev"], FAST), Matched)
            assert isinstance(await evse_task, Matched)
            sock = client()
            received = await tcp_transfer(sock, server, address, payload)
            sock.close()
            server.close()
    assert received == payload
