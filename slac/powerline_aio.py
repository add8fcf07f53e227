"""asyncio driver of the virtual powerline: ports on real interfaces (raw sockets) and/or in memory.

    async with AsyncPowerline(PowerlineConfig()) as plc:
        plc.attach_interface("veth-ev", "ev")             # the interface that leads to the EV host
        evse_link = plc.attach_memory("evse", "02:00:00:00:00:02", attenuation_db=12)
        ...
        plc.core.set_snr("veth-ev", 12)                   # faults: set_snr / cut / silence

Raw ports use PACKET_VNET_HDR so forwarded frames keep their checksum-offload and segmentation metadata:
a host's TCP stack on a veth hands over 64 KiB segments with partial checksums, which must cross the
powerline untouched for SDP/TCP/TLS to work later in the demo.
"""
from __future__ import annotations

import asyncio
import socket
import struct

from slac.link import ETH_P_ALL, MemoryLink
from slac.powerline import Delivery, Powerline, PowerlineConfig

SOL_PACKET = 263
PACKET_ADD_MEMBERSHIP = 1
PACKET_MR_PROMISC = 1
PACKET_VNET_HDR = 15
PACKET_OUTGOING = 4
VNET_HDR_LEN = 10
NO_OFFLOAD = bytes(VNET_HDR_LEN)


class RawPort:
    """A modem's side of a host interface: every frame the host sends, with its offload header."""

    def __init__(self, ifname: str) -> None:
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self.sock.setsockopt(SOL_PACKET, PACKET_VNET_HDR, 1)
        self.sock.bind((ifname, ETH_P_ALL))
        # The host sends to other hosts' MACs: take every frame, not only ours.
        mreq = struct.pack("iHH8s", socket.if_nametoindex(ifname), PACKET_MR_PROMISC, 0, b"")
        self.sock.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP, mreq)
        self.sock.setblocking(False)

    def frames(self):
        """(offload header, frame) for each frame the host sent, skipping our own transmissions."""
        while True:
            try:
                data, addr = self.sock.recvfrom(65536 + VNET_HDR_LEN)
            except BlockingIOError:
                return
            if addr[2] != PACKET_OUTGOING:
                yield data[:VNET_HDR_LEN], data[VNET_HDR_LEN:]

    def send(self, header: bytes, frame: bytes) -> None:
        try:
            self.sock.send(header + frame)
        except (BlockingIOError, OSError):
            pass  # a full or vanished link loses the frame, as a real medium would


class AsyncPowerline:
    def __init__(self, config: PowerlineConfig | None = None) -> None:
        self.core = Powerline(config)
        self._raw: dict[str, RawPort] = {}
        self._memory: dict[str, list[MemoryLink]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    async def __aenter__(self) -> "AsyncPowerline":
        self._loop = asyncio.get_running_loop()
        return self

    async def __aexit__(self, *exc) -> None:
        self.close()

    def attach_interface(self, ifname: str, role: str, *, attenuation_db: float | None = None) -> str:
        """Play the modem of the host behind `ifname` (create the socket in the interface's namespace)."""
        loop = self._loop or asyncio.get_running_loop()
        port = RawPort(ifname)
        self.core.attach(ifname, role, attenuation_db=attenuation_db)
        self._raw[ifname] = port
        loop.add_reader(port.sock, self._on_readable, ifname)
        return ifname

    def attach_memory(self, role: str, mac: str, *, name: str | None = None,
                      attenuation_db: float | None = None) -> MemoryLink:
        """A host without any socket: its SLAC machine (or anything else) sends and receives via the link."""
        name = name or f"{role}-{mac}"
        self.core.attach(name, role, attenuation_db=attenuation_db, host_mac=mac)
        self._memory[name] = []
        return self.open_memory_link(name)

    def open_memory_link(self, port: str) -> MemoryLink:
        """Another link on the same host (like a second socket on its interface), e.g. for the link
        monitor; every link of the port receives every frame for that host."""
        mac = self.core.ports[port].host_mac
        link = MemoryLink(mac, lambda frame: self._dispatch(self.core.receive(port, frame, self._now()), b""),
                          port=port)
        self._memory[port].append(link)
        return link

    def close(self) -> None:
        loop = self._loop
        for port in self._raw.values():
            if loop and not loop.is_closed():
                loop.remove_reader(port.sock)
            port.sock.close()
        self._raw.clear()
        for links in self._memory.values():
            for link in links:
                link.close()

    def _now(self) -> float:
        return (self._loop or asyncio.get_running_loop()).time()

    def _on_readable(self, ifname: str) -> None:
        port = self._raw.get(ifname)
        if port is None:
            return
        for header, frame in port.frames():
            self._dispatch(self.core.receive(ifname, frame, self._now()), header)

    def _dispatch(self, deliveries: list[Delivery], header: bytes) -> None:
        for d in deliveries:
            if d.port in self._raw:
                self._raw[d.port].send(header if d.forwarded and header else NO_OFFLOAD, d.frame)
            else:
                for link in self._memory.get(d.port, ()):
                    link.put(d.frame)
