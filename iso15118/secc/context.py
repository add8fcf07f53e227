"""Per-session state shared by the SECC handlers, and the store of paused sessions awaiting resumption."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from .charger import Charger
from .meter import MeterSource


@dataclass
class Connector:
    """One charge point outlet: its power electronics and its meter."""

    charger: Charger
    meter: MeterSource


@dataclass
class SessionContext:
    connector: Connector
    session_id: bytes = b""
    evcc_id: str = ""
    peer_binding: bytes | None = None  # SHA-512(vehicle TLS leaf) when TLS is up [V2G20-2630]
    namespace: str | None = None
    service: str | None = None  # "dc" | "ac" | "dc_bpt" | "ac_bpt"
    parameter_set_id: int = 0
    control_mode: str = "scheduled"
    offered_services: tuple[str, ...] = ()
    auth_method: str | None = None
    gen_challenge: bytes | None = None
    auth_rounds: int = 0
    schedule_rounds: int = 0
    schedule_tuple_id: int | None = None
    ev_limits: dict[str, float] = field(default_factory=dict)
    power_started_at: float | None = None
    standby: bool = False
    renegotiations: int = 0
    renegotiation_wanted: bool = False  # SECC-triggered schedule renegotiation pending [V2G20-1845]
    renegotiation_announced_at: float | None = None
    renegotiation_announcements: int = 0
    # per stream (payload type): (request, time of its first "Ongoing" answer), for the 55 s limit
    ongoing_since: dict[int, tuple[str, float]] = field(default_factory=dict)
    stop_requested: str | None = None  # "Terminate" | "Pause": announced in the next ChargeLoopRes
    loops: int = 0
    metering_confirmation_asked: bool = False
    metering_confirmation_received: bool = False
    sealed: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_bpt(self) -> bool:
        return bool(self.service and self.service.endswith("_bpt"))

    @property
    def is_dc(self) -> bool:
        return bool(self.service and self.service.startswith("dc"))


def resume_binding(session_id: bytes, peer_certificate_der: bytes | None, evcc_id: str) -> bytes:
    """Identity a resumed session must match: SHA-512(SessionID || SHA-512(vehicle leaf)) per the worked example
    of 8.3.4.1.4.3 ([V2G20-2630], [V2G20-2677]); without TLS the EVCCID stands in for the certificate."""
    leaf = peer_certificate_der if peer_certificate_der is not None else evcc_id.encode()
    return hashlib.sha512(session_id + hashlib.sha512(leaf).digest()).digest()


class SessionStore:
    """Paused sessions by SessionID, shared by all connections of one SECC process."""

    def __init__(self) -> None:
        self._paused: dict[bytes, tuple[SessionContext, float]] = {}

    def pause(self, context: SessionContext, now: float) -> None:
        self._paused[context.session_id] = (context, now)

    def take(self, session_id: bytes) -> SessionContext | None:
        entry = self._paused.pop(session_id, None)
        return entry[0] if entry is not None else None

    def expired(self, now: float, max_age: float) -> list[SessionContext]:
        """Remove and return the sessions paused for longer than `max_age` seconds (their owner seals them)."""
        old = [sid for sid, (_, since) in self._paused.items() if now - since > max_age]
        return [self._paused.pop(sid)[0] for sid in old]

    def __contains__(self, session_id: bytes) -> bool:
        return session_id in self._paused

    def __len__(self) -> int:
        return len(self._paused)
