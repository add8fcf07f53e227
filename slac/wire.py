"""One virtual modem per process on a shared "wire" (an Ethernet segment standing in for the powerline), sans-I/O.

A `WireModem` is a `VirtualModem` plus what the medium needs when every modem is its own process:
- Wire frames: EtherType 0x88B5 (IEEE 802 local experimental), broadcast (the powerline is one shared medium),
  source = the modem's MAC, then `version kind NID(7) frame-id(2) fragment fragments` and a chunk. A host's
  frame travels as its offload header (PACKET_VNET_HDR, 10 bytes) + the frame, cut into chunks that fit a
  1500-byte wire MTU (a host's TCP stack hands over 64 KiB segments), as HomePlug cuts MSDUs into PHY blocks.
  The NID in the header is the AVLN the frame is encrypted for: only modems holding that NMK pass data on.
- Beacons: every `beacon_interval` (and at once after a CM_SET_KEY) a modem announces its NID, its host's MAC
  and its weakest SNR, as a HomePlug CCo beacons its AVLN. A modem whose beacons stop for `peer_timeout` has
  left; stations with the modem's NID are its AVLN (VS_PL_LINK_STATUS, VS_NW_INFO).

`from_host(frame, now, offload)`, `from_wire(frame, now)` and `timer_expired(now)` return `ToHost`, `ToWire`
and `ModemEvent`s; `slac.wire_aio` owns the two raw sockets and the timer.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from slac.errors import SlacError
from slac.frames import BROADCAST, mac_text, message_of, parse_frame
from slac.virtual_modem import DATA, MANAGEMENT, SOUND, ModemConfig, Peer, Transmission, VirtualModem
from v2gbase.config import load_dataclass

WIRE_ETHERTYPE = 0x88B5
WIRE_VERSION = 1
BEACON = "beacon"
KINDS = (BEACON, DATA, MANAGEMENT, SOUND)
_HEADER = struct.Struct("!BB7sHBB")  # version, kind, NID, frame id, fragment index, fragment count
_ETHER = 14
OFFLOAD_LEN = 10  # struct virtio_net_hdr
CHUNK = 1500 - _HEADER.size
_NO_HOST = bytes(6)


class WireError(SlacError):
    """A wire frame that is not a well-formed fragment or beacon (another tool on the segment, a bug)."""

    code = "SLAC_WIRE_MALFORMED"


@dataclass
class WireModemConfig(ModemConfig):
    beacon_interval: float = 0.05  # HomePlug beacons every 2 mains cycles (33–40 ms)
    peer_timeout: float = 0.3      # no beacon for this long: the station has left

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("beacon_interval", "peer_timeout"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ValueError(f"{name} must be a positive number of seconds, not {value!r}")

    @classmethod
    def load(cls, path: str | Path, **overrides: Any) -> "WireModemConfig":
        return load_dataclass(cls, path, **overrides)


@dataclass(frozen=True)
class WireFragment:
    src: str
    kind: str
    nid: bytes
    frame_id: int
    index: int
    count: int
    chunk: bytes


def encode_wire(src: str, kind: str, nid: bytes, frame_id: int, payload: bytes) -> list[bytes]:
    """The wire frames that carry `payload` (at least one, even when empty)."""
    chunks = [payload[i:i + CHUNK] for i in range(0, len(payload), CHUNK)] or [b""]
    if len(chunks) > 255:
        raise WireError(f"{len(payload)} bytes do not fit in 255 fragments")
    head = bytes.fromhex("ff" * 6) + bytes.fromhex(src.replace(":", "")) + WIRE_ETHERTYPE.to_bytes(2, "big")
    return [head + _HEADER.pack(WIRE_VERSION, KINDS.index(kind), nid, frame_id, i, len(chunks)) + chunk
            for i, chunk in enumerate(chunks)]


def decode_wire(frame: bytes) -> WireFragment:
    if len(frame) < _ETHER + _HEADER.size:
        raise WireError(f"wire frame of {len(frame)} bytes is shorter than its {_ETHER + _HEADER.size}-byte header")
    if int.from_bytes(frame[12:14], "big") != WIRE_ETHERTYPE:
        raise WireError(f"EtherType 0x{int.from_bytes(frame[12:14], 'big'):04X} is not the wire's")
    version, kind, nid, frame_id, index, count = _HEADER.unpack_from(frame, _ETHER)
    if version != WIRE_VERSION:
        raise WireError(f"wire version {version}, expected {WIRE_VERSION}")
    if kind >= len(KINDS):
        raise WireError(f"unknown wire frame kind {kind}")
    if index >= count:
        raise WireError(f"fragment {index} of {count}")
    return WireFragment(mac_text(frame[6:12]), KINDS[kind], nid, frame_id, index, count,
                        frame[_ETHER + _HEADER.size:])


@dataclass(frozen=True)
class ToHost:
    frame: bytes
    offload: bytes = b""  # the sender's PACKET_VNET_HDR for a forwarded frame, else none


@dataclass(frozen=True)
class ToWire:
    frame: bytes


@dataclass(frozen=True)
class ModemEvent:
    event: str
    details: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"event": self.event, **self.details}


@dataclass
class _Partial:
    frame_id: int
    chunks: list[bytes]


class WireModem:
    def __init__(self, modem_mac: str, config: WireModemConfig | None = None) -> None:
        self.config = config or WireModemConfig()
        self.modem = VirtualModem.create("host", modem_mac, self.config)
        self.peers: dict[str, tuple[Peer, float]] = {}  # modem MAC -> (peer, last beacon time)
        self._next_beacon = 0.0
        self._frame_id = 0
        self._partial: dict[str, _Partial] = {}

    @property
    def modem_mac(self) -> str:
        return self.modem.modem_mac

    def avln(self, nid: bytes | None = None) -> list[Peer]:
        """The stations holding `nid` (default: this modem's own, i.e. its AVLN)."""
        nid = nid or self.modem.nid
        return [peer for peer, _ in self.peers.values() if peer.nid == nid]

    # -- host side -------------------------------------------------------------------------------------
    def from_host(self, frame: bytes, now: float, offload: bytes = bytes(OFFLOAD_LEN)) -> list:
        nid = self.modem.nid
        replies, tx = self.modem.from_host(frame, [peer for peer, _ in self.peers.values()])
        out: list = [ToHost(d.frame) for d in replies]
        if self.modem.nid != nid:  # CM_SET_KEY: a new AVLN; tell the medium at once
            out.append(ModemEvent("KeySet", {"nid": self.modem.nid.hex()}))
            out += self._avln_changes(self.avln(nid)) + self._beacon(now)
        if tx is not None:
            self._frame_id = (self._frame_id + 1) & 0xFFFF
            out += [ToWire(f) for f in encode_wire(self.modem_mac, tx.kind, tx.nid, self._frame_id,
                                                   offload.ljust(OFFLOAD_LEN, b"\x00") + tx.frame)]
        return out

    # -- wire side -------------------------------------------------------------------------------------
    def from_wire(self, frame: bytes, now: float) -> list:
        try:
            fragment = decode_wire(frame)
        except WireError as exc:
            return [ModemEvent("WireFrameRejected", exc.to_dict())]
        if fragment.src == self.modem_mac:
            return []
        if fragment.kind == BEACON:
            return self._on_beacon(fragment, now)
        payload = self._reassemble(fragment)
        if payload is None:
            return []
        if len(payload) < OFFLOAD_LEN + _ETHER:
            return [ModemEvent("WireFrameRejected", {"code": WireError.code,
                                                     "message": f"{len(payload)}-byte payload holds no frame"})]
        offload, host_frame = payload[:OFFLOAD_LEN], payload[OFFLOAD_LEN:]
        profiles = self.modem.counters["profiles"]
        out: list = [ToHost(d.frame, offload if d.forwarded else b"")
                     for d in self.modem.hear(Transmission(host_frame, fragment.kind, fragment.nid))]
        if self.modem.counters["profiles"] > profiles:
            out.append(ModemEvent("AttenProfile", {"pev_mac": mac_text(host_frame[6:12]),
                                                   "attenuation_db": _profile_mean(out[-1].frame)}))
        return out

    def _reassemble(self, fragment: WireFragment) -> bytes | None:
        """The whole payload once its last fragment arrived in order; a gap discards the frame."""
        if fragment.count == 1:
            self._partial.pop(fragment.src, None)
            return fragment.chunk
        partial = self._partial.get(fragment.src)
        if fragment.index == 0:
            partial = self._partial[fragment.src] = _Partial(fragment.frame_id, [])
        elif partial is None or partial.frame_id != fragment.frame_id or len(partial.chunks) != fragment.index:
            self._partial.pop(fragment.src, None)
            return None
        partial.chunks.append(fragment.chunk)
        if fragment.index < fragment.count - 1:
            return None
        del self._partial[fragment.src]
        return b"".join(partial.chunks)

    def _on_beacon(self, fragment: WireFragment, now: float) -> list:
        if len(fragment.chunk) < 7:
            return [ModemEvent("WireFrameRejected", {"code": WireError.code, "message": "beacon truncated"})]
        host = fragment.chunk[:6]
        avln = self.avln()
        self.peers[fragment.src] = (Peer(fragment.src, None if host == _NO_HOST else mac_text(host), fragment.nid,
                                         float(fragment.chunk[6])), now)
        return self._avln_changes(avln)

    # -- time ------------------------------------------------------------------------------------------
    def next_deadline(self) -> float:
        expiries = [seen + self.config.peer_timeout for _, seen in self.peers.values()]
        return min([self._next_beacon, *expiries])

    def timer_expired(self, now: float) -> list:
        avln = self.avln()
        for mac, (_, seen) in list(self.peers.items()):
            if seen + self.config.peer_timeout <= now:
                del self.peers[mac]
        out = self._avln_changes(avln)
        if now >= self._next_beacon:
            out += self._beacon(now)
        return out

    def _beacon(self, now: float) -> list:
        self._next_beacon = now + self.config.beacon_interval
        modem = self.modem
        if modem.cut or modem.silent:
            return []
        host = bytes.fromhex(modem.host_mac.replace(":", "")) if modem.host_mac else _NO_HOST
        snr = max(0, min(255, round(min(modem.snr_db))))
        return [ToWire(f) for f in encode_wire(self.modem_mac, BEACON, modem.nid, 0, host + bytes([snr]))]

    def _avln_changes(self, before: list[Peer]) -> list[ModemEvent]:
        was, now = {p.modem_mac: p for p in before}, {p.modem_mac: p for p in self.avln()}
        return ([ModemEvent("StationJoined", _station(p)) for mac, p in now.items() if mac not in was]
                + [ModemEvent("StationLeft", _station(p)) for mac, p in was.items() if mac not in now])


def _station(peer: Peer) -> dict:
    return {"modem_mac": peer.modem_mac, "host_mac": peer.host_mac or BROADCAST, "nid": peer.nid.hex()}


def _profile_mean(frame: bytes) -> float:
    aag = message_of(parse_frame(frame)).aag
    return round(sum(aag) / len(aag), 2)
