"""One EVSE of a site: its SECC, meter, supervision and OCPP connection, bound so that a session that ends for
any reason is sealed exactly once and its OCPP transaction ends with the final signed reading.

    evse = Evse(connector_config, secc_config, meter, ocpp_client, ssl_context=..., board=..., plc=...)
    await evse.start()          # SECC listening (SDP + TCP/TLS), supervision armed, open transactions recovered
    ...
    await evse.close()

Per session (SECC events): SessionStarted arms supervision; a PnC contract the SECC verified is authorized by
the CSMS (OCPP Authorize with the certificate hash data, `authorize.OcppContractAuthorizer`); ServiceSelected
opens the metering session (OCMF TX B, identity of the contract or EIM token from Authorized, RT "DC" for dc/dc_bpt
and "AC" for ac/ac_bpt). The OCPP transaction opens (Started) at the first point of TxCtrlr.TxStartPoint the
session reaches (`TX_START_TRIGGERS`): EVConnected at SessionStarted, Authorized (default), DataSigned (the
signed begin at service selection), PowerPathClosed (the first power request). Points reached after Started are
reported in Updated events: Authorized with the idToken, the signed begin with SignedDataReceived. Every
SampledDataCtrlr.TxUpdatedInterval an Updated with a fresh signed reading; SessionSealed (normal stop, FAILED
code, timeout, lost TCP/TLS) ends the transaction with the seal reading and the metering session's signed begin
(for a session sealed before service selection, the empty session the seal opened). A session sealed before
the start point has no transaction: its seal stays in the meter journal, logged as `seal_without_transaction`
(code TX_START_POINT_NOT_REACHED). With the default that is a session never authorized (zero energy: power
flows only after service selection); with EVConnected every sealed session has a transaction. A supervision fault (CP E/F, PWM loss, unplug, PLC link lost) runs
`abort()`: trip the power stage, open the board's contactor, then `Secc.abort` seals the metering session
with the fault code (final signed reading, contactor open) and ends the machine, whose connection closes
without an answer (facts iso15118-20 §8.2-8.3), then OCPP Ended with the fault's reasons (`endings.stop_reasons`). After a crash, the meter seals
what was open when it starts (reason "restart") and `start()` ends those transactions.
"""
from __future__ import annotations

import asyncio
import dataclasses
import logging
import ssl
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Awaitable, Callable

from iso15118.secc import Secc, SeccState, Station
from iso15118.secc.charger import SimulatedCharger
from iso15118.secc.metered import metered_connector
from iso15118.secc.server import SeccServer
from iso15118.session.config import SeccConfig
from iso15118.session.events import (Authorized, Event, PowerRequest, ServiceSelected, SessionEnded,
                                     SessionSealed, SessionStarted)
from iso15118.session.log import log_event
from metering import Meter, OcmfUser, SignedReading
from metering.ocpp import OcppClient, Transaction, id_token

from .authorize import OcppContractAuthorizer, RepeatedRequestVerifier
from .config import ConnectorConfig
from .endings import REFUSED_AUTHORIZATION, RESTART, stop_reasons
from .power import InterlockedCharger

_log = logging.getLogger("iso15118.site")


class BegunFirst:
    """The SECC's `MeterSource`, used once the metering session the EVSE is beginning on its journal thread is
    journaled. The SECC first needs it at the first MeterInfo (a charge loop), several messages after service
    selection, or at an early seal; only if the begin is still being written then does the call wait for it."""

    def __init__(self, source) -> None:
        self._source = source
        self.pending: dict[bytes, Future] = {}  # SessionID -> the begin on the journal thread

    def settle(self, session_id: bytes) -> None:
        begin = self.pending.pop(session_id, None)
        if begin is not None:
            begin.exception()  # waits if still running; a failure is the OCPP step's to log, and the source
            # then begins the session itself

    def meter_info(self, session_id: bytes, now: float, bidirectional: bool, current_type: str) -> dict:
        self.settle(session_id)
        return self._source.meter_info(session_id, now, bidirectional, current_type)

    def receipt(self, session_id: bytes, now: float) -> dict | None:
        return self._source.receipt(session_id, now)

    def store_confirmation(self, session_id: bytes, signed_metering_data: dict, raw: bytes, verified: bool) -> None:
        self.settle(session_id)
        self._source.store_confirmation(session_id, signed_metering_data, raw, verified)

    def seal(self, session_id: bytes, reason: str, now: float) -> dict:
        self.settle(session_id)
        return self._source.seal(session_id, reason, now)


class _EvseStation(Station):
    def __init__(self, evse: "Evse", *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._evse = evse

    def new_session(self, **kwargs) -> Secc:
        session = super().new_session(**kwargs)
        self._evse._connections.append(session)
        return session


@dataclass
class SessionRecord:
    """What the EVSE knows about one service session (keyed by its SessionID)."""

    session_id: bytes
    identity: str = ""
    method: str = ""
    transaction: Transaction | None = None
    fault: str | None = None
    seal: SignedReading | None = None
    ended: bool = False
    power_on: bool = False
    seal_reported: bool = False  # a SessionSealed for it was handled (else abort() ends the transaction)
    reached: set[str] = field(default_factory=set)  # TxStartPoint points this session reached
    begin: SignedReading | None = None  # the metering session's signed begin (service selection)
    updater: asyncio.Task | None = field(default=None, repr=False)

    @property
    def meter_session(self) -> str:
        return self.session_id.hex()


# TxStartPoint point → (triggerReason, chargingState) of a Started opened there.
TX_START_TRIGGERS = {
    "EVConnected": ("EVDetected", "EVConnected"),
    "Authorized": ("Authorized", "EVConnected"),
    "DataSigned": ("SignedDataReceived", "EVConnected"),
    "PowerPathClosed": ("ChargingStateChanged", "Charging"),
}


def ocmf_user(method: str, identity: str) -> OcmfUser:
    """OCMF identification group (facts metering §2.4): PnC = ISO15118_PNC / EMAID / SECURE."""
    if method == "PnC":
        return OcmfUser(level="SECURE", flags=("ISO15118_PNC",), id_type="EMAID", id=identity)
    return OcmfUser(level="TRUSTED", flags=("ISO15118_NONE",), id_type="LOCAL", id=identity[:40])


class Evse:
    def __init__(self, config: ConnectorConfig, secc_config: SeccConfig, meter: Meter,
                 ocpp: OcppClient | None = None, *, ssl_context: ssl.SSLContext | None = None,
                 station_hooks: dict | None = None, board=None, plc=None, supervision_config=None,
                 trace=None,
                 on_event: Callable[[Event], None] | None = None,
                 on_fault: Callable[[str, str], None] | None = None) -> None:
        """`board`: a supervision.SerialControlPilot (pilot measurements + contactor); `plc`: a PLC source for
        supervision.SessionSupervisor (e.g. slac.watch_link(...)); `on_event`/`on_fault` observe (demo).
        TxStartPoint and TxUpdatedInterval are read from the OCPP client's live device model."""
        self.config = config
        self.secc_config = secc_config
        self.meter = meter
        self.ocpp = ocpp
        self.ssl_context = ssl_context
        self.board = board
        self.plc = plc
        self.supervision_config = supervision_config
        self.observer = on_event
        self.fault_observer = on_fault
        self.power = InterlockedCharger(SimulatedCharger(secc_config.charger))
        # The gateway's meters are sampled by their own thread (or the simulated meter time): a charge loop
        # never polls the chip nor waits for the checkpoint fsync a poll may write.
        connector = metered_connector(self.power, meter, poll=False)
        self._meter_source = BegunFirst(connector.meter)
        self.connector = dataclasses.replace(connector, meter=self._meter_source)
        hooks = dict(station_hooks or {})
        self._authorizer: OcppContractAuthorizer | None = None
        if ocpp is not None and hooks.get("contract_verifier") is not None:
            # PnC: the CSMS authorizes the contract
            hooks["contract_authorizer"] = self._authorizer = OcppContractAuthorizer(ocpp)
            hooks["contract_verifier"] = RepeatedRequestVerifier(hooks["contract_verifier"])  # repeats while Ongoing
        self.station = _EvseStation(self, secc_config, lambda _: self.connector, **hooks)
        self.server = SeccServer(self.station, interface=config.interface, port=config.port,
                                 ssl_context=ssl_context, sdp_port=config.sdp_port, trace=trace,
                                 on_event=self._on_secc_event)
        self.sessions: dict[bytes, SessionRecord] = {}
        self.current: SessionRecord | None = None
        self.recovered: list[str] = []  # transactions ended at start for sessions sealed by the meter's recovery
        self.supervisor = None
        self._connections: list[Secc] = []
        self._work: asyncio.Queue = asyncio.Queue()
        # Journal writes (fsync each) off the event loop; one worker keeps this connector's records in order,
        # and a step awaits its record, so each is durable before it is reported on.
        self._journal_io = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"evse-{config.id}-journal")
        self._worker: asyncio.Task | None = None

    # ---- lifecycle -------------------------------------------------------------------------------------------
    async def start(self) -> "Evse":
        self._worker = asyncio.create_task(self._run_work())
        # Start the journal thread now: Thread.start() waits for the new thread, which on a busy gateway can hold
        # the event loop for tens of ms in the middle of other connectors' sessions.
        await self._journaled(threading.current_thread)
        if self.board is not None or self.plc is not None:
            from supervision import SessionSupervisor, SupervisionConfig
            self.supervisor = SessionSupervisor(
                on_fault=self.abort, pilot=self.board.measurements() if self.board is not None else None,
                plc=self.plc, config=self.supervision_config or SupervisionConfig())
            await self.supervisor.__aenter__()
        if self.board is not None:
            await self.board.set_duty(5)  # 5 %: digital communication required (IEC 61851-1, ISO 15118-3)
            self.supervisor.expect_pwm(True)
        await self._recover()
        await self.server.start()
        return self

    async def close(self) -> None:
        await self.server.close()
        if self.supervisor is not None:
            await self.supervisor.__aexit__(None, None, None)
        await self.drain()
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
        self._journal_io.shutdown(wait=True)

    async def drain(self) -> None:
        """Until every queued OCPP step (Started, Updated, Ended) has been handed to the OCPP queue."""
        await self._work.join()

    @property
    def port(self) -> int | None:
        return self.server.port

    @property
    def sdp_port(self) -> int | None:
        return self.server.sdp_bound_port

    # ---- restart recovery ------------------------------------------------------------------------------------
    async def _recover(self) -> None:
        """End the OCPP transactions a crash left open with the meter's seal (taken when the Meter started)."""
        if self.ocpp is None:
            return
        for tx in self.ocpp.open_transactions():
            if tx.evse_id != self.config.id:
                continue
            if self.meter.journal.session_state(tx.transaction_id) is None:
                # Opened before service selection (TxStartPoint EVConnected/Authorized), killed before the metering
                # session began: an empty session, sealed for the restart, carries the Ended's signed values.
                await self._journaled(self.meter.begin_session, tx.transaction_id)
            # Returns the recovery seal the meter took when it started (or seals now, once).
            seal = await self._journaled(self.meter.seal_session, tx.transaction_id, RESTART)
            reason = self._seal_reason(tx.transaction_id) or RESTART
            trigger, stopped = stop_reasons(reason)
            begin = None if tx.has_begin else await self._journaled(self._metering_begin, tx.transaction_id)
            await tx.end(seal, stopped_reason=stopped, trigger_reason=trigger, begin=begin)
            self.recovered.append(tx.transaction_id)
            log_event(_log, "transaction_recovered", transaction_id=tx.transaction_id, reason=reason)

    def _metering_begin(self, meter_session: str) -> SignedReading:
        """The signed begin of a metering session (also of the empty one an early seal opened)."""
        return SignedReading.from_record(self.meter.journal.session_begin(meter_session))

    def _seal_reason(self, meter_session: str) -> str | None:
        seals = self.meter.journal.records(kind="session_seal", session_id=meter_session)
        return seals[-1].body.get("reason") if seals else None

    # ---- SECC events (called synchronously by the pump) ------------------------------------------------------
    def _on_secc_event(self, event: Event) -> None:
        if isinstance(event, SessionStarted):
            record = self.sessions.get(event.session_id) or SessionRecord(event.session_id)
            self.sessions[event.session_id] = record
            self.current = record
            self.power.reset()
            if self.supervisor is not None:
                self.supervisor.begin_session()
            self._submit(self._status("Occupied"))
            self._submit(self._reach(record, "EVConnected", self._token(record)))
        elif isinstance(event, Authorized):
            self._on_authorized(event)
        elif isinstance(event, ServiceSelected):
            self._on_service_selected(event)
        elif isinstance(event, PowerRequest):
            record = self.sessions.get(event.session_id)
            if record is not None and not record.power_on:
                record.power_on = True
                if self.board is not None:
                    self._submit(self._contactor(True))
                self._submit(self._reach(record, "PowerPathClosed", self._token(record)))
        elif isinstance(event, SessionSealed):
            record = self.sessions.get(event.session_id)
            if record is not None:
                record.seal_reported = True
                self._submit(self._end_transaction(record, event.reason))
        elif isinstance(event, SessionEnded):
            self._connections = [s for s in self._connections if s.state is not SeccState.ENDED]
            if self.supervisor is not None:
                self.supervisor.end_session()
            if event.outcome != "paused":
                self.current = None
                self._submit(self._status("Available"))
        if self.observer is not None:
            self.observer(event)

    def _on_authorized(self, event: Authorized) -> None:
        record = self.sessions[event.session_id]
        record.identity, record.method = event.identity, event.method
        self._submit(self._reach(record, "Authorized", self._token(record)))

    def _on_service_selected(self, event: ServiceSelected) -> None:
        record = self.sessions[event.session_id]
        # Begin here, after authorization and before the first MeterInfo, so the OCMF records carry the
        # authorized identity and the selected service's supply (RT); on the journal thread (a signed reading and
        # an fsync), the SECC's meter waiting for it where it needs it.
        # The reversed-CT diagnostic (negative power while charging) only holds where no BPT service is offered.
        charging = None if any(s.endswith("_bpt") for s in self.secc_config.services) else True
        begin = self._journal_io.submit(self._begin_metering, record.meter_session,
                                        ocmf_user(record.method, record.identity), charging,
                                        "DC" if event.service.startswith("dc") else "AC")
        self._meter_source.pending[record.session_id] = begin
        self._submit(self._reach(record, "DataSigned", self._token(record), asyncio.wrap_future(begin)))

    def _begin_metering(self, meter_session: str, user: OcmfUser, charging: bool | None,
                        current_type: str) -> SignedReading | None:
        if self.meter.journal.session_state(meter_session) is not None:
            return None  # a resumed session continues its metering session and transaction
        return self.meter.begin_session(meter_session, user=user, charging=charging, current_type=current_type)

    def _refused(self, record: SessionRecord) -> bool:
        """The CSMS refused the session's contract and it never got authorized."""
        return (not record.identity and self._authorizer is not None
                and self._authorizer.decision(record.session_id) is False)

    # ---- supervision fault -------------------------------------------------------------------------------------
    async def abort(self, code: str, detail: str) -> None:
        """Supervision's on_fault: stop power, seal with a final signed reading, end the session without an
        answer, then OCPP Ended carrying the seal (exactly once per session)."""
        record = self.current
        log_event(_log, "evse_fault", logging.WARNING, code=code, detail=detail, connector=self.config.id,
                  session_id=record.session_id.hex() if record else None)
        if self.fault_observer is not None:
            self.fault_observer(code, detail)
        now = asyncio.get_running_loop().time()
        # No await until the machine has ended: no request may be answered once the fault is known.
        self.power.trip()
        self.connector.charger.open_contactors(now)  # also with no session: the meter's load follows the contactor
        if record is not None:
            self._meter_source.settle(record.session_id)
        state = self.meter.journal.session_state(record.meter_session) if record is not None else "sealed"
        if state != "sealed":  # else the session ended first (e.g. unplugged after SessionStop): nothing to abort
            record.fault = code
            for session in self._connections:
                if session.ctx.session_id == record.session_id:
                    for event in session.abort(code, now, detail):  # seals with the fault code, once
                        self._on_secc_event(event)
            if self.meter.journal.session_state(record.meter_session) is None:
                # A fault before authorization (or with no machine left) still leaves a sealed, empty session.
                self.meter.begin_session(record.meter_session)
            record.seal = self.meter.seal_session(record.meter_session, code)  # the seal taken above, if any
            if not record.seal_reported:  # no machine sealed it (none left): end its transaction here
                record.seal_reported = True
                self._submit(self._end_transaction(record, code))
        self._connections = [s for s in self._connections if s.state is not SeccState.ENDED]
        if self.board is not None:
            await self._contactor(False)

    # ---- OCPP steps (run in order by one worker) ----------------------------------------------------------------
    async def _journaled(self, write, *args):
        """`write(*args)` on this connector's journal worker; returns once the record is durable."""
        return await asyncio.get_running_loop().run_in_executor(self._journal_io, write, *args)

    def _submit(self, step) -> None:
        self._work.put_nowait(step)

    async def _run_work(self) -> None:
        while True:
            step = await self._work.get()
            try:
                await step
            except Exception as exc:  # one failed step must not stop the connector's OCPP reporting
                log_event(_log, "evse_step_failed", logging.ERROR, code=getattr(exc, "code", "ERR_SITE"),
                          error=repr(exc), connector=self.config.id)
            finally:
                self._work.task_done()

    async def _status(self, status: str) -> None:
        if self.ocpp is not None:
            await self.ocpp.status_notification(self.config.id, 1, status)

    async def _contactor(self, closed: bool) -> None:
        from supervision import PilotBoardError
        try:
            await self.board.set_contactor(closed)
        except PilotBoardError as exc:  # the board refuses to close on a faulted pilot: that is its job
            log_event(_log, "contactor_refused", logging.WARNING, code=exc.code, closed=closed, error=str(exc))

    @staticmethod
    def _token(record: SessionRecord) -> dict | None:
        """The idToken as of now (taken when the event happens: the step that reports it runs later)."""
        if not record.identity:
            return None
        return id_token(record.identity, "eMAID" if record.method == "PnC" else "Local")

    async def _reach(self, record: SessionRecord, point: str, token: dict | None,
                     begun: Awaitable[SignedReading | None] | None = None) -> None:
        """The session reached a TxStartPoint point: open the transaction if it is a configured start point and
        none is open, else report what the point adds to the open one (idToken, signed begin)."""
        if begun is not None:
            begin = await begun
            if begin is None:
                return  # a resumed session continues its metering session and transaction
            record.begin = begin
        if self.ocpp is None or record.ended or point in record.reached:
            return
        record.reached.add(point)
        if record.transaction is None:
            if point not in self.ocpp.config.tx_start_points():
                return
            trigger, charging_state = TX_START_TRIGGERS[point]
            record.transaction = await self.ocpp.start_transaction(
                record.begin, self.meter.public_key_der(), evse_id=self.config.id, connector_id=1, id_token=token,
                trigger_reason=trigger, charging_state=charging_state, transaction_id=record.meter_session)
            record.updater = asyncio.create_task(self._periodic_updates(record))
        elif point == "Authorized" and token is not None:
            await record.transaction.authorized(token, time.time())
        elif point == "DataSigned" and not record.transaction.has_begin:
            await record.transaction.signed_begin(record.begin)

    async def _periodic_updates(self, record: SessionRecord) -> None:
        """An Updated every SampledDataCtrlr.TxUpdatedInterval (0 = none); a new value counts from the last one."""
        loop = asyncio.get_running_loop()
        last = loop.time()
        while True:
            interval = self.ocpp.config.tx_updated_interval
            if await self.ocpp.sleep_unless_reconfigured(last + interval - loop.time() if interval > 0 else None):
                continue
            last = loop.time()
            self._submit(self._update(record))

    async def _update(self, record: SessionRecord) -> None:
        if record.ended or record.transaction is None:
            return
        if self.meter.journal.session_state(record.meter_session) != "open":
            return
        reading = await self._journaled(self.meter.reading, record.meter_session)
        await record.transaction.update(reading)

    async def _end_transaction(self, record: SessionRecord, reason: str) -> None:
        if record.ended:
            return
        record.ended = True
        if record.updater is not None:
            record.updater.cancel()
        code = record.fault or reason
        self.sessions.pop(record.session_id, None)  # sealed for good: nothing can resume it
        if record.seal is None:  # the machine's seal, taken once: this returns it
            record.seal = await self._journaled(self.meter.seal_session, record.meter_session, code)
        if record.transaction is None:
            if self.ocpp is not None:
                log_event(_log, "seal_without_transaction", logging.WARNING, code="TX_START_POINT_NOT_REACHED",
                          session_id=record.meter_session, reason=code,
                          start_point=self.ocpp.config.tx_start_point)
            return
        begin = None if record.transaction.has_begin else await self._journaled(self._metering_begin,
                                                                               record.meter_session)
        trigger, stopped = stop_reasons(record.fault or reason)
        if record.fault is None and self._refused(record):
            trigger, stopped = REFUSED_AUTHORIZATION
        await record.transaction.end(record.seal, stopped_reason=stopped, trigger_reason=trigger, begin=begin)
        log_event(_log, "transaction_ended", transaction_id=record.transaction.transaction_id, reason=code)
