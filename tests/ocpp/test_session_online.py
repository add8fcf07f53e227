"""A whole transaction against the local CSMS: schema-valid messages, signed values that verify in pyocmf."""
import asyncio
import base64
import json

import pytest
import websockets
from pyocmf import OCMF

from metering.ocpp import LocalCsms, OcppClient, id_token
from tests.ocpp.conftest import fast_config

IMPORT, EXPORT = "Energy.Active.Import.Register", "Energy.Active.Export.Register"


async def run_session(csms, journal_path, meter, updates=3):
    async with OcppClient(fast_config(csms.url, journal_path)) as client:
        await client.wait_online(5)
        auth = await client.authorize(id_token("04A1B2C3"))
        assert auth["id_token_info"]["status"] == "Accepted"
        tx = await client.start_transaction(meter.at(0, "B"), meter.public_key_der(), id_token=id_token("04A1B2C3"))
        for i in range(1, updates + 1):
            await tx.aligned(meter.at(300 * i))
        end = meter.at(300 * (updates + 1) + 17, "E")
        await tx.end(end)
        await client.wait_idle(5)
    return tx, end


async def test_session_events_arrive_in_order_with_signed_import_and_export_values(journal_path, meter):
    async with LocalCsms() as csms:
        tx, end = await run_session(csms, journal_path, meter)
    events = csms.events(tx.transaction_id)
    assert [(e["eventType"], e["seqNo"]) for e in events] == [("Started", 0), ("Updated", 1), ("Updated", 2),
                                                                ("Updated", 3), ("Ended", 4)]
    assert csms.record.call_errors == [] and csms.record.duplicates == []
    assert events[0]["evse"] == {"id": 1, "connectorId": 1} and events[0]["idToken"]["idToken"] == "04A1B2C3"
    for event in events[1:4]:
        assert event["triggerReason"] == "MeterValueClock"
        assert {sv["context"] for sv in event["meterValue"][0]["sampledValue"]} == {"Sample.Clock"}
    # Ended carries the signed begin and end values (OCA note §4), each as an import/export pair.
    ended = events[-1]
    contexts = [(mv["sampledValue"][0]["context"], [sv["measurand"] for sv in mv["sampledValue"]])
                for mv in ended["meterValue"]]
    assert contexts == [("Transaction.Begin", [IMPORT, EXPORT]), ("Transaction.End", [IMPORT, EXPORT])]
    assert ended["meterValue"][1]["sampledValue"][0]["value"] == end.import_wh
    assert ended["timestamp"].startswith("2026-01-01T00:20:17.000")


@pytest.mark.interop
async def test_every_signed_value_verifies_in_pyocmf_with_the_oca_key(journal_path, meter):
    async with LocalCsms() as csms:
        await run_session(csms, journal_path, meter)
    values = csms.record.signed_values
    assert len(values) == 2 * (1 + 3 + 2)
    expected_key = meter.public_key_der()
    for value in values:
        assert value.public_key_der == expected_key
        assert OCMF.from_string(value.ocmf).verify_signature(expected_key.hex())
    begin_end = [v.ocmf for v in values if v.context.startswith("Transaction.") and v.seq_no == 4]
    assert "\"TX\":\"B\"" in begin_end[0] and "\"TX\":\"E\"" in begin_end[-1]


async def test_signed_meter_value_fields_follow_the_oca_note(journal_path, meter):
    async with LocalCsms() as csms:
        tx, _ = await run_session(csms, journal_path, meter, updates=0)
    signed = csms.events(tx.transaction_id)[0]["meterValue"][0]["sampledValue"][0]["signedMeterValue"]
    assert signed["encodingMethod"] == "OCMF" and signed["signingMethod"] == ""
    assert base64.b64decode(signed["signedMeterData"]).decode().startswith("OCMF|{")
    key_text = base64.b64decode(signed["publicKey"]).decode()
    assert key_text == "oca:base16:asn1:" + meter.public_key_der().hex().upper()


async def test_message_ids_are_unique_and_boot_precedes_everything(journal_path, meter):
    async with LocalCsms() as csms:
        await run_session(csms, journal_path, meter)
    calls = csms.record.calls
    assert calls[0][1] == "BootNotification" and calls[1][1] == "StatusNotification"
    ids = [message_id for _, _, message_id in calls]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("mutation,code", [
    # Codes as the `ocpp` package maps jsonschema failures (facts metering.md §3).
    (lambda te: te.pop("seqNo"), "ProtocolError"),
    (lambda te: te.update(unexpected=True), "FormatViolation"),
    (lambda te: te.update(seqNo="seven"), "TypeConstraintViolation"),
    (lambda te: te["meterValue"][0]["sampledValue"][0]["signedMeterValue"].update(signedMeterData="A" * 2501),
     "TypeConstraintViolation"),
])
async def test_the_csms_rejects_schema_violations_with_callerror(mutation, code):
    event = {"eventType": "Started", "timestamp": "2026-01-01T00:00:00.000Z", "triggerReason": "Authorized",
             "seqNo": 0, "transactionInfo": {"transactionId": "T-1"},
             "meterValue": [{"timestamp": "2026-01-01T00:00:00.000Z", "sampledValue": [
                 {"value": 1.0, "signedMeterValue": {"signedMeterData": "AA==", "signingMethod": "",
                                                     "encodingMethod": "OCMF", "publicKey": ""}}]}]}
    mutation(event)
    async with LocalCsms() as csms:
        async with websockets.connect(f"{csms.url}/RAW", subprotocols=["ocpp2.0.1"]) as ws:
            await ws.send(json.dumps([2, "m1", "TransactionEvent", event]))
            reply = json.loads(await asyncio.wait_for(ws.recv(), 5))
    assert reply[0] == 4 and reply[1] == "m1"
    assert reply[2] == code, reply
    assert csms.record.transaction_events == []
