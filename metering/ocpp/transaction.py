"""TransactionEvent payloads for one transaction (pure), and the handle the session code holds.

Started carries the signed begin value (Transaction.Begin), or, for a transaction opened before the metering
session began (TxStartPoint EVConnected / Authorized), none: the begin value follows in an Updated with
triggerReason SignedDataReceived (OCA note §4). Updated carries periodic (Sample.Periodic) or clock-aligned
(Sample.Clock) values; Ended carries the signed begin and end values (Transaction.Begin, Transaction.End), as
the OCA signed-meter-values note asks when start and stop are separate records.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from metering.ocpp import messages
from metering.ocpp.messages import SignedMeterReading

if TYPE_CHECKING:
    from metering.ocpp.client import OcppClient

# Supervision fault codes (supervision.events) → (triggerReason, stoppedReason) for the Ended event.
FAULT_STOP_REASONS = {
    "CP_STATE_E": ("AbnormalCondition", "EmergencyStop"),
    "CP_STATE_F": ("AbnormalCondition", "EmergencyStop"),
    "CP_UNPLUGGED": ("EVDeparted", "EVDisconnected"),
    "CP_PWM_LOST": ("AbnormalCondition", "Other"),
    "CP_OUT_OF_RANGE": ("AbnormalCondition", "Other"),
    "CP_BOARD_SILENT": ("AbnormalCondition", "Other"),
    "PLC_LINK_LOST": ("EVCommunicationLost", "Other"),
}


def reading_dict(reading: SignedMeterReading, public_key_der: bytes) -> dict:
    return {"wall": reading.wall, "import_wh": reading.import_wh, "export_wh": reading.export_wh,
            "ocmf": reading.ocmf, "public_key_der": public_key_der.hex()}


def key_only(public_key_der: bytes) -> dict:
    """The stored begin of a transaction whose signed begin value is not taken yet."""
    return {"public_key_der": public_key_der.hex()}


class _StoredReading:
    def __init__(self, stored: dict) -> None:
        self.wall, self.import_wh, self.export_wh, self.ocmf = (
            stored["wall"], stored["import_wh"], stored["export_wh"], stored["ocmf"])


class Transaction:
    """A transaction's TransactionEvents; each method returns once the event is durably queued (not delivered)."""

    def __init__(self, client: OcppClient, transaction_id: str, evse_id: int, connector_id: int, begin: dict) -> None:
        self._client = client
        self.transaction_id = transaction_id
        self.evse_id = evse_id
        self.connector_id = connector_id
        self._begin = begin
        self._public_key_der = bytes.fromhex(begin["public_key_der"])

    async def _public_key(self) -> str:
        policy = self._client.config.public_key_with_signed_meter_value
        if policy == "Never":
            return ""
        if policy == "OncePerTransaction":
            queue = self._client.queue

            def first_time() -> bool:
                record = queue.transaction(self.transaction_id)
                if record is not None and record.public_key_sent:
                    return False
                queue.public_key_sent(self.transaction_id)
                return True

            if not await self._client.queue_io(first_time):
                return ""
        return messages.oca_public_key(self._public_key_der)

    def _info(self, charging_state: str | None, stopped_reason: str | None = None) -> dict:
        info: dict = {"transaction_id": self.transaction_id}
        if charging_state:
            info["charging_state"] = charging_state
        if stopped_reason and stopped_reason != "Local":  # Local is the default and is left out (§E)
            info["stopped_reason"] = stopped_reason
        return info

    @property
    def has_begin(self) -> bool:
        return "ocmf" in self._begin

    async def started_payload(self, trigger_reason: str, id_token: dict | None, charging_state: str | None,
                              wall: float) -> dict:
        payload = {"event_type": "Started", "timestamp": messages.timestamp(wall),
                   "trigger_reason": trigger_reason, "transaction_info": self._info(charging_state),
                   "evse": {"id": self.evse_id, "connector_id": self.connector_id}}
        if self.has_begin:
            begin = _StoredReading(self._begin)
            payload["timestamp"] = messages.timestamp(begin.wall)
            payload["meter_value"] = [messages.meter_value(begin, "Transaction.Begin", await self._public_key())]
        if id_token is not None:
            payload["id_token"] = id_token
        return payload

    async def update(self, reading: SignedMeterReading, trigger_reason: str = "MeterValuePeriodic",
                     context: str = "Sample.Periodic", charging_state: str | None = None) -> int:
        """Queue an Updated event; returns its seqNo."""
        payload = {"event_type": "Updated", "timestamp": messages.timestamp(reading.wall),
                   "trigger_reason": trigger_reason, "transaction_info": self._info(charging_state),
                   "meter_value": [messages.meter_value(reading, context, await self._public_key())]}
        return await self._client._enqueue_transaction_event(self.transaction_id, payload)

    async def authorized(self, id_token: dict, wall: float) -> int:
        """Updated with the idToken, for a transaction started before authorization (§E 1.5)."""
        payload = {"event_type": "Updated", "timestamp": messages.timestamp(wall), "trigger_reason": "Authorized",
                   "transaction_info": self._info(None), "id_token": id_token}
        return await self._client._enqueue_transaction_event(self.transaction_id, payload)

    async def signed_begin(self, reading: SignedMeterReading) -> int:
        """The signed begin value of a transaction opened before the metering session began: an Updated with
        triggerReason SignedDataReceived and context Transaction.Begin; Ended carries it again."""
        await self._store_begin(reading)
        return await self.update(reading, "SignedDataReceived", "Transaction.Begin")

    async def _store_begin(self, reading: SignedMeterReading) -> None:
        self._begin = reading_dict(reading, self._public_key_der)
        await self._client.queue_io(self._client.queue.set_begin, self.transaction_id, self._begin)

    async def aligned(self, reading: SignedMeterReading) -> int:
        """Clock-aligned value (every AlignedDataCtrlr.Interval from midnight) during the transaction."""
        return await self.update(reading, "MeterValueClock", "Sample.Clock")

    async def end(self, reading: SignedMeterReading, stopped_reason: str = "Local",
                  trigger_reason: str = "StopAuthorized", id_token: dict | None = None,
                  begin: SignedMeterReading | None = None) -> int:
        """Queue Ended with the signed begin and end values; the transaction is closed for good. `begin`: the
        metering session's signed begin, for a transaction that has none yet (a session that ended early)."""
        if not self.has_begin and begin is not None:
            await self._store_begin(begin)
        key = await self._public_key()
        values = [messages.meter_value(reading, "Transaction.End", key)]
        if self.has_begin:
            values.insert(0, messages.meter_value(_StoredReading(self._begin), "Transaction.Begin", key))
        payload = {"event_type": "Ended", "timestamp": messages.timestamp(reading.wall),
                   "trigger_reason": trigger_reason, "transaction_info": self._info("Idle", stopped_reason),
                   "meter_value": values}
        if id_token is not None:
            payload["id_token"] = id_token
        seq_no = await self._client._enqueue_transaction_event(self.transaction_id, payload)
        await self._client.queue_io(self._client.queue.end_transaction, self.transaction_id)
        return seq_no

    async def end_for_fault(self, reading: SignedMeterReading, fault_code: str) -> int:
        """Ended for a supervision fault (the SECC's on_fault → seal → this)."""
        trigger, reason = FAULT_STOP_REASONS.get(fault_code, ("AbnormalCondition", "Other"))
        return await self.end(reading, stopped_reason=reason, trigger_reason=trigger)
