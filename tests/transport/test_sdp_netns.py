"""SDP between network namespaces over veth links: ff02::1 multicast, unicast answers, retries on real loss."""
import asyncio
import json
import logging
import shutil
import socket
import subprocess
import threading
import time
from concurrent.futures import Future
from ipaddress import IPv6Address

import pytest

from iso15118.transport import (PayloadType, SdpClientConfig, SdpError, SdpServerConfig, Security, V2gtpMessage,
                                discover_secc, open_v2gtp_connection, start_sdp_server, start_v2gtp_server)
from iso15118.transport.sdp import SDP_NO_RESPONSE
from tests.netns import in_netns, topology, veth_pair
from tests.transport.netns_loop import run_in_netns

pytestmark = pytest.mark.netns


def ifindex(netns: str, ifname: str) -> int:
    with in_netns(netns):
        return socket.if_nametoindex(ifname)


def run_secc(netns: str, offers: list[tuple[str, int]], stop: threading.Event, *, delay: float = 0.0,
             with_echo_server: bool = False) -> tuple[Future, Future]:
    """SDP servers (interface, TLS port) in `netns` until `stop`; the first future resolves once they listen
    (to the V2GTP port when `with_echo_server`), the second to the request count each server answered."""
    ready: Future = Future()

    async def program():
        await asyncio.sleep(delay)
        echo_port, echo = None, None
        if with_echo_server:
            async def handler(stream):
                async for message in stream:
                    await stream.send(message.payload_type, message.payload)
            echo = await start_v2gtp_server(handler, "::", 0)
            echo_port = echo.sockets[0].getsockname()[1]
        servers = [await start_sdp_server(SdpServerConfig(interface), tls_port=port, tcp_port=echo_port)
                   for interface, port in offers]
        ready.set_result(echo_port)
        while not stop.is_set():
            await asyncio.sleep(0.02)
        for server in servers:
            server.close()
        if echo:
            echo.close()
        return [server.core.requests_answered for server in servers]

    return ready, run_in_netns(netns, program)


def run_ev(netns: str, config: SdpClientConfig) -> Future:
    return run_in_netns(netns, lambda: discover_secc(config))


def requests_sent(caplog) -> list[int]:
    return [json.loads(r.getMessage())["requests_sent"] for r in caplog.records
            if '"sdp_discovered"' in r.getMessage()]


def test_ev_discovers_the_secc_over_a_veth_link_and_connects_to_it():
    with veth_pair("sdp") as (ev, secc):
        stop = threading.Event()
        try:
            ready, answered = run_secc(secc.netns, [(secc.ifname, 50000)], stop, with_echo_server=True)
            tcp_port = ready.result(timeout=5)
            found = run_ev(ev.netns, SdpClientConfig(ev.ifname)).result(timeout=5)
            plain = run_ev(ev.netns, SdpClientConfig(ev.ifname, security=Security.NO_TLS)).result(timeout=5)

            async def connect_and_echo():
                stream = await open_v2gtp_connection(str(plain.address), plain.port)
                await stream.send(PayloadType.SAP, b"\x80\x00\xdb\xab\x93\x71")
                reply = await stream.receive()
                await stream.close()
                return reply

            reply = run_in_netns(ev.netns, connect_and_echo).result(timeout=5)
        finally:
            stop.set()
        assert answered.result(timeout=5) == [2]
        scope = ifindex(ev.netns, ev.ifname)
        assert found.address == IPv6Address(f"{secc.link_local}%{scope}")
        assert (found.port, found.security) == (50000, Security.TLS)
        assert (plain.port, plain.security) == (tcp_port, Security.NO_TLS)
        assert reply == V2gtpMessage(PayloadType.SAP, b"\x80\x00\xdb\xab\x93\x71")


def nft(netns: str, *args: str) -> str:
    return subprocess.run(["ip", "netns", "exec", netns, "nft", *args], check=True, capture_output=True,
                          text=True).stdout


def test_ev_retries_every_250_ms_while_the_secc_side_drops_the_first_requests(caplog):
    """A real drop: an nftables rule in the SECC namespace discards SDP requests until three have been counted."""
    if shutil.which("nft") is None:
        pytest.skip("needs nftables' 'nft' command to drop packets (Debian package nftables)")
    with veth_pair("sdp") as (ev, secc), caplog.at_level(logging.INFO, logger="iso15118.transport.sdp"):
        nft(secc.netns, "add", "table", "ip6", "sdp_loss")
        nft(secc.netns, "add", "chain", "ip6", "sdp_loss", "input",
            "{ type filter hook input priority 0; policy accept; }")
        nft(secc.netns, "add", "rule", "ip6", "sdp_loss", "input", "udp", "dport", "15118", "counter", "drop")
        stop = threading.Event()
        try:
            ready, answered = run_secc(secc.netns, [(secc.ifname, 50000)], stop)
            ready.result(timeout=5)
            start = time.monotonic()
            found = run_ev(ev.netns, SdpClientConfig(ev.ifname))

            def dropped_so_far() -> int:
                listing = json.loads(nft(secc.netns, "-j", "list", "chain", "ip6", "sdp_loss", "input"))
                return next(e["counter"]["packets"] for item in listing["nftables"] if "rule" in item
                            for e in item["rule"]["expr"] if "counter" in e)
            while dropped_so_far() < 3:
                time.sleep(0.01)
            # Lift the drop with an accept rule ahead of it, then read the final count: on a slow machine a
            # further request may have been dropped between the reading above and the lifting.
            nft(secc.netns, "insert", "rule", "ip6", "sdp_loss", "input", "udp", "dport", "15118", "accept")
            dropped = dropped_so_far()
            response = found.result(timeout=5)
            elapsed = time.monotonic() - start
        finally:
            stop.set()
        assert answered.result(timeout=5) == [1]
    assert dropped >= 3  # more only if this thread was slow to lift the rule
    assert response.port == 50000
    assert requests_sent(caplog) == [dropped + 1]
    assert elapsed >= dropped * 0.25


def test_ev_keeps_asking_until_a_late_secc_starts(caplog):
    with veth_pair("sdp") as (ev, secc), caplog.at_level(logging.INFO, logger="iso15118.transport.sdp"):
        stop = threading.Event()
        try:
            found = run_ev(ev.netns, SdpClientConfig(ev.ifname))
            ready, answered = run_secc(secc.netns, [(secc.ifname, 50000)], stop, delay=0.6)
            response = found.result(timeout=5)
        finally:
            stop.set()
        assert answered.result(timeout=5) == [1]
    assert response.port == 50000
    # Every 250 ms for the SECC's 0.6 s: 3 requests when both threads start together; at least the unanswered
    # first one and a retry even if a loaded box starts the EV's thread up to 0.6 s late.
    assert requests_sent(caplog)[0] >= 2


def test_each_charging_point_answers_only_on_its_own_interface():
    with topology("sdp") as topo:
        secc_ns, ev1_ns, ev2_ns = topo.namespace("secc"), topo.namespace("ev1"), topo.namespace("ev2")
        secc1, ev1 = topo.link(secc_ns, ev1_ns)
        secc2, ev2 = topo.link(secc_ns, ev2_ns)
        stop = threading.Event()
        try:
            ready, answered = run_secc(secc_ns, [(secc1.ifname, 50001), (secc2.ifname, 50002)], stop)
            ready.result(timeout=5)
            first = run_ev(ev1_ns, SdpClientConfig(ev1.ifname)).result(timeout=5)
            second = run_ev(ev2_ns, SdpClientConfig(ev2.ifname)).result(timeout=5)
        finally:
            stop.set()
        assert answered.result(timeout=5) == [1, 1]
        scope1, scope2 = ifindex(ev1_ns, ev1.ifname), ifindex(ev2_ns, ev2.ifname)
    assert (first.address, first.port) == (IPv6Address(f"{secc1.link_local}%{scope1}"), 50001)
    assert (second.address, second.port) == (IPv6Address(f"{secc2.link_local}%{scope2}"), 50002)


def test_ev_without_an_answering_secc_on_its_link_fails_with_sdp_no_response():
    with veth_pair("sdp") as (ev, _):
        with pytest.raises(SdpError) as err:
            run_ev(ev.netns, SdpClientConfig(ev.ifname, retry_interval=0.05, max_requests=3)).result(timeout=5)
    assert err.value.code == SDP_NO_RESPONSE
