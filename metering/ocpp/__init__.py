"""OCPP 2.0.1 station client with a persistent offline queue, and a local CSMS (tests, demo).

    meter = metering.Meter(...)                  # its journal holds the queue too (same SQLite file)
    async with OcppClient(OcppConfig.from_file("ocpp.toml"), meter.journal, connectors=[(1, 1)]) as client:
        await client.status_notification(1, 1, "Occupied")
        auth = await client.authorize(id_token("04A1B2C3"))                 # EIM (ISO14443 UID)
        auth = await client.authorize(id_token(emaid, "eMAID"),             # Plug & Charge
                                      certificate_hash_data=[certificate_hash_data(contract_cert, sub_ca)])
        begin = meter.begin_session(sid, user=...)                          # a metering.SignedReading
        tx = await client.start_transaction(begin, meter.public_key_der(), evse_id=1, connector_id=1,
                                            id_token=id_token("04A1B2C3"))  # Started, seqNo 0
        sampler = asyncio.create_task(client.sample_aligned(tx, lambda: meter.reading(sid)))
                                       # Updated (Sample.Clock) every aligned_data_interval s from midnight
        await tx.update(meter.reading(sid))                                 # Updated (Sample.Periodic)
        sampler.cancel()
        await tx.end(meter.seal_session(sid, "normal"))                     # Ended: signed begin + end
        # after a fault: tx.end_for_fault(seal, "CP_STATE_E"); after a restart: client.open_transactions()
        await client.wait_idle()

Every sampled value is an `Energy.Active.Import.Register` / `Energy.Active.Export.Register` pair in Wh, each
with the reading's OCMF record as signedMeterValue (encodingMethod "OCMF", publicKey `oca:base16:asn1:…`
per PublicKeyWithSignedMeterValue). Transaction methods return once the event is committed to the queue;
delivery is asynchronous, in order, one call in flight, with `offline=true` for events queued while
offline (or still queued when the connection dropped), retried/discarded per E13 (see `queue`).
CSMS requests answered: GetVariables, SetVariables, GetBaseReport (Configuration/FullInventory, then paged
NotifyReport) over the device model (`device_model`: the OcppConfig fields named as OCPP 2.0.1 variables;
values a CSMS sets are stored in the journal (`ocpp_variables`), survive a restart, win over the file, and take
effect at once: retries, heartbeat, aligned and periodic timers reschedule), GetTransactionStatus,
TriggerMessage (StatusNotification, Heartbeat), RequestStopTransaction (via `on_remote_stop`); others
(Reset, ChangeAvailability, ...) get NotImplemented.
Stations of one gateway may share the journal (the queue is scoped by station id) and one `ssl_context`.
`LocalCsms` (csms.py) is the reusable test/demo CSMS; `python -m metering.ocpp csms` runs it standalone.
Configuration: `OcppConfig` (OCPP variable names).
"""
from metering.ocpp.aligned import next_boundary, sample_aligned
from metering.ocpp.client import OcppClient, client_ssl_context
from metering.ocpp.config import OcppConfig
from metering.ocpp.csms import CsmsRecord, LocalCsms, SignedValue, decode_public_key
from metering.ocpp.errors import OcppCallFailed, OcppConfigInvalid, OcppError, OcppOffline, TransactionClosed
from metering.ocpp.messages import certificate_hash_data, id_token, oca_public_key
from metering.ocpp.queue import OfflineQueue, QueuedMessage
from metering.ocpp.transaction import FAULT_STOP_REASONS, Transaction

__all__ = [
    "CsmsRecord", "FAULT_STOP_REASONS", "LocalCsms", "OcppCallFailed", "OcppClient", "OcppConfig", "OcppConfigInvalid",
    "OcppError", "OcppOffline", "OfflineQueue", "QueuedMessage", "SignedValue", "Transaction", "TransactionClosed",
    "certificate_hash_data", "client_ssl_context", "decode_public_key", "id_token", "next_boundary", "oca_public_key",
    "sample_aligned",
]
