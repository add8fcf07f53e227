"""asyncio EVCC: optional SDP discovery, then one session over TCP or TLS with the sans-I/O `Evcc`."""
from __future__ import annotations

import asyncio
import ssl
from typing import Callable

from iso15118.session.events import Event
from iso15118.session.pump import MachinePump
from iso15118.transport.sdp import Security
from iso15118.transport.sdp_asyncio import SdpClientConfig, discover_secc
from iso15118.transport.v2gtp_asyncio import V2gtpStream

from .inprocess import warm_up
from .machine import Evcc


async def discover(interface: str, sdp_port: int, tls: bool) -> tuple[str, int]:
    response = await discover_secc(SdpClientConfig(interface, sdp_port, Security.TLS if tls else Security.NO_TLS))
    return str(response.address), response.port


async def run_session(evcc: Evcc, host: str, port: int, *, ssl_context: ssl.SSLContext | None = None,
                      on_event: Callable[[Event], None] | None = None, connect_timeout: float = 20.0) -> dict:
    """Connect, run the session to its end and return the EV's summary."""
    loop = asyncio.get_running_loop()
    warm_up()
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port, ssl=ssl_context),
                                                connect_timeout)
    except (OSError, ssl.SSLError, asyncio.TimeoutError) as exc:
        evcc.outcome, evcc.code, evcc.reason = "aborted", "CONNECTION_FAILED", repr(exc)
        return evcc.summary()
    stream = V2gtpStream(reader, writer)
    await MachinePump(evcc, stream, on_event).run(evcc.start(loop.time()))
    return evcc.summary()
