"""OCPP 2.0.1 station client: the asyncio adapter that owns the websocket, timers and the send loop.

One connection at a time (ws:// or wss:// with the station's client certificate, subprotocol
"ocpp2.0.1"), reconnecting with the RetryBackOff* rules. BootNotification once per process, then
StatusNotification for every connector (B01) or, after an outage, for all or only the changed ones
depending on OfflineThreshold (B04); Heartbeat at the interval from Boot. Transaction messages always go
through the persistent `OfflineQueue` and leave it in order, one in flight (OCPP-J §4.1.1): the head is
sent, acknowledged on CALLRESULT, retried or discarded on CALLERROR/timeout (E13), kept on connection loss.
Every send (retries included) gets a fresh message id from the `ocpp` package (uuid4, OCPP-J §4.2).

The queue's SQLite work (an fsync per commit, and reads that wait for another station's commit on a shared
journal) runs on one worker thread (the client's own, or one shared by the stations of a journal), never on the
event loop: operations run in the order they were submitted and each is awaited, so a message is durable before it is sent, its acknowledgement is
durable before the next head is read, and seqNos keep their commit order.
"""
from __future__ import annotations

import asyncio
import base64
import dataclasses
import inspect
import logging
import random
import ssl
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import websockets
from ocpp.exceptions import OCPPError
from ocpp.routing import after, on
from ocpp.v201 import ChargePoint, call, call_result
from ocpp.v201.enums import Action

from metering.journal import Journal
from metering.ocpp import device_model, messages
from metering.ocpp.aligned import sample_aligned
from metering.ocpp.config import OcppConfig
from metering.ocpp.errors import OcppCallFailed, OcppOffline, TransactionClosed
from metering.ocpp.messages import SignedMeterReading
from metering.ocpp.queue import OfflineQueue, QueuedMessage
from metering.ocpp.transaction import Transaction, key_only, reading_dict
from v2gbase.jsonlog import log_json

SUBPROTOCOL = "ocpp2.0.1"
REPORT_ITEMS_PER_MESSAGE = 8  # ReportData entries per NotifyReport (DeviceDataCtrlr.ItemsPerMessage, our choice)
_T = TypeVar("_T")
_logger = logging.getLogger("metering.ocpp")


def _log(event: str, level: int = logging.INFO, **fields: object) -> None:
    log_json(_logger, level, {"component": "ocpp", "event": event, **fields})


class _ConnectionLost(Exception):
    pass


def client_ssl_context(config: OcppConfig) -> ssl.SSLContext | None:
    """TLS for wss://: verify the CSMS against `ca_file`, present the station certificate (security profile 3)."""
    if not config.csms_url.startswith("wss://"):
        return None
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=config.ca_file or None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if config.client_cert_file:
        context.load_cert_chain(config.client_cert_file, config.client_key_file or None)
    return context


class _StationEndpoint(ChargePoint):
    """The `ocpp` package's endpoint on the station side: answers GetVariables (B06), SetVariables (B05) and
    GetBaseReport (B07, then NotifyReport) from the device model, GetTransactionStatus (E14), TriggerMessage
    (F06) for StatusNotification and Heartbeat, and RequestStopTransaction (F03) through the application's
    `on_remote_stop`; other CSMS requests get the package's NotImplemented CALLERROR."""

    def __init__(self, station_id: str, connection: object, client: OcppClient) -> None:
        super().__init__(station_id, connection, response_timeout=client.config.message_timeout)
        self._client = client

    @on(Action.get_variables)
    def on_get_variables(self, get_variable_data: list[dict], **_: object):
        return call_result.GetVariables(
            get_variable_result=device_model.get_variables(self._client.config, get_variable_data))

    @on(Action.set_variables)
    async def on_set_variables(self, set_variable_data: list[dict], **_: object):
        return call_result.SetVariables(set_variable_result=await self._client.set_variables(set_variable_data))

    @on(Action.get_base_report)
    def on_get_base_report(self, request_id: int, report_base: str, **_: object):
        return call_result.GetBaseReport(status="Accepted" if report_base in device_model.REPORT_BASES
                                         else "NotSupported")

    @after(Action.get_base_report)
    def after_get_base_report(self, request_id: int, report_base: str, **_: object) -> None:
        if report_base in device_model.REPORT_BASES:
            self._client._spawn(self._client._send_report(request_id, report_base))

    @on(Action.get_transaction_status)
    async def on_get_transaction_status(self, transaction_id: str | None = None, **_: object):
        queue, io = self._client.queue, self._client.queue_io
        if transaction_id is None:
            return call_result.GetTransactionStatus(messages_in_queue=await io(queue.messages_in_queue) > 0)
        record = await io(queue.transaction, transaction_id)
        return call_result.GetTransactionStatus(
            messages_in_queue=await io(queue.messages_in_queue, transaction_id) > 0,
            ongoing_indicator=record is not None and not record.ended)

    @on(Action.trigger_message)
    def on_trigger_message(self, requested_message: str, evse: dict | None = None, **_: object):
        if requested_message == "BootNotification":
            return call_result.TriggerMessage(status="Rejected")  # F06.FR.17: already accepted
        if requested_message not in ("StatusNotification", "Heartbeat"):
            return call_result.TriggerMessage(status="NotImplemented")
        return call_result.TriggerMessage(status="Accepted")

    @after(Action.trigger_message)
    def after_trigger_message(self, requested_message: str, evse: dict | None = None, **_: object) -> None:
        if requested_message in ("StatusNotification", "Heartbeat"):
            # A task, not an await: this hook runs inside the receive loop that must read the answer.
            self._client._spawn(self._client._send_triggered(requested_message, evse))

    @on(Action.request_stop_transaction)
    async def on_request_stop_transaction(self, transaction_id: str, **_: object):
        record = await self._client.queue_io(self._client.queue.transaction, transaction_id)
        accepted = False
        if record is not None and not record.ended and self._client.on_remote_stop is not None:
            accepted = bool(await _maybe_await(self._client.on_remote_stop(transaction_id)))
        return call_result.RequestStopTransaction(status="Accepted" if accepted else "Rejected")


class OcppClient:
    """`async with OcppClient(config, journal) as client:` — see the package docstring for the API."""

    def __init__(self, config: OcppConfig, journal: Journal | None = None, *,
                 connectors: Iterable[tuple[int, int]] = ((1, 1),), clock: Callable[[], float] = time.time,
                 ssl_context: ssl.SSLContext | None = None,
                 on_remote_stop: Callable[[str], bool | Awaitable[bool]] | None = None,
                 queue_worker: ThreadPoolExecutor | None = None) -> None:
        """`ssl_context` overrides the one built from the config (a gateway shares one among its stations).
        `queue_worker`: a single-thread executor for the queue work, shared by stations that share `journal`
        (their commits serialize on it anyway; one thread instead of one per station); default: its own.
        `on_remote_stop(transaction_id)` decides a RequestStopTransaction; on True the application stops the
        session and ends the transaction with `tx.end(seal, "Remote", "RemoteStop")`."""
        self.on_remote_stop = on_remote_stop
        self._spawned: set[asyncio.Task[None]] = set()
        self._ssl_context = ssl_context
        self.journal = journal or Journal(config.journal_path)
        self._owns_journal = journal is None
        self.queue = OfflineQueue(self.journal, config)
        # Values a CSMS set earlier (SetVariables) win over the file's.
        self.config = device_model.with_stored(config, self.queue.stored_variables())
        self.queue.config = self.config
        self._reconfigured = asyncio.Event()
        self._owns_queue_worker = queue_worker is None
        self._queue_worker = queue_worker or ThreadPoolExecutor(max_workers=1,
                                                                thread_name_prefix=f"ocpp-{config.station_id}-queue")
        self._clock = clock
        self._statuses: dict[tuple[int, int], str] = {key: "Available" for key in connectors}
        self._changed_offline: set[tuple[int, int]] = set()
        self._endpoint: _StationEndpoint | None = None
        self._closed_event: asyncio.Event | None = None
        self._online = asyncio.Event()
        self._queue_changed = asyncio.Event()
        self._booted = False
        self._offline_since: float | None = None
        self.connections = 0
        self._tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> OcppClient:
        self._tasks = [asyncio.create_task(self._connection_loop()), asyncio.create_task(self._send_loop())]
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        for task in [*self._tasks, *self._spawned]:
            task.cancel()
        await asyncio.gather(*self._tasks, *self._spawned, return_exceptions=True)
        self._tasks.clear()
        await self.queue_io(self.queue.close)
        if self._owns_journal:
            await self.queue_io(self.journal.close)
        if self._owns_queue_worker:
            self._queue_worker.shutdown(wait=True)

    async def queue_io(self, operation: Callable[..., _T], *args: object) -> _T:
        """Run a queue (journal) operation on this client's queue worker, after those submitted before it."""
        return await asyncio.get_running_loop().run_in_executor(self._queue_worker, operation, *args)

    # ---- device model ------------------------------------------------------------------------------------
    @property
    def heartbeat_interval(self) -> int:
        return self.config.heartbeat_interval

    async def set_variables(self, requests: list[dict]) -> list[dict]:
        """SetVariables (B05): the accepted values are stored durably, then take effect at once."""
        results, config, stored = device_model.set_variables(self.config, requests)
        if stored:
            await self.queue_io(self.queue.store_variables, stored)
            self._reconfigure(config)
            _log("variables_set", variables=sorted(stored))
        return results

    def _reconfigure(self, config: OcppConfig) -> None:
        self.config = self.queue.config = config
        self._reconfigured.set()  # wakes whoever sleeps on an old value (heartbeat, aligned, periodic values)
        self._reconfigured = asyncio.Event()
        self._queue_changed.set()  # a retry waits MessageAttemptInterval × attempts of the new value

    async def sleep_unless_reconfigured(self, seconds: float | None) -> bool:
        """Sleep `seconds` (None: until a change); True if a device-model value changed first, so the caller
        recomputes its deadline with the new values."""
        changed = self._reconfigured
        try:
            async with asyncio.timeout(seconds):
                await changed.wait()
        except TimeoutError:
            return False
        return True

    async def _send_report(self, request_id: int, report_base: str) -> None:
        """NotifyReport pages (B07.FR.?): seqNo from 0, tbc on every page but the last."""
        entries = device_model.report_data(self.config, report_base)
        pages = [entries[i:i + REPORT_ITEMS_PER_MESSAGE] for i in range(0, len(entries), REPORT_ITEMS_PER_MESSAGE)]
        try:
            for seq_no, page in enumerate(pages):
                await self._send_direct(call.NotifyReport(
                    request_id=request_id, generated_at=messages.timestamp(self._clock()), seq_no=seq_no,
                    tbc=seq_no < len(pages) - 1, report_data=page))
        except _ConnectionLost:
            _log("report_dropped_offline", logging.INFO, request_id=request_id)

    # ---- state ---------------------------------------------------------------------------------------------
    @property
    def online(self) -> bool:
        return self._online.is_set()

    async def wait_online(self, timeout: float | None = None) -> None:
        async with asyncio.timeout(timeout):
            await self._online.wait()

    async def wait_idle(self, timeout: float | None = None) -> None:
        """Until the queue is empty (every queued message delivered or discarded)."""
        async with asyncio.timeout(timeout):
            while await self.queue_io(self.queue.head) is not None:
                await asyncio.sleep(0.01)

    # ---- transactions --------------------------------------------------------------------------------------------
    async def start_transaction(self, begin: SignedMeterReading | None, public_key_der: bytes, *, evse_id: int = 1,
                                connector_id: int = 1, id_token: dict | None = None, trigger_reason: str = "Authorized",
                                charging_state: str | None = "Charging",
                                transaction_id: str | None = None) -> Transaction:
        """Open a transaction and queue Started with the signed begin value (`metering.SignedReading` fits), or
        without one (begin None: the metering session begins later, `tx.signed_begin`)."""
        transaction_id = transaction_id or str(uuid.uuid4())  # unique across reboots (§E)
        stored = key_only(public_key_der) if begin is None else reading_dict(begin, public_key_der)
        await self.queue_io(self.queue.open_transaction, transaction_id, evse_id, connector_id, stored)
        tx = Transaction(self, transaction_id, evse_id, connector_id, stored)
        started = await tx.started_payload(trigger_reason, id_token, charging_state, self._clock())
        await self._enqueue_transaction_event(transaction_id, started)
        return tx

    async def sample_aligned(self, tx: Transaction,
                             read: Callable[[], SignedMeterReading | Awaitable[SignedMeterReading]]) -> None:
        """Queue an aligned value every AlignedDataCtrlr.Interval s from midnight until cancelled (e.g.
        `read=lambda: meter.reading(session_id)`); run it as a task beside the transaction. A new interval
        (SetVariables) reschedules the next value at once."""
        await sample_aligned(tx, read, lambda: self.config.aligned_data_interval, self._clock,
                             self.sleep_unless_reconfigured)

    def open_transactions(self) -> list[Transaction]:
        """Transactions left open by an earlier run (restart): end them, e.g. with the meter's recovery seal."""
        return [Transaction(self, r.transaction_id, r.evse_id, r.connector_id, r.begin_reading)
                for r in self.queue.open_transactions()]

    async def _enqueue_transaction_event(self, transaction_id: str, payload: dict) -> int:
        offline = not self.online

        def enqueue_if_open() -> QueuedMessage:
            record = self.queue.transaction(transaction_id)
            if record is None or record.ended:
                raise TransactionClosed(f"transaction {transaction_id} is {'unknown' if record is None else 'ended'}")
            return self.queue.enqueue_transaction_event(transaction_id, payload, offline=offline)

        message = await self.queue_io(enqueue_if_open)
        self._queue_changed.set()
        _log("queued", action="TransactionEvent", transaction_id=transaction_id, seq_no=message.payload["seq_no"],
             event_type=payload["event_type"], offline=offline)
        return message.payload["seq_no"]

    # ---- other messages -------------------------------------------------------------------------------------------
    async def authorize(self, id_token: dict, certificate_hash_data: list[dict] | None = None) -> dict:
        """Authorize an EIM token (`messages.id_token("04A1B2C3", "ISO14443")`) or a contract (`"eMAID"` plus the
        OCSP hash data of the contract chain, `messages.certificate_hash_data`); returns the response as a dict
        (`id_token_info`, `certificate_status`). Raises OcppOffline / OcppCallFailed."""
        if not self.online:
            raise OcppOffline("Authorize needs the CSMS")
        payload = call.Authorize(id_token=id_token, iso15118_certificate_hash_data=certificate_hash_data)
        try:
            result = await self._call(payload)
        except _ConnectionLost as exc:
            raise OcppOffline("connection lost during Authorize") from exc
        except (OCPPError, TimeoutError) as exc:
            raise OcppCallFailed(f"Authorize failed: {exc}") from exc
        return {"id_token_info": result.id_token_info, "certificate_status": result.certificate_status}

    async def status_notification(self, evse_id: int, connector_id: int, status: str) -> None:
        """Connector status (Available, Occupied, Reserved, Unavailable, Faulted)."""
        key = (evse_id, connector_id)
        self._statuses[key] = status
        if self.config.queue_all_messages:
            await self.queue_io(self.queue.enqueue, "StatusNotification", self._status_payload(key))
            self._queue_changed.set()
            return
        if not self.online:  # also while booting: B04 reports it once the connection is accepted
            self._changed_offline.add(key)
            return
        try:
            await self._send_direct(call.StatusNotification(**self._status_payload(key)))
        except _ConnectionLost:
            self._changed_offline.add(key)  # sent on reconnect (B04)

    async def meter_values(self, evse_id: int, reading: SignedMeterReading, public_key_der: bytes,
                           context: str = "Sample.Clock") -> None:
        """Values outside a transaction (evse 0 = main meter); transaction values go in TransactionEvent only."""
        payload = {"evse_id": evse_id,
                   "meter_value": [messages.meter_value(reading, context, messages.oca_public_key(public_key_der))]}
        if self.config.queue_all_messages:
            await self.queue_io(self.queue.enqueue, "MeterValues", payload)
            self._queue_changed.set()
        else:
            try:
                await self._send_direct(call.MeterValues(**payload))
            except _ConnectionLost:
                _log("dropped_offline", logging.INFO, action="MeterValues")

    def _status_payload(self, key: tuple[int, int]) -> dict:
        return {"timestamp": messages.timestamp(self._clock()), "connector_status": self._statuses[key],
                "evse_id": key[0], "connector_id": key[1]}

    async def _send_direct(self, payload: object) -> None:
        """Send without queueing; a failure is logged, not retried (B04 repeats statuses after an outage)."""
        try:
            await self._call(payload)
        except (OCPPError, TimeoutError) as exc:
            _log("send_failed", logging.WARNING, code=OcppCallFailed.code, action=type(payload).__name__,
                 error=repr(exc))

    def _spawn(self, coroutine: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._spawned.add(task)
        task.add_done_callback(self._spawned.discard)

    async def _send_triggered(self, requested_message: str, evse: dict | None) -> None:
        try:
            if requested_message == "Heartbeat":
                await self._send_direct(call.Heartbeat())
                return
            evse_id = None if evse is None else evse.get("id")
            connector_id = None if evse is None else evse.get("connector_id")
            for key in sorted(self._statuses):
                if evse_id in (None, key[0]) and connector_id in (None, key[1]):
                    await self._send_direct(call.StatusNotification(**self._status_payload(key)))
        except _ConnectionLost:
            pass

    # ---- I/O -----------------------------------------------------------------------------------------------
    async def _call(self, payload: object) -> object:
        endpoint, closed = self._endpoint, self._closed_event
        if endpoint is None or closed is None:
            raise _ConnectionLost()
        call_task = asyncio.create_task(endpoint.call(payload, suppress=False))
        closed_task = asyncio.create_task(closed.wait())
        try:
            done, _ = await asyncio.wait({call_task, closed_task}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            closed_task.cancel()
            if not call_task.done():
                call_task.cancel()
                await asyncio.gather(call_task, return_exceptions=True)
        if call_task not in done:
            raise _ConnectionLost()
        return call_task.result()

    def _backoff(self, failures: int) -> float:
        doublings = min(failures, self.config.retry_back_off_repeat_times)
        return (self.config.retry_back_off_wait_minimum * 2 ** doublings
                + random.uniform(0, self.config.retry_back_off_random_range))

    async def _connection_loop(self) -> None:
        url = f"{self.config.csms_url.rstrip('/')}/{self.config.station_id}"
        context = self._ssl_context or client_ssl_context(self.config)
        failures = 0
        while True:
            headers = {}
            if self.config.basic_auth_password:  # read per attempt: SetVariables may have changed it
                credentials = f"{self.config.station_id}:{self.config.basic_auth_password}".encode()
                headers["Authorization"] = "Basic " + base64.b64encode(credentials).decode("ascii")
            try:
                websocket = await websockets.connect(url, subprotocols=[SUBPROTOCOL], ssl=context,
                                                     additional_headers=headers,
                                                     open_timeout=self.config.message_timeout)
            except (OSError, TimeoutError, websockets.exceptions.WebSocketException) as exc:
                delay = self._backoff(failures)
                failures += 1
                _log("connect_failed", logging.WARNING, code=OcppOffline.code, url=url, error=repr(exc), retry_in=delay)
                await asyncio.sleep(delay)
                continue
            failures = 0 if await self._serve(websocket) else failures + 1
            await asyncio.sleep(self._backoff(failures))  # also after a drop: never hammer a flapping CSMS

    async def _serve(self, websocket: websockets.ClientConnection) -> bool:
        """Run one connection until it closes; True if the station got online on it."""
        self.connections += 1
        was_online = False
        self._endpoint = _StationEndpoint(self.config.station_id, websocket, self)
        closed = self._closed_event = asyncio.Event()
        reader = asyncio.create_task(self._endpoint.start())
        reader.add_done_callback(lambda _: closed.set())
        heartbeat: asyncio.Task[None] | None = None
        try:
            if websocket.subprotocol != SUBPROTOCOL:
                _log("subprotocol_refused", logging.ERROR, code="ERR_OCPP", got=websocket.subprotocol)
                return False
            await self._boot()
            await self._report_statuses()
            self._online.set()
            was_online = True
            self._offline_since = None
            self._queue_changed.set()
            _log("online", connection=self.connections)
            heartbeat = asyncio.create_task(self._heartbeat_loop())
            await closed.wait()
        except _ConnectionLost:
            pass
        finally:
            self._online.clear()
            self._offline_since = self._clock()
            self._endpoint = None
            if heartbeat is not None:
                heartbeat.cancel()
            reader.cancel()
            await websocket.close()
            await asyncio.gather(reader, *(t for t in [heartbeat] if t), return_exceptions=True)
            marked = await self.queue_io(self.queue.mark_offline)
            _log("offline", queued_marked_offline=marked)
        return was_online

    async def _boot(self) -> None:
        """BootNotification once per process; Pending/Rejected → retry after the CSMS's interval (B02/B03)."""
        while not self._booted:
            request = call.BootNotification(
                charging_station={"vendor_name": self.config.vendor_name, "model": self.config.model,
                                  **({"serial_number": self.config.serial_number} if self.config.serial_number else {}),
                                  "firmware_version": self.config.firmware_version},
                reason="PowerUp")
            try:
                result = await self._call(request)
            except (OCPPError, TimeoutError) as exc:
                _log("boot_failed", logging.WARNING, code=OcppCallFailed.code, error=repr(exc))
                await asyncio.sleep(self._backoff(0))
                continue
            if result.status == "Accepted":
                self._booted = True
                if result.interval:  # B01: the interval of the response is the HeartbeatInterval
                    self._reconfigure(dataclasses.replace(self.config, heartbeat_interval=result.interval))
                self._changed_offline = set(self._statuses)  # B01: every connector after boot
            else:
                await asyncio.sleep(result.interval or self.heartbeat_interval)

    async def _report_statuses(self) -> None:
        if self.config.queue_all_messages and not self._changed_offline:
            return
        offline_for = 0.0 if self._offline_since is None else self._clock() - self._offline_since
        keys = set(self._statuses) if offline_for > self.config.offline_threshold else self._changed_offline
        self._changed_offline = set()
        for key in sorted(keys):
            await self._send_direct(call.StatusNotification(**self._status_payload(key)))

    async def _heartbeat_loop(self) -> None:
        loop = asyncio.get_running_loop()
        last = loop.time()
        while True:
            if await self.sleep_unless_reconfigured(last + self.config.heartbeat_interval - loop.time()):
                continue  # a new HeartbeatInterval counts from the last heartbeat
            await self._send_direct(call.Heartbeat())
            last = loop.time()

    async def _send_loop(self) -> None:
        while True:
            await self._online.wait()
            message = await self.queue_io(self.queue.head)
            wait = None
            if message is not None:
                # Wall time survives a restart; the cap keeps a stepped clock from stalling the queue.
                longest = self.config.message_attempt_interval_transaction_event * max(1, message.attempts)
                wait = min(message.next_attempt_at - self._clock(), longest)
            if message is None or wait > 0:
                self._queue_changed.clear()
                try:
                    async with asyncio.timeout(wait):
                        await self._queue_changed.wait()
                except TimeoutError:
                    pass
                continue
            await self._send_head(message)

    async def _send_head(self, message: QueuedMessage) -> None:
        request = getattr(call, message.action)(**message.payload)
        try:
            await self._call(request)
        except _ConnectionLost:
            await self._online_cleared()
            return
        except Exception as exc:  # CALLERROR, timeout, or a payload our own schema check refused
            retry_at = await self.queue_io(self.queue.failed, message, self._clock())
            _log("send_failed", logging.WARNING, code=OcppCallFailed.code, action=message.action,
                 transaction_id=message.transaction_id, seq_no=message.payload.get("seq_no"),
                 attempt=message.attempts + 1, error=repr(exc), discarded=retry_at is None)
            return
        await self.queue_io(self.queue.delivered, message)
        _log("delivered", action=message.action, transaction_id=message.transaction_id,
             seq_no=message.payload.get("seq_no"), offline=message.payload.get("offline", False))

    async def _online_cleared(self) -> None:
        while self._online.is_set():
            await asyncio.sleep(0.01)


async def _maybe_await(value: object) -> object:
    return await value if inspect.isawaitable(value) else value
