"""Frame links a SLAC machine talks through: raw Ethernet on an interface, or in-memory (no privileges).

A link has `mac` (the host's address, "aa:bb:..."), `send(frame)` (non-blocking) and `await recv()`.
"""
from __future__ import annotations

import asyncio
import socket
from typing import Protocol

from slac.frames import ETH_P_HPAV, mac_text

ETH_P_ALL = 0x0003


class FrameLink(Protocol):
    mac: str

    def send(self, frame: bytes) -> None: ...

    async def recv(self) -> bytes: ...

    def close(self) -> None: ...


class RawEthernetLink:
    """AF_PACKET socket bound to `ifname` for EtherType 0x88E1 only. Such a socket never sees frames sent
    from its own interface (facts §6), and the machines drop own-source frames anyway."""

    def __init__(self, ifname: str, proto: int = ETH_P_HPAV) -> None:
        self.ifname = ifname
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(proto))
        self.sock.bind((ifname, proto))
        self.sock.setblocking(False)
        self.mac = mac_text(self.sock.getsockname()[4])

    def send(self, frame: bytes) -> None:
        self.sock.send(frame)

    async def recv(self) -> bytes:
        return await asyncio.get_running_loop().sock_recv(self.sock, 65535)

    def close(self) -> None:
        self.sock.close()


class MemoryLink:
    """One host's end of an in-memory powerline port (see `AsyncPowerline.attach_memory`)."""

    def __init__(self, mac: str, deliver, port: str = "") -> None:
        self.mac = mac.lower()
        self.port = port
        self._deliver = deliver
        self._queue: asyncio.Queue[bytes] = asyncio.Queue()
        self.closed = False

    def send(self, frame: bytes) -> None:
        if not self.closed:
            self._deliver(frame)

    def put(self, frame: bytes) -> None:
        if not self.closed:
            self._queue.put_nowait(frame)

    async def recv(self) -> bytes:
        return await self._queue.get()

    def close(self) -> None:
        self.closed = True
