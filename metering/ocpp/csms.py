"""A local OCPP 2.0.1 CSMS for tests and the demo, on the `ocpp` package over websockets.

The `ocpp` package's ChargePoint validates every incoming call against the official OCPP 2.0.1 JSON schemas
and answers violations with CALLERROR (recorded in `call_errors`). Every TransactionEvent is recorded as
received (`transaction_events`, duplicates included) and once per (transactionId, seqNo) in
`transactions` (the backend's dedup key, OCPP 2.0.1 §E 1.3.2); signed meter values are decoded
(`signed_values`: the OCMF record and the DER public key from the `oca:` string) for verification.
Fault injection: `fail_next(action, n)` answers CALLERROR, `delay_next(action, n, seconds)` answers late.
CSMS-initiated requests go through `call(station_id, payload)` (e.g. `call.GetVariables`, `call.SetVariables`,
`call.GetBaseReport`); the NotifyReport pages that follow a GetBaseReport are kept in `reports`.
"""
from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field

import websockets
from websockets.asyncio.server import basic_auth
from ocpp.exceptions import InternalError
from ocpp.routing import on
from ocpp.v201 import ChargePoint, call_result
from ocpp.v201.enums import Action

from metering.ocpp.client import SUBPROTOCOL

_logger = logging.getLogger("metering.ocpp.csms")


@dataclass(frozen=True)
class SignedValue:
    transaction_id: str
    seq_no: int
    context: str
    measurand: str
    ocmf: str
    public_key_der: bytes | None


@dataclass
class _Injection:
    failures: int = 0
    delays: int = 0
    delay_s: float = 0.0


@dataclass
class CsmsRecord:
    calls: list[tuple[str, str, str]] = field(default_factory=list)  # (station, action, message id)
    transaction_events: list[dict] = field(default_factory=list)  # every TransactionEvent received, camelCase
    transactions: dict[str, dict[int, dict]] = field(default_factory=dict)  # transactionId → seqNo → event
    duplicates: list[tuple[str, int]] = field(default_factory=list)
    signed_values: list[SignedValue] = field(default_factory=list)
    call_errors: list[tuple[str, str]] = field(default_factory=list)  # (action, error code) we answered
    authorizations: list[dict] = field(default_factory=list)
    statuses: list[dict] = field(default_factory=list)
    meter_values: list[dict] = field(default_factory=list)
    reports: list[dict] = field(default_factory=list)  # every NotifyReport received, camelCase
    heartbeats: int = 0
    boots: int = 0
    client_certificates: list[str] = field(default_factory=list)  # subject of each TLS client certificate


def decode_public_key(value: str) -> bytes | None:
    """`publicKey` per the OCA note: base64 of `oca:<base16|base64>:asn1:<key>` → DER SPKI bytes."""
    if not value:
        return None
    text = base64.b64decode(value).decode("ascii")
    prefix, encoding, content_type, key = text.split(":", 3)
    if prefix != "oca" or content_type != "asn1":
        raise ValueError(f"unsupported public key form {text[:40]!r}")
    return bytes.fromhex(key) if encoding == "base16" else base64.b64decode(key)


def _camel(snake: dict) -> dict:
    def key(k: str) -> str:
        head, *rest = k.split("_")
        return head + "".join(p[:1].upper() + p[1:] for p in rest)
    return {key(k): _camel(v) if isinstance(v, dict) else [_camel(i) if isinstance(i, dict) else i for i in v]
            if isinstance(v, list) else v for k, v in snake.items()}


class _CsmsEndpoint(ChargePoint):
    def __init__(self, station_id: str, connection: websockets.ServerConnection, csms: LocalCsms) -> None:
        super().__init__(station_id, connection)
        self._csms = csms

    async def _send(self, message: str) -> None:
        frame = json.loads(message)
        if frame[0] == 4:
            self._csms.record.call_errors.append((self._csms._current_action, frame[2]))
        await super()._send(message)

    async def route_message(self, raw_msg: str) -> None:
        try:
            frame = json.loads(raw_msg)
            self._csms._current_action = frame[2] if frame[0] == 2 else ""
            if frame[0] == 2:
                self._csms.record.calls.append((self.id, frame[2], frame[1]))
                if self._csms.on_call is not None:
                    self._csms.on_call(self.id, frame[2], frame[3])
        except (ValueError, IndexError, TypeError):
            self._csms._current_action = ""
        await super().route_message(raw_msg)

    async def _injected(self, action: str) -> None:
        injection = self._csms._injections.get(action)
        if injection is None:
            return
        if injection.failures:
            injection.failures -= 1
            raise InternalError(description="injected failure")
        if injection.delays:
            injection.delays -= 1
            await asyncio.sleep(injection.delay_s)

    @on(Action.boot_notification)
    async def on_boot(self, charging_station: dict, reason: str, **_: object):
        self._csms.record.boots += 1
        return call_result.BootNotification(current_time=_now(), interval=self._csms.heartbeat_interval,
                                            status="Accepted")

    @on(Action.heartbeat)
    async def on_heartbeat(self, **_: object):
        self._csms.record.heartbeats += 1
        return call_result.Heartbeat(current_time=_now())

    @on(Action.status_notification)
    async def on_status(self, **kwargs: object):
        await self._injected("StatusNotification")
        self._csms.record.statuses.append(kwargs)
        return call_result.StatusNotification()

    @on(Action.meter_values)
    async def on_meter_values(self, **kwargs: object):
        self._csms.record.meter_values.append(kwargs)
        return call_result.MeterValues()

    @on(Action.notify_report)
    async def on_notify_report(self, **kwargs: object):
        self._csms.record.reports.append(_camel(kwargs))
        return call_result.NotifyReport()

    @on(Action.authorize)
    async def on_authorize(self, id_token: dict, **kwargs: object):
        await self._injected("Authorize")
        self._csms.record.authorizations.append({"id_token": id_token, **kwargs})
        status = "Accepted" if id_token["id_token"] not in self._csms.blocked_tokens else "Blocked"
        result = {"id_token_info": {"status": status}}
        if kwargs.get("iso15118_certificate_hash_data"):
            result["certificate_status"] = "Accepted"
        return call_result.Authorize(**result)

    @on(Action.transaction_event)
    async def on_transaction_event(self, call_unique_id: str, **event: object):
        await self._injected("TransactionEvent")
        record, camel = self._csms.record, _camel(event)
        record.transaction_events.append(camel)
        tid, seq_no = event["transaction_info"]["transaction_id"], event["seq_no"]
        seen = record.transactions.setdefault(tid, {})
        if seq_no in seen:
            record.duplicates.append((tid, seq_no))
        else:
            seen[seq_no] = camel
            for mv in event.get("meter_value") or []:
                for sv in mv["sampled_value"]:
                    signed = sv.get("signed_meter_value")
                    if signed:
                        record.signed_values.append(SignedValue(
                            tid, seq_no, sv.get("context", "Sample.Periodic"),
                            sv.get("measurand", "Energy.Active.Import.Register"),
                            base64.b64decode(signed["signed_meter_data"]).decode("utf-8"),
                            decode_public_key(signed["public_key"])))
        return call_result.TransactionEvent()


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class LocalCsms:
    """`async with LocalCsms() as csms:` serves ws://127.0.0.1:<port>/<station id>; `stop()`/`start()` simulate
    an outage (the port is kept). Pass an `ssl.SSLContext` for wss:// (CERT_REQUIRED: security profile 3) and/or
    `basic_auth` for HTTP Basic authentication (profiles 1 and 2)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, ssl_context: ssl.SSLContext | None = None,
                 heartbeat_interval: int = 300, basic_auth: dict[str, str] | None = None,
                 on_call: Callable[[str, str, dict], None] | None = None) -> None:
        self.host, self.port, self.ssl_context = host, port, ssl_context
        self.basic_auth = basic_auth  # station id → password (security profiles 1/2); None = no check
        self.on_call = on_call  # (station id, action, camelCase payload) for every call received
        self.heartbeat_interval = heartbeat_interval
        self.record = CsmsRecord()
        self.blocked_tokens: set[str] = set()
        self._injections: dict[str, _Injection] = {}
        self._current_action = ""
        self._server: websockets.Server | None = None
        self._endpoints: dict[str, _CsmsEndpoint] = {}

    @property
    def url(self) -> str:
        return f"{'wss' if self.ssl_context else 'ws'}://{self.host}:{self.port}"

    async def __aenter__(self) -> LocalCsms:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        check = None
        if self.basic_auth is not None:
            check = basic_auth(realm="ocpp", credentials=list(self.basic_auth.items()))
        self._server = await websockets.serve(self._handler, self.host, self.port, subprotocols=[SUBPROTOCOL],
                                              ssl=self.ssl_context, process_request=check)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def call(self, station_id: str, payload: object) -> object:
        """A CSMS-initiated call (e.g. `call.GetTransactionStatus`) to a connected station."""
        return await self._endpoints[station_id].call(payload, suppress=False)

    def fail_next(self, action: str, count: int = 1) -> None:
        self._injections.setdefault(action, _Injection()).failures += count

    def delay_next(self, action: str, count: int, seconds: float) -> None:
        injection = self._injections.setdefault(action, _Injection())
        injection.delays, injection.delay_s = injection.delays + count, seconds

    def events(self, transaction_id: str) -> list[dict]:
        """The deduplicated events of one transaction, by seqNo."""
        return [event for _, event in sorted(self.record.transactions.get(transaction_id, {}).items())]

    async def _handler(self, websocket: websockets.ServerConnection) -> None:
        if websocket.subprotocol != SUBPROTOCOL:
            await websocket.close(1002, "ocpp2.0.1 required")
            return
        peer = websocket.transport.get_extra_info("peercert") if self.ssl_context else None
        if peer:
            self.record.client_certificates.append(
                ",".join(f"{k}={v}" for rdn in peer.get("subject", ()) for k, v in rdn))
        station_id = websocket.request.path.strip("/").split("/")[-1]
        endpoint = self._endpoints[station_id] = _CsmsEndpoint(station_id, websocket, self)
        try:
            await endpoint.start()
        except websockets.exceptions.ConnectionClosed:
            pass
        finally:
            if self._endpoints.get(station_id) is endpoint:
                del self._endpoints[station_id]
