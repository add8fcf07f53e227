"""SECC Discovery Protocol (SDP), sans-I/O: message formats, the SECC answering core and the EVCC retry core.

Rules of this file: no sockets, no clocks. The cores take datagrams and the current time and return actions
(`SendDatagram`, `StartTimer`, `Discovered`, `DiscoveryFailed`, `Ignored`); `sdp_asyncio` owns the UDP
sockets, the multicast group and the timer.
"""
from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass
from enum import Enum, IntEnum

from iso15118.transport.errors import TransportError
from iso15118.transport.v2gtp import PayloadType, V2gtpConfig, V2gtpError, decode_message, encode_message

SDP_SERVER_PORT = 15118  # V2G_UDP_SDP_SERVER [V2G20-149]
ALL_NODES_MULTICAST = "ff02::1"  # the EVCC sends every request here [V2G20-139]
DYNAMIC_PORTS = range(49152, 65536)  # where the EVCC's own UDP port comes from

REQUEST_PAYLOAD_LENGTH = 2  # [V2G20-141]
RESPONSE_PAYLOAD_LENGTH = 20  # [V2G20-153]
_RESPONSE = struct.Struct(">16sHBB")  # address, port (big-endian, [V2G20-156]), security, transport

# [V2G20-157]-[V2G20-162]: wait >= 250 ms after each request; give up after 50 without a valid response.
DEFAULT_RETRY_INTERVAL = 0.25
DEFAULT_MAX_REQUESTS = 50

SDP_INVALID_LENGTH = "SDP_INVALID_LENGTH"
SDP_INVALID_SECURITY = "SDP_INVALID_SECURITY"
SDP_INVALID_TRANSPORT = "SDP_INVALID_TRANSPORT"
SDP_UNEXPECTED_MESSAGE = "SDP_UNEXPECTED_MESSAGE"
# The EVCC acts on it as on a communication-setup timeout [V2G20-162].
SDP_NO_RESPONSE = "SDP_NO_RESPONSE"


class SdpError(TransportError):
    """An SDP datagram that is not a valid request/response, or discovery that ended without an answer."""


class Security(IntEnum):
    """Table 21 [V2G20-623]; "no TLS" exists only to continue with DIN/-2 EIM."""

    TLS = 0x00
    NO_TLS = 0x10


class TransportProtocol(IntEnum):
    """Table 21 [V2G20-624]; 0x10 is reserved for UDP and never offered by a -20 SECC."""

    TCP = 0x00
    UDP = 0x10


@dataclass(frozen=True, slots=True)
class SdpRequest:
    security: Security
    transport: TransportProtocol = TransportProtocol.TCP

    def encode(self) -> bytes:
        return encode_message(PayloadType.SDP_REQUEST, bytes((self.security, self.transport)))


@dataclass(frozen=True, slots=True)
class SdpResponse:
    """Where the SECC listens. `address` keeps a scope id once an adapter knows the interface it came from."""

    address: ipaddress.IPv6Address
    port: int
    security: Security
    transport: TransportProtocol = TransportProtocol.TCP

    def encode(self) -> bytes:
        return encode_message(PayloadType.SDP_RESPONSE,
                              _RESPONSE.pack(self.address.packed, self.port, self.security, self.transport))


_SDP_V2GTP = V2gtpConfig(max_payload_length=RESPONSE_PAYLOAD_LENGTH,
                         accepted_payload_types=frozenset({PayloadType.SDP_REQUEST, PayloadType.SDP_RESPONSE}))


def _security(value: int) -> Security:
    try:
        return Security(value)
    except ValueError:
        raise SdpError(SDP_INVALID_SECURITY, f"security byte {value:#04x} is reserved (0x00 TLS, 0x10 no TLS)")


def _transport(value: int) -> TransportProtocol:
    try:
        return TransportProtocol(value)
    except ValueError:
        raise SdpError(SDP_INVALID_TRANSPORT, f"transport byte {value:#04x} is reserved (0x00 TCP, 0x10 UDP)")


def decode_sdp(datagram: bytes) -> SdpRequest | SdpResponse:
    """Decode one SDP datagram; raises SdpError or V2gtpError naming what is wrong."""
    message = decode_message(datagram, _SDP_V2GTP)
    payload = message.payload
    if message.payload_type == PayloadType.SDP_REQUEST:
        if len(payload) != REQUEST_PAYLOAD_LENGTH:
            raise SdpError(SDP_INVALID_LENGTH, f"SDP request payload is {len(payload)} bytes, expected "
                                               f"{REQUEST_PAYLOAD_LENGTH}")
        return SdpRequest(_security(payload[0]), _transport(payload[1]))
    if len(payload) != RESPONSE_PAYLOAD_LENGTH:
        raise SdpError(SDP_INVALID_LENGTH, f"SDP response payload is {len(payload)} bytes, expected "
                                           f"{RESPONSE_PAYLOAD_LENGTH}")
    address, port, security, transport = _RESPONSE.unpack(payload)
    return SdpResponse(ipaddress.IPv6Address(address), port, _security(security), _transport(transport))


# --- actions returned by the cores -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SendDatagram:
    """Send `data`; `address` None means the discovery destination the adapter was configured with."""

    data: bytes
    address: tuple | None = None


@dataclass(frozen=True, slots=True)
class StartTimer:
    deadline: float


@dataclass(frozen=True, slots=True)
class Discovered:
    response: SdpResponse
    requests_sent: int


@dataclass(frozen=True, slots=True)
class DiscoveryFailed:
    code: str
    requests_sent: int


@dataclass(frozen=True, slots=True)
class Ignored:
    """A datagram dropped on purpose; `code` says why (for the structured log)."""

    code: str
    detail: str


SdpAction = SendDatagram | StartTimer | Discovered | DiscoveryFailed | Ignored


def _decode_or_ignore(datagram: bytes) -> tuple[SdpRequest | SdpResponse | None, Ignored | None]:
    try:
        return decode_sdp(datagram), None
    except (SdpError, V2gtpError) as err:
        return None, Ignored(err.code, err.detail)


class SdpServer:
    """SECC side: answers every valid request, unicast to its sender [V2G20-143], [V2G20-144].

    Offers `tls_port` and/or `tcp_port` (plain TCP, for DIN/-2 EIM only). A request gets the security it asked
    for when that port exists, otherwise the one that does; a SECC offering -20 answers TLS to TLS [V2G20-1238].
    Nothing is ever sent unsolicited [V2G20-146].
    """

    def __init__(self, address: ipaddress.IPv6Address, *, tls_port: int | None = None,
                 tcp_port: int | None = None) -> None:
        if tls_port is None and tcp_port is None:
            raise ValueError("an SDP server must offer a TLS port, a TCP port, or both")
        self.address = address
        self.ports = {Security.TLS: tls_port, Security.NO_TLS: tcp_port}
        self.requests_answered = 0

    def handle_datagram(self, datagram: bytes, sender: tuple) -> list[SdpAction]:
        message, ignored = _decode_or_ignore(datagram)
        if ignored:
            return [ignored]
        if not isinstance(message, SdpRequest):
            return [Ignored(SDP_UNEXPECTED_MESSAGE, "an SDP response reached the server")]
        if message.transport != TransportProtocol.TCP:
            return [Ignored(SDP_INVALID_TRANSPORT, "request asks for UDP, which -20 reserves")]
        security = message.security
        if self.ports[security] is None:
            security = Security.NO_TLS if security == Security.TLS else Security.TLS
        response = SdpResponse(self.address, self.ports[security], security)  # type: ignore[arg-type]
        self.requests_answered += 1
        return [SendDatagram(response.encode(), sender)]


class _ClientState(Enum):
    IDLE = "idle"
    WAITING = "waiting"
    DISCOVERED = "discovered"
    FAILED = "failed"


class SdpClient:
    """EVCC side: sends a request, resends every `retry_interval` s, gives up after `max_requests`.

    The first valid response ends discovery; later or duplicate responses and any request are ignored
    [V2G20-126], [V2G20-145]. The response's security may differ from the request's (a DIN/-2-only SECC answers
    "no TLS"): the caller decides whether to use it.
    """

    def __init__(self, security: Security = Security.TLS, *, retry_interval: float = DEFAULT_RETRY_INTERVAL,
                 max_requests: int = DEFAULT_MAX_REQUESTS) -> None:
        if retry_interval <= 0 or max_requests < 1:
            raise ValueError("retry_interval must be > 0 and max_requests >= 1")
        self.request = SdpRequest(security)
        self.retry_interval = retry_interval
        self.max_requests = max_requests
        self.requests_sent = 0
        self.state = _ClientState.IDLE
        self._deadline: float | None = None

    @property
    def done(self) -> bool:
        return self.state in (_ClientState.DISCOVERED, _ClientState.FAILED)

    def start(self, now: float) -> list[SdpAction]:
        if self.state is not _ClientState.IDLE:
            raise RuntimeError(f"SDP client already {self.state.value}")
        self.state = _ClientState.WAITING
        return self._send(now)

    def timer_expired(self, now: float) -> list[SdpAction]:
        if self.state is not _ClientState.WAITING or self._deadline is None:
            return []
        if now < self._deadline:  # woken early (timer resolution): wait for the rest
            return [StartTimer(self._deadline)]
        if self.requests_sent >= self.max_requests:
            self.state = _ClientState.FAILED
            return [DiscoveryFailed(SDP_NO_RESPONSE, self.requests_sent)]
        return self._send(now)

    def handle_datagram(self, datagram: bytes, now: float) -> list[SdpAction]:
        message, ignored = _decode_or_ignore(datagram)
        if ignored:
            return [ignored]
        if not isinstance(message, SdpResponse):
            return [Ignored(SDP_UNEXPECTED_MESSAGE, "an SDP request reached the client")]
        if self.state is not _ClientState.WAITING:
            return [Ignored(SDP_UNEXPECTED_MESSAGE, f"response after discovery {self.state.value}")]
        if message.transport != TransportProtocol.TCP:
            return [Ignored(SDP_INVALID_TRANSPORT, "response offers UDP, which -20 reserves")]
        self.state = _ClientState.DISCOVERED
        return [Discovered(message, self.requests_sent)]

    def _send(self, now: float) -> list[SdpAction]:
        self.requests_sent += 1
        self._deadline = now + self.retry_interval
        return [SendDatagram(self.request.encode()), StartTimer(self._deadline)]
