"""SDP loopback mode (interface "lo": unicast ::1, no root needed) over real UDP sockets."""
import asyncio
import ipaddress
import json
import logging
import socket
import time

import pytest

from iso15118.transport import SdpClientConfig, SdpError, SdpServerConfig, Security, discover_secc, start_sdp_server
from iso15118.transport.sdp import SDP_NO_RESPONSE


async def test_ev_discovers_the_secc_on_loopback():
    async with await start_sdp_server(SdpServerConfig(port=0), tls_port=50000, tcp_port=50001) as server:
        tls = await discover_secc(SdpClientConfig(server_port=server.port))
        plain = await discover_secc(SdpClientConfig(server_port=server.port, security=Security.NO_TLS))
    assert (tls.address, tls.port, tls.security) == (ipaddress.IPv6Address("::1"), 50000, Security.TLS)
    assert (plain.port, plain.security) == (50001, Security.NO_TLS)
    assert server.core.requests_answered == 2


async def test_several_evs_discovering_at_once_all_get_answers():
    async with await start_sdp_server(SdpServerConfig(port=0), tls_port=50000) as server:
        answers = await asyncio.gather(*(discover_secc(SdpClientConfig(server_port=server.port)) for _ in range(5)))
    assert {a.port for a in answers} == {50000}
    assert server.core.requests_answered == 5


async def test_request_on_the_wire_comes_from_a_dynamic_port_with_the_table_21_bytes():
    listener = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    listener.bind(("::1", 0))
    listener.setblocking(False)
    loop = asyncio.get_running_loop()
    config = SdpClientConfig(server_port=listener.getsockname()[1], security=Security.NO_TLS, max_requests=1,
                             retry_interval=2.0)
    discovery = asyncio.create_task(discover_secc(config))
    data, sender = await asyncio.wait_for(loop.sock_recvfrom(listener, 64), 2)
    discovery.cancel()
    listener.close()
    assert data == bytes.fromhex("01fe900000000002" "1000")
    assert 49152 <= sender[1] <= 65535


async def test_ev_gives_up_with_sdp_no_response_after_max_requests(caplog):
    silent = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    silent.bind(("::1", 0))  # receives and never answers
    start = time.monotonic()
    with caplog.at_level(logging.INFO, logger="iso15118.transport.sdp"), pytest.raises(SdpError) as err:
        await discover_secc(SdpClientConfig(server_port=silent.getsockname()[1], retry_interval=0.05,
                                            max_requests=4))
    elapsed = time.monotonic() - start
    received = 0
    silent.setblocking(False)
    while True:
        try:
            silent.recv(64)
            received += 1
        except BlockingIOError:
            break
    silent.close()
    assert err.value.code == SDP_NO_RESPONSE
    assert received == 4
    assert elapsed >= 4 * 0.05
    failure = [json.loads(r.getMessage()) for r in caplog.records if "sdp_failed" in r.getMessage()]
    assert failure == [{"event": "sdp_failed", "code": SDP_NO_RESPONSE, "requests_sent": 4, "interface": "lo"}]


async def test_ev_retries_until_a_late_secc_answers():
    port_holder = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    port_holder.bind(("::1", 0))
    port = port_holder.getsockname()[1]
    port_holder.close()  # nobody listens for now: the first requests are lost
    discovery = asyncio.create_task(discover_secc(SdpClientConfig(server_port=port, retry_interval=0.1)))
    await asyncio.sleep(0.35)
    async with await start_sdp_server(SdpServerConfig(port=port), tls_port=50000) as server:
        response = await asyncio.wait_for(discovery, 2)
    assert response.port == 50000
    assert server.core.requests_answered == 1
