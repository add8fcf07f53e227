"""asyncio EVCC: optional SDP discovery, then one session over TCP or TLS with the sans-I/O `Evcc`."""
from __future__ import annotations

import asyncio
import errno
import ipaddress
import random
import ssl
from typing import Callable

from iso15118.session.events import Event
from iso15118.session.pump import MachinePump
from iso15118.transport.sdp import DYNAMIC_PORTS, Security
from iso15118.transport.sdp_asyncio import SdpClientConfig, discover_secc
from iso15118.transport.v2gtp_asyncio import V2gtpStream

from .inprocess import warm_up
from .machine import Evcc


async def discover(interface: str, sdp_port: int, tls: bool) -> tuple[str, int]:
    response = await discover_secc(SdpClientConfig(interface, sdp_port, Security.TLS if tls else Security.NO_TLS))
    return str(response.address), response.port


async def _connect(host: str, port: int, ssl_context: ssl.SSLContext | None):
    """Connect from a source port in the Dynamic Ports range 49152-65535, V2G_SRC_TCP_DATA ([V2G20-077], Table 10);
    left to the kernel, the port would come from its ephemeral range (Linux: 32768-60999)."""
    try:
        version = ipaddress.ip_address(host.split("%")[0]).version
    except ValueError:  # a host name (tools and tests only; SDP always yields an address): the kernel picks
        return await asyncio.open_connection(host, port, ssl=ssl_context)
    any_address = "::" if version == 6 else "0.0.0.0"
    for source_port in random.sample(DYNAMIC_PORTS, 32):
        try:
            return await asyncio.open_connection(host, port, ssl=ssl_context, local_addr=(any_address, source_port))
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
    raise OSError(errno.EADDRINUSE, f"no free TCP source port in {DYNAMIC_PORTS.start}-{DYNAMIC_PORTS.stop - 1}")


async def run_session(evcc: Evcc, host: str, port: int, *, ssl_context: ssl.SSLContext | None = None,
                      on_event: Callable[[Event], None] | None = None, connect_timeout: float = 20.0) -> dict:
    """Connect, run the session to its end and return the EV's summary."""
    loop = asyncio.get_running_loop()
    warm_up()
    try:
        reader, writer = await asyncio.wait_for(_connect(host, port, ssl_context), connect_timeout)
    except (OSError, ssl.SSLError, asyncio.TimeoutError) as exc:
        evcc.outcome, evcc.code, evcc.reason = "aborted", "CONNECTION_FAILED", repr(exc)
        return evcc.summary()
    stream = V2gtpStream(reader, writer)
    await MachinePump(evcc, stream, on_event).run(evcc.start(loop.time()))
    return evcc.summary()
