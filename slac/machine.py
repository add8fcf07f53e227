"""Vocabulary shared by the sans-I/O SLAC machines: actions, events, and the frame/timer plumbing.

A machine is fed `receive(frame, now)` and `timer_expired(now)` and returns a list of actions: `Send` (a
whole Ethernet frame) and events for the application. `next_deadline()` tells the adapter when to call
`timer_expired`. Machines never open sockets and never read a clock.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field

from scapy.packet import Packet

from slac.errors import FrameError
from slac.frames import BROADCAST, LOCAL_MODEM, CmSetKeyReq, build_frame, message_of, parse_frame
from slac.keys import nid_from_nmk

# Both meanings of CM_SET_KEY.CNF Result are success: 0x00 per HomePlug AV 1.1 / Green PHY, 0x01 from QCA
# firmware (HPAV 1.0 meaning; open-plc-utils #161). facts/slac.md §7.
SET_KEY_SUCCESS = (0x00, 0x01)


@dataclass(frozen=True)
class Send:
    frame: bytes


@dataclass(frozen=True)
class Matched:
    """The logical network is set up: both sides hold `nmk`/`nid`; `peer_mac` is the other host."""

    peer_mac: str
    nid: bytes
    nmk: bytes
    attenuation_db: float
    num_sounds: int
    run_id: bytes
    match_time: float  # seconds from start() to the match

    def to_dict(self) -> dict:
        return {"peer_mac": self.peer_mac, "nid": self.nid.hex(), "attenuation_db": self.attenuation_db,
                "num_sounds": self.num_sounds, "run_id": self.run_id.hex(),
                "match_time_s": round(self.match_time, 4)}


@dataclass(frozen=True)
class AttemptFailed:
    """One matching attempt failed; the machine goes on (EV: retries; EVSE: waits for a new PARM.REQ)."""

    reason: str


@dataclass(frozen=True)
class MatchFailed:
    """Final: no match. `code` is stable (SLAC_TIMEOUT, SLAC_NO_MATCH, SLAC_MODEM_ERROR)."""

    code: str
    reason: str


@dataclass(frozen=True)
class FrameRejected:
    error: FrameError


@dataclass(frozen=True)
class ToggleRequest:
    """EV: toggle the BCB (control pilot) `count` times within `window` seconds for CM_VALIDATE."""

    count: int
    window: float


class SlacMachine:
    """Frame filtering, the (state, message) dispatch table and named deadlines, common to both roles."""

    State: type[enum.Enum]
    # (state, message class) -> handler method name; everything that moves the state lives in this table.
    TABLE: dict[tuple[enum.Enum, type[Packet]], str] = {}

    def __init__(self, mac: str) -> None:
        self.mac = mac.lower()
        self._deadlines: dict[str, float] = {}
        self.nmk = b""
        self.nid = b""

    def next_deadline(self) -> float | None:
        return min(self._deadlines.values(), default=None)

    def timer_expired(self, now: float) -> list:
        actions: list = []
        for name, deadline in sorted(self._deadlines.items(), key=lambda kv: kv[1]):
            if deadline <= now and self._deadlines.get(name) == deadline:
                del self._deadlines[name]
                actions += getattr(self, f"_timeout_{name}")(now)
        return actions

    def receive(self, frame: bytes, now: float) -> list:
        try:
            pkt = parse_frame(frame)
        except FrameError as exc:
            return [FrameRejected(exc)]
        src, dst = pkt.src.lower(), pkt.dst.lower()
        # An ETH_P_ALL socket also sees our own frames and frames for other hosts (facts §6).
        if src == self.mac or dst not in (self.mac, BROADCAST):
            return []
        msg = message_of(pkt)
        handler = self.TABLE.get((self.state, type(msg)))
        return getattr(self, handler)(src, msg, now) if handler else []

    def _timer(self, name: str, deadline: float) -> None:
        self._deadlines[name] = deadline

    def _enter(self, state: enum.Enum) -> None:
        """Every state change drops the previous state's deadlines."""
        self.state = state
        self._deadlines.clear()

    def _send(self, msg: Packet, dst: str) -> Send:
        return Send(build_frame(msg, self.mac, dst))

    def _set_key(self, nmk: bytes) -> Send:
        """CM_SET_KEY.REQ to the local modem (facts §2: KeyType NMK, PID 4, NewEKS 1)."""
        self.nmk, self.nid = nmk, nid_from_nmk(nmk)
        return self._send(CmSetKeyReq(nid=self.nid, new_key=nmk), LOCAL_MODEM)

    def _set_key_refused(self, cnf: Packet) -> list:
        """[MatchFailed] (and state FAILED) when the modem refused CM_SET_KEY, else []."""
        if cnf.result in SET_KEY_SUCCESS:
            return []
        self._enter(self.State.FAILED)
        return [MatchFailed("SLAC_MODEM_ERROR", f"modem refused CM_SET_KEY (result 0x{cnf.result:02X})")]


@dataclass
class Retry:
    """Counts re-sends of one request (C_EV_match_retry)."""

    limit: int
    used: int = field(default=0)

    def again(self) -> bool:
        self.used += 1
        return self.used <= self.limit
