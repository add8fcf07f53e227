"""The sans-I/O EVCC (EV emulator): drives one session, fed with V2GTP payloads and the clock.

    ev = Evcc(config)
    actions = ev.start(now)                              # SupportedAppProtocolReq + timers
    actions = ev.receive(payload_type, payload, now)     # -> [Send | StartTimer | StopTimer | Close | Event]
    actions = ev.timer_expired(now)
    ev.summary()                                         # JSON-ready result of the session

Sequence rules: `table.SEQUENCE`; what to ask next: `handlers`; request contents per service: `energy`.
"""
from __future__ import annotations

import logging
import statistics
import time
from typing import Callable

from iso15118.session import codec
from iso15118.session.actions import Close, Send, StartTimer, StopTimer
from iso15118.session.config import EvConfig
from iso15118.session.events import MeteringConfirmed, PowerDelivered, SessionEnded
from iso15118.session.log import log_event
from iso15118.session.messages import Message, payload_type_of, schema_of
from iso15118.session.response_codes import PeerProtocolError, is_failed
from iso15118.session.timing import (EVCC_COMMUNICATION_SETUP_TIMEOUT, EVCC_ONGOING_TIMEOUT, NEXT_REQUEST_TIMER,
                                     ONGOING_TIMER, RENEGOTIATION_RESPONSE_TIMER, RESPONSE_TIMER, SETUP_TIMER,
                                     SIDE_RESPONSE_TIMER, timing_of)
from iso15118.transport.v2gtp import PayloadType

from . import handlers, renegotiation
from .battery import Battery
from .context import EvContext
from .faults import FaultPlan, corrupt_signature
from .handlers import Step
from .table import SEQUENCE, EvState, state_awaiting

_log = logging.getLogger("iso15118.evcc")
_ONGOING_REQUESTS = {"AuthorizationReq", "ScheduleExchangeReq", "DC_CableCheckReq", "DC_PreChargeReq",
                     "CertificateInstallationReq"}
_TIMEOUT_CODES = {RESPONSE_TIMER: "TIMEOUT_MSG", SIDE_RESPONSE_TIMER: "TIMEOUT_MSG_SIDE_STREAM",
                  RENEGOTIATION_RESPONSE_TIMER: "TIMEOUT_MSG_SIDE_STREAM",
                  SETUP_TIMER: "TIMEOUT_COMMUNICATION_SETUP", ONGOING_TIMER: "TIMEOUT_ONGOING"}


class Evcc:
    def __init__(self, config: EvConfig, *, contract_signer=None, contract_installer=None, metering_signer=None,
                 wall_clock: Callable[[], float] = time.time,
                 trace: Callable[[str, int, Message, float], None] | None = None) -> None:
        self.config = config
        self.ctx = EvContext(config, Battery(config.battery))
        self.ctx.soc_start = self.ctx.battery.soc
        self.contract_signer = contract_signer
        self.contract_installer = contract_installer
        self.metering_signer = metering_signer
        self.wall_clock = wall_clock
        self.trace = trace
        self.state = EvState.IDLE
        self.offers: list[dict] = []
        self.last_request_body: dict = {}
        self.last_step: Step | None = None
        self.last_payload = b""
        self.stop_reason = ""
        self.stop_code: str | None = None  # code of a stop the EV decided itself (e.g. ERR_RECEIPT_MISMATCH)
        self.stop_kind: str | None = None  # "Terminate" | "Pause" when the EVSE asked for the end
        self.outcome: str | None = None
        self.code: str | None = None
        self.reason = ""
        self.messages = 0
        self._deadlines: dict[str, float] = {}
        self._pending: Step | None = None
        self._pending_faults: dict | None = None
        self._side_queue: list[tuple[int, Message, str]] = []
        self.renegotiation_expect: str | None = None  # awaited response on 0x8101
        self._sent_at: float | None = None
        self.response_times: list[float] = []
        self.faults = FaultPlan(config.faults)

    # --- inputs ---------------------------------------------------------------------------------------------
    def start(self, now: float) -> list:
        return self._arm(SETUP_TIMER, now + EVCC_COMMUNICATION_SETUP_TIMEOUT) + self._send(handlers.app_protocol(self),
                                                                                        now)

    def receive(self, payload_type: int, payload: bytes, now: float) -> list:
        if self.state is EvState.ENDED:
            return []
        schema = None
        if payload_type == PayloadType.SCHEDULE_RENEGOTIATION:
            if self.renegotiation_expect is None:
                return self._end(now, "failed", "FAILED_SequenceError", "unsolicited message on 0x8101")
            schema = schema_of(self.renegotiation_expect)
        try:
            response, _ = codec.decode(payload_type, payload, schema)
        except PeerProtocolError as exc:
            return self._end(now, "failed", exc.code, exc.detail)
        self.messages += 1
        self.last_payload = payload
        if self.trace is not None:
            self.trace("rx", payload_type, response, now)
        if payload_type == PayloadType.METERING_CONFIRMATION:
            return self._on_side_response(response, now)
        if payload_type == PayloadType.SCHEDULE_RENEGOTIATION:
            return self._on_renegotiation_response(response, now)
        rule = SEQUENCE.get((self.state, response.name))
        if rule is None or payload_type != payload_type_of(response.name):
            code = response.get("ResponseCode", "")
            return self._end(now, "failed", code if is_failed(code) else "FAILED_SequenceError",
                             f"unexpected {response.name} ({code}) while {self.state.value}")
        actions = self._disarm(RESPONSE_TIMER)
        if self._sent_at is not None:
            self.response_times.append(now - self._sent_at)
        code = response["ResponseCode"]
        self.ctx.response_codes[response.name] = code
        if "Header" in response.body and self.state is not EvState.WAIT_SESSION_SETUP \
                and response["Header"]["SessionID"] != self.ctx.session_id:
            return actions + self._end(now, "failed", "FAILED_UnknownSession", "response for another session")
        if is_failed(code) and response.name != "supportedAppProtocolRes":
            return actions + self._end(now, "failed", code, f"{response.name} {code}")
        if response.name == "SessionSetupRes":
            actions += self._disarm(SETUP_TIMER)
        try:
            step = rule.handler(self, response, now)
        except (KeyError, TypeError, ValueError, ArithmeticError, StopIteration) as exc:
            log_event(_log, "response_unusable", logging.WARNING, code="FAILED", detail=repr(exc))
            return actions + self._end(now, "failed", "FAILED", f"unusable {response.name}")
        if response.name.endswith("ChargeLoopRes"):
            actions.append(PowerDelivered(self.ctx.battery.voltage, 0.0, self.ctx.last_power, self.ctx.battery.soc))
        if step.outcome is not None:
            failure = step.code or code if step.outcome == "failed" else None
            return actions + self._end(now, step.outcome, failure, step.reason)
        if step.request not in rule.next_requests:
            return actions + self._end(now, "failed", "EV_SEQUENCE_BUG", f"{step.request} after {response.name}")
        if step.request == "SessionStopReq" and step.reason:
            self.stop_reason = step.reason
        if step.request in _ONGOING_REQUESTS and step.request == self.state.value:
            if ONGOING_TIMER not in self._deadlines:
                actions += self._arm(ONGOING_TIMER, now + EVCC_ONGOING_TIMEOUT)
        elif ONGOING_TIMER in self._deadlines:
            actions += self._disarm(ONGOING_TIMER)
        actions += self._flush_side_stream(now)
        if step.delay > 0:
            self._pending = step
            return actions + self._arm(NEXT_REQUEST_TIMER, now + step.delay)
        return actions + self._send(step, now)

    def timer_expired(self, now: float) -> list:
        actions: list = []
        for name, deadline in sorted(self._deadlines.items(), key=lambda item: item[1]):
            if self.state is EvState.ENDED or deadline > now:
                continue
            del self._deadlines[name]
            if name == NEXT_REQUEST_TIMER:
                step, self._pending = self._pending, None
                faults, self._pending_faults = self._pending_faults, None
                actions += self._send(step, now, faults)
            else:
                log_event(_log, "timeout", logging.WARNING, code=_TIMEOUT_CODES[name], state=self.state.value)
                actions += self._end(now, "timeout", _TIMEOUT_CODES[name], f"{name} expired in {self.state.value}")
        return actions

    def connection_lost(self, now: float) -> list:
        if self.state is EvState.ENDED:
            return []
        return self._end(now, "aborted", "CONNECTION_LOST", "TCP/TLS connection lost")

    def queue_metering_confirmation(self, meter_info: dict | None, receipt: dict | None, now: float) -> None:
        if meter_info is None:
            return
        data: dict = {"Id": "SignedMeteringData", "SessionID": self.ctx.session_id, "MeterInfo": meter_info}
        if receipt is not None:
            data["Receipt"] = receipt
        if self.ctx.dynamic:
            data["Dynamic_SMDTControlMode"] = {}
        else:
            data["Scheduled_SMDTControlMode"] = {"SelectedScheduleTupleID": self.ctx.schedule_tuple_id}
        header = self._header()
        body = {"Header": header, "SignedMeteringData": data}
        signer = self.metering_signer
        if signer is None and self.ctx.auth_method == "PnC":
            signer = self.contract_signer  # PnC: the contract key signs SignedMeteringData
        if signer is not None:
            header["Signature"] = signer.sign_metering_data(data)
            if "bad-signature" in self.faults.for_request("MeteringConfirmationReq"):
                corrupt_signature(header)
        self._side_queue.append((PayloadType.METERING_CONFIRMATION, Message("MeteringConfirmationReq", body),
                                 SIDE_RESPONSE_TIMER))

    def start_renegotiation(self) -> None:
        """Queue the first request of an EV-triggered schedule renegotiation (sent with the next loop request)."""
        if self.renegotiation_expect is None:
            self._queue_renegotiation(*renegotiation.first_request(self))

    def _queue_renegotiation(self, name: str, body: dict) -> None:
        self.renegotiation_expect = name[:-3] + "Res"
        self._side_queue.append((PayloadType.SCHEDULE_RENEGOTIATION,
                                 Message(name, {"Header": self._header(), **body}), RENEGOTIATION_RESPONSE_TIMER))

    # --- summary --------------------------------------------------------------------------------------------
    def summary(self) -> dict:
        ctx = self.ctx
        meter = ctx.last_meter_info or {}
        times = sorted(self.response_times)
        return {
            "outcome": self.outcome or "running",
            "code": self.code,
            "reason": self.reason,
            "protocol": ctx.namespace,
            "service": self.config.service,
            "mode": self.config.mode,
            "auth": ctx.auth_method,
            "contract_installed": ctx.contract_installed,
            "session_id": ctx.session_id.hex(),
            "resumed": ctx.resumed,
            "charge_loops": ctx.earlier_loops + ctx.loops,
            "energy_wh": {"import": round(ctx.import_wh, 3), "export": round(ctx.export_wh, 3)},
            "meter_wh": {"import": meter.get("ChargedEnergyReadingWh"),
                         "export": meter.get("BPT_DischargedEnergyReadingWh")},
            "receipts": ctx.receipts,
            "receipts_ok": all(entry["ok"] for entry in ctx.receipts),
            "metering_confirmations": ctx.metering_confirmations,
            "renegotiations": ctx.renegotiations,
            "service_renegotiations": ctx.service_renegotiations,
            "violations": ctx.violations,
            "messages": self.messages,
            "soc": {"start": round(ctx.soc_start, 3), "end": round(ctx.battery.soc, 3)},
            "faults": self.faults.applied,
            "response_ms": {"p50": round(statistics.median(times) * 1000, 3) if times else None,
                            "max": round(times[-1] * 1000, 3) if times else None},
        }

    # --- internals ------------------------------------------------------------------------------------------
    def _header(self) -> dict:
        return {"SessionID": self.ctx.session_id, "TimeStamp": int(self.wall_clock())}

    def _message(self, step: Step) -> Message:
        if step.request == "supportedAppProtocolReq":
            return Message(step.request, step.body)
        header = self._header()
        if step.header_signature is not None:
            header["Signature"] = step.header_signature
        return Message(step.request, {"Header": header, **step.body})

    def _send(self, step: Step, now: float, faults: dict | None = None) -> list:
        faults = self.faults.for_request(step.request) if faults is None else faults
        late = faults.pop("late", None)
        if late is not None:
            self._pending, self._pending_faults = step, faults
            return self._arm(NEXT_REQUEST_TIMER, now + late.seconds)
        if "drop-tcp" in faults:
            return self._end(now, "aborted", "FAULT_DROP_TCP", f"fault injected: connection dropped before "
                                                                 f"{step.request}")
        message = self._message(step)
        if "bad-signature" in faults:
            corrupt_signature(message.body["Header"])
        if "wrong-sequence" in faults:  # a SessionSetupReq where the sequence expects step.request
            message = Message("SessionSetupReq", {"Header": self._header(), "EVCCID": self.config.evcc_id})
        self.state = state_awaiting(step.request)
        self.last_request_body = step.body
        self.last_step = step
        return self._emit(message, payload_type_of(message.name), now) + \
            self._arm(RESPONSE_TIMER, now + timing_of(step.request).evcc_msg_timeout)

    def _emit(self, message: Message, payload_type: int, now: float) -> list:
        try:
            data = codec.encode(message)
        except Exception as exc:
            log_event(_log, "request_unencodable", logging.ERROR, code="ERR_EXI_ENCODE", detail=repr(exc))
            return self._end(now, "failed", "ERR_EXI_ENCODE", f"cannot encode {message.name}")
        self.messages += 1
        self._sent_at = now
        if self.trace is not None:
            self.trace("tx", payload_type, message, now)
        return [Send(payload_type, data, message)]

    def _flush_side_stream(self, now: float) -> list:
        actions: list = []
        while self._side_queue:
            payload_type, message, timer = self._side_queue.pop(0)
            actions += self._emit(message, payload_type, now)
            actions += self._arm(timer, now + timing_of(message.name).evcc_msg_timeout)
        return actions

    def _on_renegotiation_response(self, response: Message, now: float) -> list:
        actions = self._disarm(RENEGOTIATION_RESPONSE_TIMER)
        step = renegotiation.SEQUENCE.get(response.name) if response.name == self.renegotiation_expect else None
        if step is None:
            return actions + self._end(now, "failed", "FAILED_SequenceError", f"{response.name} on 0x8101")
        code = response["ResponseCode"]
        if is_failed(code):
            return actions + self._end(now, "failed", code, f"{response.name} {code} (renegotiation)")
        self.renegotiation_expect = None
        following = step(self, response)
        if following is not None:
            self._queue_renegotiation(*following)
            actions += self._flush_side_stream(now)
        return actions

    def _on_side_response(self, response: Message, now: float) -> list:
        actions = self._disarm(SIDE_RESPONSE_TIMER)
        if response.name != "MeteringConfirmationRes":
            return actions + self._end(now, "failed", "FAILED_SequenceError", f"{response.name} on side stream")
        code = response["ResponseCode"]
        if is_failed(code):
            return actions + self._end(now, "failed", code, f"MeteringConfirmationRes {code}")
        self.ctx.metering_confirmations += 1
        return actions + [MeteringConfirmed(self.ctx.session_id, {})]

    def _arm(self, name: str, deadline: float) -> list:
        self._deadlines[name] = deadline
        return [StartTimer(name, deadline)]

    def _disarm(self, name: str) -> list:
        return [StopTimer(name)] if self._deadlines.pop(name, None) is not None else []

    def _end(self, now: float, outcome: str, code: str | None, reason: str) -> list:
        self.state = EvState.ENDED
        self.outcome, self.code, self.reason = outcome, code, reason
        actions: list = [StopTimer(name) for name in self._deadlines]
        self._deadlines.clear()
        log_event(_log, "session_end", outcome=outcome, code=code, reason=reason)
        return actions + [SessionEnded(outcome, code, reason), Close(reason, code)]



