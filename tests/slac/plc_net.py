"""Test topologies: each host in its own network namespace, joined by a veth either to a "plc" namespace where
the virtual powerline plays every host's modem (`plc_net`), or to its own modem's namespace, whose second
interface is on a bridge shared by all modems (`wire_net`, for `v2g slac modem` processes)."""
from __future__ import annotations

import asyncio
import contextlib
import socket
import sys
from collections.abc import Iterator
from dataclasses import dataclass

from slac.config import SlacConfig
from slac.link import RawEthernetLink
from slac.powerline import PowerlineConfig
from slac.powerline_aio import AsyncPowerline
from tests.netns import Endpoint, in_netns, ip, topology

WIDE_WINDOW = SlacConfig.shortened(tt_evse_match_mnbc=0.5, tt_ev_atten_results=1.0)


@dataclass
class Host:
    role: str
    endpoint: Endpoint   # the host's interface
    plc_side: Endpoint   # the powerline's interface for this host
    link: RawEthernetLink | None = None


@dataclass
class PlcNet:
    plc_ns: str
    ev: Host
    evses: list[Host]

    def open_links(self) -> None:
        for host in [self.ev, *self.evses]:
            with in_netns(host.endpoint.netns):
                host.link = RawEthernetLink(host.endpoint.ifname)

    def close_links(self) -> None:
        for host in [self.ev, *self.evses]:
            if host.link:
                host.link.close()

    def powerline(self, config: PowerlineConfig, attenuations: list[float] | None = None) -> AsyncPowerline:
        plc = AsyncPowerline(config)
        with in_netns(self.plc_ns):
            plc.attach_interface(self.ev.plc_side.ifname, "ev")
            for i, evse in enumerate(self.evses):
                plc.attach_interface(evse.plc_side.ifname, "evse",
                                     attenuation_db=attenuations[i] if attenuations else None)
        return plc


@contextlib.contextmanager
def plc_net(evses: int = 1) -> Iterator[PlcNet]:
    with topology("slac") as topo:
        plc_ns = topo.namespace("plc")

        def host(role: str) -> Host:
            ns = topo.namespace(role)
            mine, plc_side = topo.link(ns, plc_ns)
            return Host(role, mine, plc_side)

        net = PlcNet(plc_ns, host("ev"), [host(f"evse{i}") for i in range(evses)])
        net.open_links()
        try:
            yield net
        finally:
            net.close_links()


@dataclass
class WireHost:
    """A host, its own modem's namespace and the modem's two interfaces (to the host, to the shared wire)."""

    role: str
    endpoint: Endpoint     # the host's interface
    modem_ns: str
    modem_host_if: str     # the modem's interface facing the host
    modem_wire_if: str     # the modem's interface on the wire segment


@contextlib.contextmanager
def wire_net(roles: list[str]) -> Iterator[dict[str, WireHost]]:
    """Per role: a host namespace, a modem namespace between it and a "wire" namespace whose bridge joins every
    modem's wire interface (the powerline)."""
    with topology("wire") as topo:
        wire_ns = topo.namespace("wire")
        ip("link", "add", "powerline", "type", "bridge", netns=wire_ns)
        ip("link", "set", "powerline", "up", netns=wire_ns)
        hosts = {}
        for role in roles:
            host_ns, modem_ns = topo.namespace(role), topo.namespace(f"{role}-modem")
            host_end, modem_host = topo.link(host_ns, modem_ns)
            modem_wire, wire_end = topo.link(modem_ns, wire_ns)
            ip("link", "set", wire_end.ifname, "master", "powerline", netns=wire_ns)
            hosts[role] = WireHost(role, host_end, modem_ns, modem_host.ifname, modem_wire.ifname)
        yield hosts


def netns_run(ns: str, *args: str, timeout: float = 30) -> asyncio.Task:
    """`python *args` inside namespace `ns` as a task giving (exit status, stdout, stderr)."""
    async def run():
        proc = await asyncio.create_subprocess_exec("ip", "netns", "exec", ns, sys.executable, *args,
                                                    stdout=asyncio.subprocess.PIPE,
                                                    stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
        return proc.returncode, out.decode(), err.decode()
    return asyncio.create_task(run())


async def tcp_transfer(client: socket.socket, server: socket.socket, address: tuple, payload: bytes) -> bytes:
    """Connect `client` to the listening `server` at `address`, send `payload`; what the server received."""
    loop = asyncio.get_running_loop()
    await asyncio.wait_for(loop.sock_connect(client, address), 3)
    conn, _ = await asyncio.wait_for(loop.sock_accept(server), 3)
    conn.setblocking(False)

    async def send() -> None:
        await loop.sock_sendall(client, payload)
        client.shutdown(socket.SHUT_WR)
    # Read while sending: the payload is larger than what the socket buffers of a fresh namespace hold before
    # the reader drains them (send queue + receive window ~200 KB, and autotuning grows them only as the
    # receiver reads), so sending all of it first could wait forever.
    sending = asyncio.create_task(send())
    received = b""
    try:
        while chunk := await asyncio.wait_for(loop.sock_recv(conn, 65536), 3):
            received += chunk
        await asyncio.wait_for(sending, 3)
    finally:
        sending.cancel()
        conn.close()
    return received
