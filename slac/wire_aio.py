"""asyncio driver of one `WireModem`: a raw socket on the host's interface, one on the wire, and the beacon timer.

    async with AsyncWireModem("veth-host", "veth-wire", WireModemConfig(attenuation_db=6), on_event=print):
        await stop.wait()

The modem's MAC is the wire interface's address (unique per modem without any configuration).
"""
from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable

from slac.frames import mac_text
from slac.powerline_aio import NO_OFFLOAD, RawPort
from slac.wire import WIRE_ETHERTYPE, ModemEvent, ToHost, ToWire, WireModem, WireModemConfig


class AsyncWireModem:
    def __init__(self, host_ifname: str, wire_ifname: str, config: WireModemConfig | None = None, *,
                 on_event: Callable[[ModemEvent], None] | None = None) -> None:
        self._host = RawPort(host_ifname)
        self._wire = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(WIRE_ETHERTYPE))
        try:
            self._wire.bind((wire_ifname, WIRE_ETHERTYPE))
        except OSError:
            self.close()
            raise
        self._wire.setblocking(False)
        self.core = WireModem(mac_text(self._wire.getsockname()[4]), config)
        self._on_event = on_event
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None

    async def __aenter__(self) -> "AsyncWireModem":
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self._host.sock, self._on_host)
        self._loop.add_reader(self._wire, self._on_wire)
        self._apply(self.core.timer_expired(self._loop.time()))  # first beacon
        return self

    async def __aexit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._timer:
            self._timer.cancel()
        if self._loop and not self._loop.is_closed():
            self._loop.remove_reader(self._host.sock)
            self._loop.remove_reader(self._wire)
        self._host.sock.close()
        self._wire.close()

    def _on_host(self) -> None:
        for header, frame in self._host.frames():
            self._apply(self.core.from_host(frame, self._loop.time(), header))

    def _on_wire(self) -> None:
        while True:
            try:
                frame = self._wire.recv(65536)
            except BlockingIOError:
                return
            self._apply(self.core.from_wire(frame, self._loop.time()))

    def _on_timer(self) -> None:
        self._apply(self.core.timer_expired(self._loop.time()))

    def _apply(self, outputs: list) -> None:
        for out in outputs:
            if isinstance(out, ToHost):
                self._host.send(out.offload or NO_OFFLOAD, out.frame)
            elif isinstance(out, ToWire):
                try:
                    self._wire.send(out.frame)
                except (BlockingIOError, OSError):
                    pass  # a full or vanished wire loses the frame, as a real medium would
            elif self._on_event:
                self._on_event(out)
        if self._timer:
            self._timer.cancel()
        self._timer = self._loop.call_at(self.core.next_deadline(), self._on_timer)
