"""Station-level rules: B01/B04 status reporting, QueueAllMessages, Authorize (EIM and Plug & Charge),
PublicKeyWithSignedMeterValue, fault-ended transactions, and readings straight from metering.Meter."""
import asyncio

import pytest
from pyocmf import OCMF

from metering import Meter, MeterConfig
from metering.ocpp import LocalCsms, OcppClient, OcppOffline, id_token
from tests.ocpp.conftest import fast_config
from tests.ocpp.test_messages_and_config import _cert
from tests.ocpp.test_outage import wait_offline


async def outage(csms, client, during):
    await csms.stop()
    await wait_offline(client)
    await during()
    await csms.start()
    await client.wait_online(5)
    await client.wait_idle(5)


def statuses(csms):
    return [(s["evse_id"], s["connector_status"]) for s in csms.record.statuses]


async def test_boot_reports_every_connector_then_a_short_outage_only_the_changed_one(journal_path):
    async with LocalCsms() as csms:
        config = fast_config(csms.url, journal_path, offline_threshold=3600)
        async with OcppClient(config, connectors=[(1, 1), (2, 1)]) as client:
            await client.wait_online(5)
            assert statuses(csms) == [(1, "Available"), (2, "Available")]
            await outage(csms, client, lambda: client.status_notification(2, 1, "Occupied"))
    assert statuses(csms)[2:] == [(2, "Occupied")]


async def test_an_outage_longer_than_offline_threshold_reports_every_connector(journal_path):
    async with LocalCsms() as csms:
        async with OcppClient(fast_config(csms.url, journal_path, offline_threshold=0),
                              connectors=[(1, 1), (2, 1)]) as client:
            await client.wait_online(5)
            await outage(csms, client, lambda: asyncio.sleep(0.05))
    assert statuses(csms)[2:] == [(1, "Available"), (2, "Available")]


async def test_queue_all_messages_keeps_offline_status_changes_in_order_with_transactions(journal_path, meter):
    async with LocalCsms() as csms:
        async with OcppClient(fast_config(csms.url, journal_path, queue_all_messages=True)) as client:
            await client.wait_online(5)

            async def during():
                await client.status_notification(1, 1, "Occupied")
                tx = await client.start_transaction(meter.at(0, "B"), meter.public_key_der())
                await client.status_notification(1, 1, "Available")
                await tx.end(meter.at(60, "E"))
            await outage(csms, client, during)
    order = [action for _, action, _ in csms.record.calls if action in ("StatusNotification", "TransactionEvent")]
    assert order[-4:] == ["StatusNotification", "TransactionEvent", "StatusNotification", "TransactionEvent"]
    assert [s["connector_status"] for s in csms.record.statuses][-2:] == ["Occupied", "Available"]


async def test_authorize_eim_and_plug_and_charge_with_certificate_hash_data(journal_path):
    from cryptography.hazmat.primitives.asymmetric import ec
    from metering.ocpp import certificate_hash_data
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _cert("MO Sub-CA 2", ca_key, ca_key, "MO Sub-CA 2", 7)
    contract = _cert("DEABCC123456789", ec.generate_private_key(ec.SECP256R1()), ca_key, "MO Sub-CA 2", 99)
    async with LocalCsms() as csms:
        csms.blocked_tokens.add("DEADBEEF")
        async with OcppClient(fast_config(csms.url, journal_path)) as client:
            await client.wait_online(5)
            blocked = await client.authorize(id_token("DEADBEEF"))
            pnc = await client.authorize(id_token("DEABCC123456789", "eMAID"),
                                         certificate_hash_data=[certificate_hash_data(contract, ca, "http://ocsp.mo/")])
    assert blocked["id_token_info"]["status"] == "Blocked"
    assert pnc["id_token_info"]["status"] == "Accepted" and pnc["certificate_status"] == "Accepted"
    sent = csms.record.authorizations[1]
    assert sent["id_token"] == {"id_token": "DEABCC123456789", "type": "eMAID"}
    assert sent["iso15118_certificate_hash_data"][0]["serial_number"] == "63"


async def test_authorize_while_offline_raises_a_typed_error(journal_path):
    async with LocalCsms() as csms:
        await csms.stop()
        async with OcppClient(fast_config(csms.url, journal_path)) as client:
            with pytest.raises(OcppOffline) as info:
                await client.authorize(id_token("04A1B2C3"))
    assert info.value.code == "OCPP_OFFLINE"


@pytest.mark.parametrize("policy,keys_sent", [("Never", 0), ("OncePerTransaction", 2), ("EveryMeterValue", 6)])
async def test_public_key_with_signed_meter_value_policy(journal_path, meter, policy, keys_sent):
    async with LocalCsms() as csms:
        async with OcppClient(fast_config(csms.url, journal_path, public_key_with_signed_meter_value=policy)) as client:
            await client.wait_online(5)
            tx = await client.start_transaction(meter.at(0, "B"), meter.public_key_der())
            await tx.end(meter.at(60, "E"))
            await client.wait_idle(5)
    assert sum(v.public_key_der is not None for v in csms.record.signed_values) == keys_sent


async def test_a_supervision_fault_ends_the_transaction_with_the_mapped_reason(journal_path, meter):
    async with LocalCsms() as csms:
        async with OcppClient(fast_config(csms.url, journal_path)) as client:
            await client.wait_online(5)
            tx = await client.start_transaction(meter.at(0, "B"), meter.public_key_der())
            await tx.end_for_fault(meter.at(30, "A"), "CP_UNPLUGGED")
            await client.wait_idle(5)
    ended = csms.events(tx.transaction_id)[-1]
    assert (ended["triggerReason"], ended["transactionInfo"]["stoppedReason"]) == ("EVDeparted", "EVDisconnected")


@pytest.mark.interop
async def test_readings_from_metering_meter_go_through_unchanged(tmp_path):
    meter = Meter(MeterConfig(journal_path=str(tmp_path / "j.sqlite"), key_path=str(tmp_path / "k.pem")))
    try:
        async with LocalCsms() as csms:
            async with OcppClient(fast_config(csms.url, meter.journal.path), meter.journal) as client:
                await client.wait_online(5)
                tx = await client.start_transaction(meter.begin_session("s1"), meter.public_key_der())
                await tx.update(meter.reading("s1"))
                await tx.end(meter.seal_session("s1", "normal"))
                await client.wait_idle(5)
    finally:
        meter.close()
    values = csms.record.signed_values
    assert len(values) == 8 and csms.record.call_errors == []
    assert all(OCMF.from_string(v.ocmf).verify_signature(meter.public_key_der().hex()) for v in values)


async def test_every_message_type_the_station_sends_passes_the_strict_csms(journal_path, meter):
    from cryptography.hazmat.primitives.asymmetric import ec
    from metering.ocpp import certificate_hash_data
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _cert("MO Sub-CA 2", ca_key, ca_key, "MO Sub-CA 2", 7)
    contract = _cert("DEABCC123456789", ec.generate_private_key(ec.SECP256R1()), ca_key, "MO Sub-CA 2", 99)
    async with LocalCsms(heartbeat_interval=1) as csms:
        async with OcppClient(fast_config(csms.url, journal_path)) as client:
            await client.wait_online(5)
            await client.authorize(id_token("04A1B2C3"))
            await client.authorize(id_token("DEABCC123456789", "eMAID"),
                                   certificate_hash_data=[certificate_hash_data(contract, ca)])
            await client.status_notification(1, 1, "Occupied")
            tx = await client.start_transaction(meter.at(0, "B"), meter.public_key_der(), id_token=id_token("04A1B2C3"))
            await tx.update(meter.at(60))
            await tx.end(meter.at(120, "E"), stopped_reason="EVDisconnected", trigger_reason="EVDeparted")
            await client.meter_values(0, meter.at(130), meter.public_key_der())
            await client.wait_idle(5)
            async with asyncio.timeout(3):
                while csms.record.heartbeats == 0:
                    await asyncio.sleep(0.05)
    actions = {action for _, action, _ in csms.record.calls}
    assert actions == {"BootNotification", "StatusNotification", "Authorize", "TransactionEvent", "MeterValues",
                       "Heartbeat"}
    assert csms.record.call_errors == []


async def test_events_after_ended_are_refused(journal_path, meter):
    from metering.ocpp import TransactionClosed
    async with LocalCsms() as csms:
        await csms.stop()
        async with OcppClient(fast_config(csms.url, journal_path)) as client:
            tx = await client.start_transaction(meter.at(0, "B"), meter.public_key_der())
            await tx.end(meter.at(60, "E"))
            with pytest.raises(TransactionClosed) as info:
                await tx.update(meter.at(120))
            assert info.value.code == "ERR_OCPP_TX_CLOSED"
            assert client.queue.messages_in_queue(tx.transaction_id) == 2


async def test_trigger_message_sends_statuses_and_heartbeat_and_refuses_boot(journal_path):
    from ocpp.v201 import call
    async with LocalCsms() as csms:
        async with OcppClient(fast_config(csms.url, journal_path), connectors=[(1, 1), (2, 1)]) as client:
            await client.wait_online(5)
            answers = [(await csms.call("CS001", call.TriggerMessage(requested_message=m, evse=e))).status
                       for m, e in [("StatusNotification", {"id": 2}), ("Heartbeat", None),
                                    ("BootNotification", None), ("MeterValues", None)]]
            async with asyncio.timeout(5):
                while len(csms.record.statuses) < 3 or csms.record.heartbeats < 1:
                    await asyncio.sleep(0.01)
    assert answers == ["Accepted", "Accepted", "Rejected", "NotImplemented"]
    assert statuses(csms)[2:] == [(2, "Available")]


async def test_request_stop_transaction_asks_the_application(journal_path, meter):
    from ocpp.v201 import call
    asked = []
    async with LocalCsms() as csms:
        config = fast_config(csms.url, journal_path)
        async with OcppClient(config, on_remote_stop=lambda tid: asked.append(tid) or True) as client:
            await client.wait_online(5)
            tx = await client.start_transaction(meter.at(0, "B"), meter.public_key_der())
            stop = await csms.call("CS001", call.RequestStopTransaction(transaction_id=tx.transaction_id))
            unknown = await csms.call("CS001", call.RequestStopTransaction(transaction_id="not-ours"))
            await tx.end(meter.at(30, "E"), stopped_reason="Remote", trigger_reason="RemoteStop")
            await client.wait_idle(5)
    assert (stop.status, unknown.status, asked) == ("Accepted", "Rejected", [tx.transaction_id])
    assert csms.events(tx.transaction_id)[-1]["transactionInfo"]["stoppedReason"] == "Remote"
