"""asyncio adapters for SDP: UDP sockets, the ff02::1 group on the PLC interface, and the EVCC's retry timer.

Interface "lo" selects loopback mode: the loopback device has no multicast, so the client sends its requests
unicast to ::1 and the server listens on ::1. Any other interface name is the real thing: the server joins
ff02::1 on that interface only, and the client sends to ff02::1 out of that interface.

Sockets are created in the calling thread's network namespace (interface names and indexes are per namespace).
"""
from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import random
import socket
import struct
from dataclasses import dataclass
from pathlib import Path

from v2gbase.config import load_dataclass
from iso15118.transport._log import log_event
from iso15118.transport.sdp import (ALL_NODES_MULTICAST, DEFAULT_MAX_REQUESTS, DEFAULT_RETRY_INTERVAL, DYNAMIC_PORTS,
                                    SDP_SERVER_PORT, Discovered, DiscoveryFailed, Ignored,
                                    SdpAction, SdpClient, SdpError, SdpResponse, SdpServer, Security, SendDatagram,
                                    StartTimer)

LOOPBACK_INTERFACE = "lo"
_LOOPBACK_ADDRESS = "::1"
_log = logging.getLogger("iso15118.transport.sdp")


@dataclass(frozen=True)
class SdpServerConfig:
    interface: str = LOOPBACK_INTERFACE
    port: int = SDP_SERVER_PORT  # 0 picks a free port (loopback tests)

    @classmethod
    def from_file(cls, path: str | Path) -> SdpServerConfig:
        return load_dataclass(cls, path)


@dataclass(frozen=True)
class SdpClientConfig:
    interface: str = LOOPBACK_INTERFACE
    server_port: int = SDP_SERVER_PORT
    security: Security = Security.TLS
    retry_interval: float = DEFAULT_RETRY_INTERVAL
    max_requests: int = DEFAULT_MAX_REQUESTS
    client_port: int | None = None  # None: a random port from the dynamic range 49152-65535

    @classmethod
    def from_file(cls, path: str | Path) -> SdpClientConfig:
        return load_dataclass(cls, path)


def _without_scope(address: tuple) -> tuple:
    # Python renders a link-local sender as "fe80::1%ifname"; that name would be resolved again on sendto in
    # whatever namespace the sending thread is in. The numeric scope id in the tuple is all the kernel needs.
    return (address[0].split("%")[0], *address[1:])


def _source_address(ifindex: int) -> ipaddress.IPv6Address:
    """The address the kernel uses towards ff02::1 on this interface: its link-local address."""
    with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as probe:
        probe.connect((ALL_NODES_MULTICAST, SDP_SERVER_PORT, 0, ifindex))
        return ipaddress.IPv6Address(probe.getsockname()[0].split("%")[0])


def _server_socket(config: SdpServerConfig) -> tuple[socket.socket, ipaddress.IPv6Address]:
    sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    try:
        sock.setblocking(False)
        if config.interface == LOOPBACK_INTERFACE:
            sock.bind((_LOOPBACK_ADDRESS, config.port))
            return sock, ipaddress.IPv6Address(_LOOPBACK_ADDRESS)
        ifindex = socket.if_nametoindex(config.interface)
        # One SDP server per charging-point interface on the same host: each binds port 15118 on its device.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, config.interface.encode())
        sock.bind(("::", config.port))
        membership = socket.inet_pton(socket.AF_INET6, ALL_NODES_MULTICAST) + struct.pack("@I", ifindex)
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, membership)
        return sock, _source_address(ifindex)
    except BaseException:
        sock.close()
        raise


def _client_socket(config: SdpClientConfig) -> tuple[socket.socket, tuple, int]:
    """The socket, where requests go, and the scope id to give a link-local SECC address."""
    sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    try:
        sock.setblocking(False)
        if config.interface == LOOPBACK_INTERFACE:
            host, destination, scope = _LOOPBACK_ADDRESS, (_LOOPBACK_ADDRESS, config.server_port), 0
        else:
            scope = socket.if_nametoindex(config.interface)
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, scope)
            host, destination = "::", (ALL_NODES_MULTICAST, config.server_port, 0, scope)
        _bind_client_port(sock, host, config.client_port)
        return sock, destination, scope
    except BaseException:
        sock.close()
        raise


def _bind_client_port(sock: socket.socket, host: str, port: int | None) -> None:
    if port is not None:
        sock.bind((host, port))
        return
    for candidate in random.sample(DYNAMIC_PORTS, 32):
        with contextlib.suppress(OSError):
            sock.bind((host, candidate))
            return
    raise OSError(f"no free UDP port in {DYNAMIC_PORTS.start}-{DYNAMIC_PORTS.stop - 1} after 32 tries")


class _SdpServerProtocol(asyncio.DatagramProtocol):
    def __init__(self, core: SdpServer, interface: str) -> None:
        self.core = core
        self.interface = interface
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        for action in self.core.handle_datagram(data, _without_scope(addr)):
            if isinstance(action, SendDatagram):
                self.transport.sendto(action.data, action.address)  # type: ignore[union-attr]
                log_event(_log, logging.DEBUG, "sdp_response_sent", peer=addr[0], interface=self.interface)
            elif isinstance(action, Ignored):
                log_event(_log, logging.INFO, "sdp_datagram_ignored", code=action.code, detail=action.detail,
                          peer=addr[0], interface=self.interface)

    def error_received(self, exc: Exception) -> None:
        log_event(_log, logging.WARNING, "sdp_socket_error", error=str(exc), interface=self.interface)


class SdpServerEndpoint:
    """A running SDP server; `port` is the UDP port it listens on, `address` the address it announces."""

    def __init__(self, transport: asyncio.DatagramTransport, protocol: _SdpServerProtocol) -> None:
        self._transport = transport
        self.core = protocol.core
        self.address = protocol.core.address
        self.port: int = transport.get_extra_info("sockname")[1]

    def close(self) -> None:
        self._transport.close()

    async def __aenter__(self) -> SdpServerEndpoint:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()


async def start_sdp_server(config: SdpServerConfig, *, tls_port: int | None = None, tcp_port: int | None = None,
                           address: ipaddress.IPv6Address | None = None) -> SdpServerEndpoint:
    """Answer SDP requests on `config.interface`, announcing `address` (default: the interface's link-local
    address, or ::1 in loopback mode) and the TLS and/or plain TCP port the SECC listens on."""
    sock, own_address = _server_socket(config)
    core = SdpServer(address or own_address, tls_port=tls_port, tcp_port=tcp_port)
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(lambda: _SdpServerProtocol(core, config.interface),
                                                              sock=sock)
    log_event(_log, logging.INFO, "sdp_server_started", interface=config.interface, port=sock.getsockname()[1],
              address=core.address, tls_port=tls_port, tcp_port=tcp_port)
    return SdpServerEndpoint(transport, protocol)  # type: ignore[arg-type]


class _SdpClientProtocol(asyncio.DatagramProtocol):
    def __init__(self, core: SdpClient, config: SdpClientConfig, destination: tuple, scope: int,
                 result: asyncio.Future[SdpResponse]) -> None:
        self.core, self.config, self.destination, self.scope, self.result = core, config, destination, scope, result
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.DatagramTransport | None = None
        self.timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        self.apply(self.core.handle_datagram(data, self.loop.time()))

    def error_received(self, exc: Exception) -> None:
        # e.g. the interface is down: this request is lost, the retry timer sends the next one.
        log_event(_log, logging.WARNING, "sdp_socket_error", error=str(exc), interface=self.config.interface)

    def on_timer(self) -> None:
        self.timer = None
        self.apply(self.core.timer_expired(self.loop.time()))

    def apply(self, actions: list[SdpAction]) -> None:
        for action in actions:
            if isinstance(action, SendDatagram):
                self.transport.sendto(action.data, action.address or self.destination)  # type: ignore[union-attr]
            elif isinstance(action, StartTimer):
                self.timer = self.loop.call_at(action.deadline, self.on_timer)
            elif isinstance(action, Discovered):
                self.cancel_timer()
                if not self.result.done():
                    self.result.set_result(self._scoped(action.response))
                log_event(_log, logging.INFO, "sdp_discovered", address=action.response.address,
                          port=action.response.port, security=action.response.security.name,
                          requests_sent=action.requests_sent)
            elif isinstance(action, DiscoveryFailed):
                if not self.result.done():
                    self.result.set_exception(SdpError(action.code, f"no valid SDP response to "
                                                                    f"{action.requests_sent} requests on "
                                                                    f"{self.config.interface}"))
                log_event(_log, logging.WARNING, "sdp_failed", code=action.code, requests_sent=action.requests_sent,
                          interface=self.config.interface)
            elif isinstance(action, Ignored):
                log_event(_log, logging.INFO, "sdp_datagram_ignored", code=action.code, detail=action.detail,
                          interface=self.config.interface)

    def _scoped(self, response: SdpResponse) -> SdpResponse:
        # A link-local address means nothing without the interface it was reached on.
        if response.address.is_link_local and self.scope:
            scoped = ipaddress.IPv6Address(f"{response.address}%{self.scope}")
            return SdpResponse(scoped, response.port, response.security, response.transport)
        return response

    def cancel_timer(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None


async def discover_secc(config: SdpClientConfig) -> SdpResponse:
    """Run SDP until a SECC answers; returns its address (link-local ones with the numeric scope id, so
    `str(response.address)` works as a host for asyncio.open_connection), port and security.

    Raises SdpError(SDP_NO_RESPONSE) after `max_requests` unanswered requests.
    """
    sock, destination, scope = _client_socket(config)
    loop = asyncio.get_running_loop()
    result: asyncio.Future[SdpResponse] = loop.create_future()
    core = SdpClient(config.security, retry_interval=config.retry_interval, max_requests=config.max_requests)
    transport, protocol = await loop.create_datagram_endpoint(
        lambda: _SdpClientProtocol(core, config, destination, scope, result), sock=sock)
    try:
        protocol.apply(core.start(loop.time()))
        return await result
    finally:
        protocol.cancel_timer()
        transport.close()

