"""asyncio SECC: SDP responder + TCP or TLS listener; one sans-I/O `Secc` per connection, many per process.

TLS handshakes start one at a time, `tls_start_interval` apart. asyncio runs every callback that is ready in
one loop turn before it looks at timers again, and a -20 handshake step costs the SECC milliseconds of CPU
(P-521 key exchange and signature, then the vehicle chain): 50 EVs connecting at once made the loop stall for
0.3-0.5 s with their ClientHellos, and sessions already in their charge loop missed the 0.5 s timers
(bench/session_bench.py --burst 50: 91 and 94 of 100 sessions completed; paced: 100/100, stall < 0.1 s).
Paced, a loop turn holds at most a step or two of handshakes; an EV waits a few ms per EV ahead of it (well
inside the 20 s communication setup time). A peer that connects and stays silent delays the others by one
interval only: nothing is held while a handshake waits on the network.
"""
from __future__ import annotations

import asyncio
import errno
import logging
import random
import ssl
from typing import Callable

from iso15118.session.events import Event
from iso15118.session.log import log_event
from iso15118.session.pump import MachinePump
from iso15118.transport.sdp import DYNAMIC_PORTS
from iso15118.transport.sdp_asyncio import LOOPBACK_INTERFACE, SdpServerConfig, start_sdp_server
from iso15118.transport.v2gtp_asyncio import V2gtpStream

from .station import Station

_log = logging.getLogger("iso15118.secc")
# About the SECC's CPU time for one -20 handshake (bench/transport_bench.py: ~6 ms on a 2-core machine):
# handshakes then never pile up in one loop turn, and 100 EVs arriving together are all through in ~1 s.
TLS_START_INTERVAL = 0.01


class _AwaitingTls(asyncio.Protocol):
    """An accepted TCP connection whose TLS handshake has not started yet. It reads nothing (reading paused
    before the transport's first read), so the ClientHello stays in the socket for `loop.start_tls`."""

    def __init__(self, server: "SeccServer") -> None:
        self._server = server

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.pause_reading()
        self._server._spawn(self._server._handshake_then_serve(transport))


class SeccServer:
    """Serve ISO 15118-20 sessions until `close()` (or until `max_sessions` sessions have ended)."""

    def __init__(self, station: Station, *, interface: str = LOOPBACK_INTERFACE, port: int = 0,
                 ssl_context: ssl.SSLContext | None = None, sdp_port: int | None = None,
                 max_sessions: int | None = None, trace=None,
                 on_event: Callable[[Event], None] | None = None,
                 tls_start_interval: float = TLS_START_INTERVAL) -> None:
        self.station = station
        self.interface = interface
        self.requested_port = port
        self.ssl_context = ssl_context
        self.sdp_port = sdp_port
        self.max_sessions = max_sessions
        self.trace = trace
        self.on_event = on_event
        self.port: int | None = None
        self.sessions_ended = 0
        self.active = 0
        self._done = asyncio.Event()
        self._server: asyncio.Server | None = None
        self._sdp = None
        self._tasks: set[asyncio.Task] = set()
        self.tls_start_interval = tls_start_interval
        self._tls_turn = asyncio.Lock()
        self._next_tls_start = 0.0

    @property
    def host(self) -> str:
        return "::1" if self.interface == LOOPBACK_INTERFACE else "::"

    async def start(self) -> "SeccServer":
        from iso15118.evcc.inprocess import warm_up
        warm_up()
        self._server = await self._listen()
        self.port = self._server.sockets[0].getsockname()[1]
        if self.sdp_port is not None:
            tls = self.ssl_context is not None
            self._sdp = await start_sdp_server(SdpServerConfig(self.interface, self.sdp_port),
                                               tls_port=self.port if tls else None,
                                               tcp_port=None if tls else self.port)
        log_event(_log, "secc_listening", interface=self.interface, port=self.port,
                  tls=self.ssl_context is not None, sdp_port=self.sdp_port)
        return self

    async def _listen(self) -> asyncio.Server:
        """Listen on the requested port, or else on a free one from the Dynamic Ports range 49152-65535: the port
        SDP announces is V2G_DST_TCP_DATA, which lies in that range ([V2G20-078], Table 10). Port 0 would get one
        from the kernel's ephemeral range (Linux: 32768-60999), and EVCCs that check the range (Josev) give up."""
        if self.requested_port:
            return await self._listen_on(self.requested_port)
        for port in random.sample(DYNAMIC_PORTS, 32):
            try:
                return await self._listen_on(port)
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE:
                    raise
        raise OSError(errno.EADDRINUSE, f"no free TCP port in {DYNAMIC_PORTS.start}-{DYNAMIC_PORTS.stop - 1}")

    async def _listen_on(self, port: int) -> asyncio.Server:
        if self.ssl_context is None:
            return await asyncio.start_server(self._on_connection, self.host, port)
        return await asyncio.get_running_loop().create_server(lambda: _AwaitingTls(self), self.host, port)

    def _spawn(self, coroutine) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _handshake_then_serve(self, transport: asyncio.Transport) -> None:
        loop = asyncio.get_running_loop()
        try:
            async with self._tls_turn:
                delay = self._next_tls_start - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                self._next_tls_start = loop.time() + self.tls_start_interval
            if transport.is_closing():
                return  # the EV gave up while waiting for its turn
            reader = asyncio.StreamReader()
            protocol = asyncio.StreamReaderProtocol(reader)
            tls_transport = await loop.start_tls(transport, protocol, self.ssl_context, server_side=True)
        except OSError as exc:  # refused (the TLS layer logged the alert and the reason) or reset by the peer
            log_event(_log, "secc_tls_handshake_failed", code="TLS_HANDSHAKE_FAILED", detail=repr(exc))
            transport.close()
            return
        except asyncio.CancelledError:
            transport.close()
            raise
        protocol.connection_made(tls_transport)
        await self._on_connection(reader, asyncio.StreamWriter(tls_transport, protocol, reader, loop))

    async def _on_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        ssl_object = writer.get_extra_info("ssl_object")
        peer_cert = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        stream = V2gtpStream(reader, writer)
        for sealed in self.station.seal_expired_pauses(asyncio.get_running_loop().time()):
            if self.on_event is not None:
                self.on_event(sealed)
        secc = self.station.new_session(peer_certificate=peer_cert, trace=self.trace)
        self.active += 1
        log_event(_log, "secc_connection", peer=str(stream.peer), tls=ssl_object is not None)
        task = asyncio.current_task()
        self._tasks.add(task)
        try:
            await MachinePump(secc, stream, self.on_event).run()
        except asyncio.CancelledError:
            pass  # server shutting down (e.g. during the 5 s linger after SessionStopRes); the pump closed it
        except Exception as exc:  # one broken connection must not take the daemon down
            log_event(_log, "secc_connection_error", logging.ERROR, code="ERR_SESSION_CRASH", detail=repr(exc))
        finally:
            self._tasks.discard(task)
            self.active -= 1
            self.sessions_ended += 1
            if self.max_sessions is not None and self.sessions_ended >= self.max_sessions:
                self._done.set()

    @property
    def sdp_bound_port(self) -> int | None:
        """The UDP port SDP actually listens on (useful with sdp_port=0)."""
        return self._sdp.port if self._sdp is not None else None

    async def wait(self) -> None:
        await self._done.wait()

    async def close(self) -> None:
        if self._sdp is not None:
            self._sdp.close()
        if self._server is not None:
            self._server.close()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await self._server.wait_closed()

    async def __aenter__(self) -> "SeccServer":
        return await self.start()

    async def __aexit__(self, *exc) -> None:
        await self.close()
