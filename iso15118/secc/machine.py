"""The sans-I/O SECC: one object per TCP/TLS connection, fed with V2GTP payloads and the clock.

    secc = Secc(config, connector, store)
    actions = secc.receive(payload_type, payload, now)   # -> [Send | StartTimer | StopTimer | Close | Event]
    actions = secc.timer_expired(now)
    actions = secc.connection_lost(now)
    events = secc.abort(code, now, detail)              # an external fault (supervision): seal, never answer

Sequence rules: `table.SEQUENCE`; response content: `handlers`. Every FAILED response, sequence timeout or
lost connection ends the session and seals its metering session exactly once (facts §4.7, §8.3); a paused
session is kept in the shared `SessionStore` and sealed only when it finally ends.
"""
from __future__ import annotations

import logging
import time
from typing import Any, Callable

from iso15118.session import codec
from iso15118.session.actions import Close, Send, StartTimer, StopTimer
from iso15118.session.config import SeccConfig
from iso15118.session.events import Event, SessionEnded, SessionSealed
from iso15118.session.log import log_event
from iso15118.session.messages import Message, payload_type_of, response_name
from iso15118.session.response_codes import AppProtocolResponseCode, PeerProtocolError, ResponseCode, is_failed
from iso15118.session.sequence import Reply
from iso15118.session.timing import SECC_ONGOING_PERFORMANCE_TIME, SECC_STOP_LINGER, SEQUENCE_TIMER
from iso15118.transport.v2gtp import PayloadType

from .context import Connector, SessionContext, SessionStore, resume_binding
from .failures import mandatory_content
from .table import (NO_SERVICE_SESSION, RENEGOTIATION_STATE, RENEGOTIATION_STATES, RESUME_STATE,
                    SCHEDULE_RENEGOTIATION, SEQUENCE, SIDE_STREAM, SIDE_STREAM_STATES, RenegotiationState, SeccState)

_log = logging.getLogger("iso15118.secc")
TraceHook = Callable[[str, int, Message, float], None]


class Secc:
    def __init__(self, config: SeccConfig, connector: Connector, store: SessionStore | None = None, *,
                 peer_certificate: bytes | None = None, contract_verifier=None, metering_verifier=None,
                 certificate_installation=None, contract_authorizer=None,
                 wall_clock: Callable[[], float] = time.time, trace: TraceHook | None = None) -> None:
        self.config = config
        self.store = store if store is not None else SessionStore()
        self.ctx = SessionContext(connector)
        self.state = SeccState.WAIT_APP_PROTOCOL
        self.renegotiation = RenegotiationState.IDLE
        self.peer_certificate = peer_certificate
        self.contract_verifier = contract_verifier
        self.metering_verifier = metering_verifier
        self.certificate_installation = certificate_installation
        self.contract_authorizer = contract_authorizer
        self.wall_clock = wall_clock
        self.trace = trace
        self.last_payload = b""
        self.outcome: str | None = None
        self._deadlines: dict[str, float] = {}
        self._pending_close: list = []

    # --- helpers the handlers use -------------------------------------------------------------------------
    def binding_for(self, session_id: bytes, evcc_id: str) -> bytes:
        return resume_binding(session_id, self.peer_certificate, evcc_id)

    def adopt(self, paused: SessionContext) -> None:
        self.ctx = paused

    @property
    def in_charge_loop(self) -> bool:
        return self.state in (SeccState.DC_CHARGING, SeccState.AC_CHARGING)

    @staticmethod
    def resume_state() -> SeccState:
        return RESUME_STATE

    @staticmethod
    def renegotiation_state() -> SeccState:
        return RENEGOTIATION_STATE

    def log(self, event: str, **fields: Any) -> None:
        log_event(_log, event, session_id=self.ctx.session_id, state=self.state.value, **fields)

    # --- inputs ---------------------------------------------------------------------------------------------
    def receive(self, payload_type: int, payload: bytes, now: float) -> list:
        if self.state is SeccState.ENDED:
            return self._take_pending_close()
        try:
            request, _ = codec.decode(payload_type, payload, self._renegotiation_schema(payload_type))
        except PeerProtocolError as exc:
            self.log("request_undecodable", level=logging.WARNING, code=exc.code, detail=exc.detail)
            if self.state is SeccState.WAIT_APP_PROTOCOL:
                return self._end(now, "failed", exc.code, "undecodable first message")
            return []  # the SECC ignores anything but valid requests [V2G20-445]; the sequence timer runs on
        if self._trace_on():
            self.trace("rx", payload_type, request, now)
        if not request.name.endswith("Req"):
            return []
        self.last_payload = payload
        side = payload_type in (PayloadType.METERING_CONFIRMATION, PayloadType.SCHEDULE_RENEGOTIATION)
        actions: list = [] if side else [StopTimer(SEQUENCE_TIMER)]
        if not side:
            self._deadlines.pop(SEQUENCE_TIMER, None)
        rule = self._rule_for(payload_type, request, side)
        if self._unknown_session(request):
            reply = Reply({}, ResponseCode.FAILED_UnknownSession.value)  # [V2G20-753]
        elif rule is None:
            reply = Reply({}, ResponseCode.FAILED_SequenceError.value)
        else:
            try:
                reply = rule.handler(self, request, now)
            except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
                # Decodable but unusable content (a value no handler can act on): refuse, never crash.
                self.log("request_unusable", level=logging.WARNING, code="FAILED", detail=repr(exc))
                reply = Reply({}, ResponseCode.FAILED.value)
            reply = self._limit_ongoing(payload_type, request.name, reply, now)
        response = self._response(request, reply)
        if response is None:
            return actions + self._end(now, "failed", reply.code, f"cannot answer {request.name}")
        try:
            data = codec.encode(response)
        except Exception as exc:  # our own bug or a value outside its XSD facet: never send a broken message
            self.log("response_unencodable", level=logging.ERROR, code="ERR_EXI_ENCODE", detail=repr(exc))
            return actions + self._end(now, "failed", "ERR_EXI_ENCODE", f"cannot encode {response.name}")
        if self._trace_on():
            self.trace("tx", payload_type, response, now)
        actions.append(Send(payload_type, data, response))
        actions.extend(reply.events)
        if is_failed(reply.code):
            self.log("session_failed", level=logging.WARNING, code=reply.code, request=request.name)
            return actions + self._end(now, "failed", reply.code, f"{response.name} {reply.code}")
        if payload_type == PayloadType.SCHEDULE_RENEGOTIATION and not reply.stay:
            self.renegotiation = rule.next_state
        if side:
            return actions
        if reply.stay:
            next_state = self.state
        elif reply.next_state is not None:
            next_state = reply.next_state
        else:
            next_state = rule.next_state
        if next_state is SeccState.ENDED:
            paused = request.name == "SessionStopReq" and request["ChargingSession"] == "Pause"
            return actions + self._end(now, "paused" if paused else "completed", None,
                                       f"SessionStop {request['ChargingSession']}", linger=SECC_STOP_LINGER,
                                       seal=not paused)
        self.state = next_state
        deadline = now + rule.timeout
        self._deadlines[SEQUENCE_TIMER] = deadline
        actions.append(StartTimer(SEQUENCE_TIMER, deadline))
        return actions

    def request_stop(self, kind: str = "Terminate") -> None:
        """Ask the EV to end ("Terminate") or pause ("Pause") the session: the next ChargeLoopRes carries
        EVSENotification=kind; the EV then runs PowerDelivery(Stop) ... SessionStop like any normal end."""
        if kind not in ("Terminate", "Pause"):
            raise ValueError(f"EVSENotification {kind!r}: use 'Terminate' or 'Pause'")
        self.ctx.stop_requested = kind

    def request_renegotiation(self) -> None:
        """Ask the EV for a new schedule (e.g. the grid operator lowered the site limit): the next ChargeLoopRes
        carries EVSENotification=ScheduleRenegotiation and the EV runs CPD -> ScheduleExchange ->
        PowerDelivery(ScheduleRenegotiation) on side stream 0x8101 [V2G20-1845], [V2G20-1052]."""
        if not self.in_charge_loop:
            raise ValueError(f"schedule renegotiation only in the charge loop, not in {self.state.value}")
        self.ctx.renegotiation_wanted = True

    @property
    def renegotiation_started(self) -> bool:
        return self.renegotiation is not RenegotiationState.IDLE

    def timer_expired(self, now: float) -> list:
        deadline = self._deadlines.get(SEQUENCE_TIMER)
        if self.state is SeccState.ENDED:
            return self._take_pending_close()
        if deadline is None or now < deadline:
            return []
        self.log("sequence_timeout", level=logging.WARNING, code="TIMEOUT_SEQUENCE")
        return self._end(now, "timeout", "TIMEOUT_SEQUENCE", "V2G_SECC_Sequence_Timeout expired")

    def connection_lost(self, now: float) -> list:
        if self.state is SeccState.ENDED:
            return self._take_pending_close()
        return self._end(now, "aborted", "CONNECTION_LOST", "TCP/TLS connection lost")

    def abort(self, code: str, now: float, detail: str = "") -> list:
        """An external fault (CP state E/F, PWM loss, PLC link lost) ends the session between two inputs: power
        stops (contactors open), the metering session is sealed with `code` exactly once, and the request in
        flight is never answered (facts iso15118-20 §8.2-8.3). Returns the events (SessionSealed,
        SessionEnded); the adapter owns the connection, so the next input yields only Close."""
        if self.state is SeccState.ENDED:
            return []
        self.ctx.connector.charger.open_contactors(now)
        self.log("session_aborted", level=logging.WARNING, code=code, detail=detail)
        actions = self._end(now, "aborted", code, detail or code)
        self._pending_close = [a for a in actions if isinstance(a, Close)]
        return [a for a in actions if isinstance(a, Event)]

    # --- internals ------------------------------------------------------------------------------------------
    def _take_pending_close(self) -> list:
        actions, self._pending_close = self._pending_close, []
        return actions

    def _trace_on(self) -> bool:
        return self.trace is not None

    def _renegotiation_schema(self, payload_type: int) -> str | None:
        if payload_type != PayloadType.SCHEDULE_RENEGOTIATION:
            return None
        if self.renegotiation is RenegotiationState.IDLE:
            return "iso20-dc" if self.ctx.is_dc else "iso20-ac"  # ChargeParameterDiscovery comes first
        return "iso20"

    def _rule_for(self, payload_type: int, request: Message, side: bool):
        if payload_type == PayloadType.SCHEDULE_RENEGOTIATION:
            if self.state not in RENEGOTIATION_STATES or self.ctx.loops < 1:
                return None
            return SCHEDULE_RENEGOTIATION.get((self.renegotiation, request.name))
        if side:
            return SIDE_STREAM.get(request.name) if self.state in SIDE_STREAM_STATES else None
        if payload_type != payload_type_of(request.name):
            return None  # e.g. a DC message on the AC payload type
        return SEQUENCE.get((self.state, request.name))

    def _limit_ongoing(self, payload_type: int, name: str, reply: Reply, now: float) -> Reply:
        """EVSEProcessing=Ongoing for one request for at most V2G_SECC_Ongoing_Performance_Time (55 s, facts §5),
        which keeps the SECC inside the EV's 60 s V2G_EVCC_Ongoing_Timeout; then Finished with FAILED (the
        schema has no more specific code for processing that never finished) and the session ends, sealed."""
        processing = reply.body.get("EVSEProcessing", "")
        if not (reply.stay and processing.startswith("Ongoing")):
            self.ctx.ongoing_since.pop(payload_type, None)
            return reply
        since = self.ctx.ongoing_since.get(payload_type)
        if since is None or since[0] != name:
            self.ctx.ongoing_since[payload_type] = (name, now)
            return reply
        if now - since[1] < SECC_ONGOING_PERFORMANCE_TIME:
            return reply
        self.log("ongoing_limit_reached", level=logging.WARNING, code=ResponseCode.FAILED.value, request=name,
                 ongoing_s=round(now - since[1], 3))
        return Reply({**reply.body, "EVSEProcessing": "Finished"}, ResponseCode.FAILED.value)

    def _unknown_session(self, request: Message) -> bool:
        if self.state in NO_SERVICE_SESSION or request.name == "SessionSetupReq":
            return False
        return request["Header"]["SessionID"] != self.ctx.session_id

    def _response(self, request: Message, reply: Reply) -> Message | None:
        name = response_name(request.name)
        body = reply.body
        if is_failed(reply.code) and not body:
            body = mandatory_content(name, self.config.evse_id, request.body)
            if body is None:
                return None
        if name == "supportedAppProtocolRes":
            # The AppProtocol schema knows only three codes: any failure there is Failed_NoNegotiation.
            code = AppProtocolResponseCode.Failed_NoNegotiation.value if is_failed(reply.code) else reply.code
            return Message(name, {"ResponseCode": code, **body})
        header = {"SessionID": self.ctx.session_id or bytes(8), "TimeStamp": int(self.wall_clock())}
        return Message(name, {"Header": header, "ResponseCode": reply.code, **body})

    def _end(self, now: float, outcome: str, code: str | None, reason: str, *, linger: float = 0.0,
             seal: bool = True) -> list:
        previous = self.state
        self.state = SeccState.ENDED
        self.outcome = outcome
        self._deadlines.clear()
        actions: list = [StopTimer(SEQUENCE_TIMER)]
        if seal and previous not in NO_SERVICE_SESSION and not self.ctx.sealed:
            self.ctx.sealed = True
            # "normal" for a regular SessionStop(Terminate); otherwise the error code names the abort.
            seal_reason = "normal" if outcome == "completed" else (code or reason)
            info = self.ctx.connector.meter.seal(self.ctx.session_id, seal_reason, now)
            actions.append(SessionSealed(self.ctx.session_id, seal_reason, info))
        actions.append(SessionEnded(outcome, code, reason))
        actions.append(Close(reason, code, linger))
        return actions
