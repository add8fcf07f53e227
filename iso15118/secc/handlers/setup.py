"""SupportedAppProtocol, SessionSetup (new and resumed), SessionStop."""
from __future__ import annotations

import secrets

from iso15118.session.events import ProtocolNegotiated, SessionPaused, SessionStarted
from iso15118.session.messages import NS_AC, NS_DC, Message
from iso15118.session.response_codes import AppProtocolResponseCode as AppCode
from iso15118.session.response_codes import ResponseCode as RC
from iso15118.session.sequence import Reply

NAMESPACE_OF_SERVICE = {"dc": NS_DC, "dc_bpt": NS_DC, "ac": NS_AC, "ac_bpt": NS_AC}
_SUPPORTED_MAJOR = 1


def app_protocol(session, req: Message, now: float) -> Reply:
    supported = {NAMESPACE_OF_SERVICE[s] for s in session.config.services}
    offered = req.get("AppProtocol") or []
    # [V2G20-167], [V2G20-169]: filter by what we support, then the EV's highest priority (1 = highest).
    candidates = [p for p in offered
                  if p["ProtocolNamespace"] in supported and p["VersionNumberMajor"] == _SUPPORTED_MAJOR]
    if not candidates:
        # DIN 70121 / ISO 15118-2 only (or nothing we know): no negotiation; those protocols come later.
        return Reply({}, AppCode.Failed_NoNegotiation.value,
                     events=(ProtocolNegotiated(None, AppCode.Failed_NoNegotiation.value),))
    best = min(candidates, key=lambda p: p["Priority"])
    code = AppCode.OK_SuccessfulNegotiation if best["VersionNumberMinor"] == 0 \
        else AppCode.OK_SuccessfulNegotiationWithMinorDeviation
    session.ctx.namespace = best["ProtocolNamespace"]
    session.ctx.offered_services = tuple(s for s in session.config.services
                                         if NAMESPACE_OF_SERVICE[s] == session.ctx.namespace)
    return Reply({"SchemaID": best["SchemaID"]}, code.value,
                 events=(ProtocolNegotiated(best["ProtocolNamespace"], code.value),))


def _new_session_id() -> bytes:
    # 8 bytes, non-zero, from the CSPRNG [V2G20-2106], [V2G20-2621].
    while True:
        sid = secrets.token_bytes(8)
        if sid != bytes(8):
            return sid


def session_setup(session, req: Message, now: float) -> Reply:
    ctx = session.ctx
    evcc_id = req["EVCCID"]
    requested = req["Header"]["SessionID"]
    paused = session.store.take(requested) if requested != bytes(8) else None
    if paused is not None:
        if paused.peer_binding == session.binding_for(requested, evcc_id) \
                and paused.namespace == ctx.namespace:
            # [V2G20-2623]: same EVCC, same protocol: continue with ChargeParameterDiscovery [V2G20-1032].
            session.adopt(paused)
            return Reply({"EVSEID": session.config.evse_id}, RC.OK_OldSessionJoined.value,
                         next_state=session.resume_state(),
                         events=(SessionStarted(paused.session_id, evcc_id, resumed=True),))
        session.store.pause(paused, now)  # not the same EVCC: leave it paused, start afresh [V2G20-2626]
    ctx.session_id = _new_session_id()
    ctx.evcc_id = evcc_id
    ctx.peer_binding = session.binding_for(ctx.session_id, evcc_id)
    return Reply({"EVSEID": session.config.evse_id}, RC.OK_NewSessionEstablished.value,
                 events=(SessionStarted(ctx.session_id, evcc_id, resumed=False),))


def session_stop(session, req: Message, now: float) -> Reply:
    kind = req["ChargingSession"]
    ctx = session.ctx
    if kind == "Pause":
        if not session.config.pause_allowed:
            return Reply({}, RC.FAILED_PauseNotAllowed.value)
        session.store.pause(ctx, now)
        return Reply({}, RC.OK.value, events=(SessionPaused(ctx.session_id),))
    if kind == "ServiceRenegotiation":
        if not session.config.service_renegotiation:
            return Reply({}, RC.FAILED_NoServiceRenegotiationSupported.value)
        return Reply({}, RC.OK.value, next_state=session.renegotiation_state())
    return Reply({}, RC.OK.value)

