"""V2GTP framing (ISO 15118-2/-20 transport protocol), sans-I/O.

Header (8 bytes, big-endian): version 0x01, inverse version 0xFE, payload type (uint16), payload length (uint32,
bytes after the header). -2 and -20 share the header; the protocol revision is not visible in it.

Rules of this file: it never touches a socket. `encode_message` returns header and body as ONE bytes object so
an adapter can hand it to a single write (some deployed peers expect one read per message). `V2gtpReader` takes
bytes as they arrive and hands out whole messages; every malformed input becomes a `V2gtpError` with a stable
`code`.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path

from v2gbase.config import load_dataclass
from iso15118.transport.errors import TransportError

PROTOCOL_VERSION = 0x01
INVERSE_PROTOCOL_VERSION = PROTOCOL_VERSION ^ 0xFF
HEADER_LENGTH = 8
_HEADER = struct.Struct(">BBHI")

# The length field allows 2**32-1 and the standard sets no smaller cap. CertificateInstallationRes and a PnC
# AuthorizationReq carry up to four 1600-byte certificates plus signatures (several kB; EVerest raised its EXI
# certificate limit to 17000 B), so 16 KiB is the floor the facts recommend; 64 KiB leaves room for all of them.
DEFAULT_MAX_PAYLOAD_LENGTH = 64 * 1024
MAX_PAYLOAD_LENGTH_FIELD = 0xFFFF_FFFF


class PayloadType(IntEnum):
    """Payload type identifiers; a response carries the same type as its request."""

    SAP = 0x8001  # SupportedAppProtocolReq/Res (DIN and -2 call it "EXI encoded")
    MAINSTREAM = 0x8002  # -20 CommonMessages
    AC_MAINSTREAM = 0x8003
    DC_MAINSTREAM = 0x8004
    ACDP_MAINSTREAM = 0x8005
    WPT_MAINSTREAM = 0x8006
    # Side streams: their timeouts run independently of the main stream [V2G20-1041].
    SCHEDULE_RENEGOTIATION = 0x8101
    METERING_CONFIRMATION = 0x8102
    ACD_SYSTEM_STATUS = 0x8103
    PARKING_STATUS = 0x8104
    SDP_REQUEST = 0x9000
    SDP_RESPONSE = 0x9001
    SDP_REQUEST_WITH_PPD = 0x9002
    SDP_RESPONSE_WITH_PPD = 0x9003

    @property
    def is_side_stream(self) -> bool:
        return 0x8101 <= self <= 0x8104


# What may arrive on the TCP/TLS connection of a -20 session (SDP types only travel over UDP).
ISO20_STREAM_PAYLOAD_TYPES: frozenset[int] = frozenset(
    t for t in PayloadType if 0x8001 <= t <= 0x8006 or t.is_side_stream)

V2GTP_INCORRECT_VERSION = "V2GTP_INCORRECT_VERSION"
V2GTP_UNKNOWN_PAYLOAD_TYPE = "V2GTP_UNKNOWN_PAYLOAD_TYPE"
V2GTP_PAYLOAD_TOO_LONG = "V2GTP_PAYLOAD_TOO_LONG"
V2GTP_TRUNCATED = "V2GTP_TRUNCATED"
V2GTP_TRAILING_DATA = "V2GTP_TRAILING_DATA"


class V2gtpError(TransportError):
    """A V2GTP frame the receiver must refuse.

    `fatal` is True when the byte stream has lost its framing (bad version, oversize, truncated): the session
    stops and the TCP/TLS connection closes without a response, since no request could be read. It is False for
    a well-framed message of a type not accepted on this stream: the reader skips its body and stays in sync,
    and the SECC ignores it like any invalid request [V2G20-445].
    """

    def __init__(self, code: str, detail: str, *, fatal: bool = True) -> None:
        super().__init__(code, detail)
        self.fatal = fatal


@dataclass(frozen=True, slots=True)
class V2gtpHeader:
    payload_type: int
    payload_length: int


@dataclass(frozen=True, slots=True)
class V2gtpMessage:
    payload_type: int  # a PayloadType member when known
    payload: bytes


@dataclass(frozen=True)
class V2gtpConfig:
    """Receiver limits for one V2GTP stream."""

    max_payload_length: int = DEFAULT_MAX_PAYLOAD_LENGTH
    accepted_payload_types: frozenset[int] = field(default=ISO20_STREAM_PAYLOAD_TYPES)

    def __post_init__(self) -> None:
        if not 0 <= self.max_payload_length <= MAX_PAYLOAD_LENGTH_FIELD:
            raise ValueError(f"max_payload_length {self.max_payload_length} outside 0..{MAX_PAYLOAD_LENGTH_FIELD}")
        object.__setattr__(self, "accepted_payload_types", frozenset(self.accepted_payload_types))

    @classmethod
    def from_file(cls, path: str | Path) -> V2gtpConfig:
        return load_dataclass(cls, path)


_PAYLOAD_TYPES: dict[int, PayloadType] = {t.value: t for t in PayloadType}  # faster than PayloadType(value)


def _known(payload_type: int) -> int:
    return _PAYLOAD_TYPES.get(payload_type, payload_type)


def encode_header(payload_type: int, payload_length: int) -> bytes:
    if not 0 <= payload_type <= 0xFFFF:
        raise ValueError(f"payload type {payload_type:#x} does not fit 16 bits")
    if not 0 <= payload_length <= MAX_PAYLOAD_LENGTH_FIELD:
        raise ValueError(f"payload length {payload_length} does not fit 32 bits")
    return _HEADER.pack(PROTOCOL_VERSION, INVERSE_PROTOCOL_VERSION, payload_type, payload_length)


def encode_message(payload_type: int, payload: bytes) -> bytes:
    """Header and payload as one bytes object, ready for a single write."""
    return encode_header(payload_type, len(payload)) + payload


def decode_header(data: bytes) -> V2gtpHeader:
    """Decode the first 8 bytes of `data`; checks the version pair only."""
    if len(data) < HEADER_LENGTH:
        raise V2gtpError(V2GTP_TRUNCATED, f"header needs {HEADER_LENGTH} bytes, got {len(data)}")
    version, inverse, payload_type, length = _HEADER.unpack_from(data)
    if version != PROTOCOL_VERSION:
        raise V2gtpError(V2GTP_INCORRECT_VERSION, f"byte 0 (protocol version) is {version:#04x}, expected "
                                                  f"{PROTOCOL_VERSION:#04x}")
    if inverse != INVERSE_PROTOCOL_VERSION:
        raise V2gtpError(V2GTP_INCORRECT_VERSION, f"byte 1 (inverse protocol version) is {inverse:#04x}, "
                                                  f"expected {INVERSE_PROTOCOL_VERSION:#04x}")
    return V2gtpHeader(_known(payload_type), length)


def _check_header(header: V2gtpHeader, config: V2gtpConfig) -> None:
    if header.payload_length > config.max_payload_length:
        raise V2gtpError(V2GTP_PAYLOAD_TOO_LONG, f"payload length {header.payload_length} exceeds the maximum "
                                                 f"{config.max_payload_length} (payload type "
                                                 f"{header.payload_type:#06x})")
    if header.payload_type not in config.accepted_payload_types:
        raise V2gtpError(V2GTP_UNKNOWN_PAYLOAD_TYPE, f"payload type {header.payload_type:#06x} is not accepted on "
                                                     f"this stream ({header.payload_length}-byte payload skipped)",
                         fatal=False)


def decode_message(datagram: bytes, config: V2gtpConfig) -> V2gtpMessage:
    """Decode one whole message that must fill `datagram` exactly (UDP: one message per packet)."""
    header = decode_header(datagram)
    _check_header(header, config)
    end = HEADER_LENGTH + header.payload_length
    if len(datagram) < end:
        raise V2gtpError(V2GTP_TRUNCATED, f"header announces {header.payload_length} payload bytes, "
                                          f"datagram carries {len(datagram) - HEADER_LENGTH}")
    if len(datagram) > end:
        raise V2gtpError(V2GTP_TRAILING_DATA, f"{len(datagram) - end} bytes after the {header.payload_length}-byte "
                                              f"payload")
    return V2gtpMessage(header.payload_type, bytes(datagram[HEADER_LENGTH:]))


class V2gtpReader:
    """Reassembles messages from a byte stream: `feed()` what arrives, then call `next_message()` until None.

    After a fatal error the stream is out of sync for good and every later call raises the same error.
    """

    def __init__(self, config: V2gtpConfig | None = None) -> None:
        self.config = config or V2gtpConfig()
        self._buffer = bytearray()
        self._header: V2gtpHeader | None = None
        self._skip = 0
        self._failed: V2gtpError | None = None

    def feed(self, data: bytes) -> None:
        if self._failed is None:
            self._buffer += data

    @property
    def at_message_boundary(self) -> bool:
        """True when no partial message is buffered (a clean place for the peer to close)."""
        return not self._buffer and self._header is None and self._skip == 0

    def next_message(self) -> V2gtpMessage | None:
        if self._failed is not None:
            raise self._failed
        if self._skip:
            dropped = min(self._skip, len(self._buffer))
            del self._buffer[:dropped]
            self._skip -= dropped
            if self._skip:
                return None
        if self._header is None:
            if len(self._buffer) < HEADER_LENGTH:
                return None
            try:
                header = decode_header(self._buffer)
                _check_header(header, self.config)
            except V2gtpError as err:
                if err.fatal:
                    self._fail(err)
                else:
                    del self._buffer[:HEADER_LENGTH]
                    self._skip = header.payload_length
                raise
            del self._buffer[:HEADER_LENGTH]
            self._header = header
        if len(self._buffer) < self._header.payload_length:
            return None
        length = self._header.payload_length
        message = V2gtpMessage(self._header.payload_type, bytes(self._buffer[:length]))
        del self._buffer[:length]
        self._header = None
        return message

    def end_of_stream(self) -> None:
        """The peer closed: raises V2GTP_TRUNCATED if it left a partial message behind."""
        if self._failed is not None:
            raise self._failed
        if not self.at_message_boundary:
            buffered = len(self._buffer) + (HEADER_LENGTH if self._header else 0)
            self._fail(V2gtpError(V2GTP_TRUNCATED, f"connection closed inside a message ({buffered} bytes of it "
                                                   f"received)"))
            raise self._failed  # type: ignore[misc]

    def _fail(self, err: V2gtpError) -> None:
        self._failed = err
        self._buffer.clear()
