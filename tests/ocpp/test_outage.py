"""CSMS outage in the middle of a session (simulated meter time, an aligned value every 300 s), with and
without a charger restart during the outage: every TransactionEvent arrives once, in order, with its seqNo
and the offline flag set exactly for the events generated while the CSMS was unreachable."""
import asyncio

import pytest

from metering import Journal
from metering.ocpp import LocalCsms, OcppClient, id_token
from tests.ocpp.conftest import fast_config

pytestmark = pytest.mark.faults


async def wait_offline(client, timeout=5.0):
    async with asyncio.timeout(timeout):
        while client.online:
            await asyncio.sleep(0.01)


def assert_once_in_order(csms, transaction_id, offline_seq_nos, count):
    received = [e for e in csms.record.transaction_events if e["transactionInfo"]["transactionId"] == transaction_id]
    assert [e["seqNo"] for e in received] == list(range(count)), "each event once, in seqNo order"
    assert csms.record.duplicates == []
    assert [e["seqNo"] for e in received if e.get("offline", False)] == offline_seq_nos


async def test_an_hour_long_session_with_a_half_hour_outage_arrives_complete(journal_path, meter):
    async with LocalCsms() as csms:
        async with OcppClient(fast_config(csms.url, journal_path)) as client:
            await client.wait_online(5)
            tx = await client.start_transaction(meter.at(0, "B"), meter.public_key_der(), id_token=id_token("04A1B2C3"))
            for i in range(1, 4):  # 00:05–00:15 online
                await tx.aligned(meter.at(300 * i))
            await client.wait_idle(5)
            await csms.stop()
            await wait_offline(client)
            for i in range(4, 10):  # 00:20–00:45 offline
                await tx.aligned(meter.at(300 * i))
            assert client.queue.messages_in_queue(tx.transaction_id) == 6
            await csms.start()
            await client.wait_online(5)
            for i in range(10, 13):  # 00:50–01:00 online again
                await tx.aligned(meter.at(300 * i))
            await tx.end(meter.at(3600 + 5, "E"))
            await client.wait_idle(5)
    assert_once_in_order(csms, tx.transaction_id, offline_seq_nos=list(range(4, 10)), count=14)
    timestamps = [e["timestamp"] for e in csms.events(tx.transaction_id)]
    assert timestamps == sorted(timestamps)


async def test_a_charger_restart_during_the_outage_loses_nothing(journal_path, meter):
    async with LocalCsms() as csms:
        config = fast_config(csms.url, journal_path)
        async with OcppClient(config) as client:
            await client.wait_online(5)
            tx = await client.start_transaction(meter.at(0, "B"), meter.public_key_der())
            await tx.aligned(meter.at(300))
            await client.wait_idle(5)
            transaction_id = tx.transaction_id
            await csms.stop()
            await wait_offline(client)
            for i in range(2, 6):
                await tx.aligned(meter.at(300 * i))
        # Process gone; the station boots again while the CSMS is still down.
        async with OcppClient(config) as client:
            assert client.queue.messages_in_queue(transaction_id) == 4
            [resumed] = client.open_transactions()
            assert resumed.transaction_id == transaction_id
            await resumed.end(meter.at(1805, "P"), stopped_reason="PowerLoss", trigger_reason="AbnormalCondition")
            assert client.open_transactions() == []
            await csms.start()
            await client.wait_idle(5)
    assert_once_in_order(csms, transaction_id, offline_seq_nos=[2, 3, 4, 5, 6], count=7)
    ended = csms.events(transaction_id)[-1]
    assert ended["transactionInfo"]["stoppedReason"] == "PowerLoss"
    begin_value = ended["meterValue"][0]["sampledValue"][0]
    assert begin_value["context"] == "Transaction.Begin" and begin_value["value"] == 0.0
    assert csms.record.boots == 2


async def test_the_queue_lives_in_the_metering_journal_file(journal_path, meter):
    journal = Journal(journal_path)
    async with LocalCsms() as csms:
        await csms.stop()
        async with OcppClient(fast_config(csms.url, journal_path), journal) as client:
            tx = await client.start_transaction(meter.at(0, "B"), meter.public_key_der())
            pending = journal.pending()
            assert [m.channel for m in pending] == [f"ocpp/CS001/tx/{tx.transaction_id}"]
            assert pending[0].channel_seq == 0  # the outbox's per-channel counter is the seqNo
    journal.close()


async def test_an_event_in_flight_when_the_link_drops_is_resent_marked_offline(journal_path, meter):
    async with LocalCsms() as csms:
        async with OcppClient(fast_config(csms.url, journal_path)) as client:
            await client.wait_online(5)
            csms.delay_next("TransactionEvent", 1, 0.3)  # the CSMS stores it but the answer never gets out
            tx = await client.start_transaction(meter.at(0, "B"), meter.public_key_der())
            async with asyncio.timeout(5):  # the CSMS has the call and sits on it
                while not any(action == "TransactionEvent" for _, action, _ in csms.record.calls):
                    await asyncio.sleep(0.01)
            await csms.stop()
            await wait_offline(client)
            await csms.start()
            await client.wait_idle(5)
    received = [(e["seqNo"], e.get("offline", False)) for e in csms.record.transaction_events]
    assert received == [(0, False), (0, True)]  # E11.FR.07: still queued when going offline → offline
    assert csms.record.duplicates == [(tx.transaction_id, 0)] and len(csms.events(tx.transaction_id)) == 1


async def test_aligned_sampler_queues_one_value_per_five_minutes_for_an_hour(journal_path, meter):
    from metering.ocpp import sample_aligned
    from tests.ocpp.conftest import START
    now = [START + 42.0]  # the session starts 42 s past midnight
    hour_over = asyncio.Event()

    async def simulated_sleep(seconds):
        if now[0] + seconds > START + 3600:
            hour_over.set()
            await asyncio.Event().wait()  # the transaction ends before this boundary
        now[0] += seconds
        await asyncio.sleep(0)

    async with LocalCsms() as csms:
        async with OcppClient(fast_config(csms.url, journal_path)) as client:
            await client.wait_online(5)
            tx = await client.start_transaction(meter.at(42, "B"), meter.public_key_der())
            sampler = asyncio.create_task(sample_aligned(tx, lambda: meter.at(now[0] - START), 300,
                                                         clock=lambda: now[0], sleep=simulated_sleep))
            await asyncio.wait_for(hour_over.wait(), 5)
            sampler.cancel()
            await tx.end(meter.at(3600, "E"))
            await client.wait_idle(5)
    updates = [e for e in csms.events(tx.transaction_id) if e["eventType"] == "Updated"]
    assert [e["timestamp"][11:19] for e in updates] == [f"00:{m:02d}:00" for m in range(5, 60, 5)] + ["01:00:00"]
    assert all(e["triggerReason"] == "MeterValueClock" for e in updates)


async def test_stations_sharing_one_journal_each_replay_only_their_own_events(journal_path, meter):
    import dataclasses
    journal = Journal(journal_path)
    async with LocalCsms() as csms:
        await csms.stop()
        base = fast_config(csms.url, journal_path)
        async with OcppClient(base, journal) as one, \
                OcppClient(dataclasses.replace(base, station_id="CS002"), journal) as two:
            tx_one = await one.start_transaction(meter.at(0, "B"), meter.public_key_der(), evse_id=1)
            tx_two = await two.start_transaction(meter.at(5, "B"), meter.public_key_der(), evse_id=1)
            await tx_one.end(meter.at(60, "E"))
            await tx_two.end(meter.at(65, "E"))
            assert one.queue.messages_in_queue() == 2 and two.queue.messages_in_queue() == 2
            await csms.start()
            await one.wait_idle(5)
            await two.wait_idle(5)
    journal.close()
    by_station = {}
    for station, action, _ in csms.record.calls:
        by_station.setdefault(station, []).append(action)
    assert by_station["CS001"].count("TransactionEvent") == 2 and by_station["CS002"].count("TransactionEvent") == 2
    assert [e["seqNo"] for e in csms.events(tx_one.transaction_id)] == [0, 1]
    assert [e["seqNo"] for e in csms.events(tx_two.transaction_id)] == [0, 1]
    assert csms.record.duplicates == []


async def test_a_message_whose_delivery_row_was_lost_in_a_crash_is_still_sent_marked_offline(journal_path, meter):
    async with LocalCsms() as csms:
        config = fast_config(csms.url, journal_path)
        await csms.stop()
        async with OcppClient(config) as client:
            tx = await client.start_transaction(meter.at(0, "B"), meter.public_key_der())
            started = client.queue.head()
        # The process dies after the outbox commit of the next event, before its delivery row.
        updated = {k: v for k, v in started.payload.items() if k not in ("seq_no", "offline", "evse")}
        updated.update(event_type="Updated", trigger_reason="MeterValuePeriodic")
        journal = Journal(journal_path)
        journal.enqueue(f"ocpp/CS001/tx/{tx.transaction_id}",
                        {"action": "TransactionEvent", "transaction_id": tx.transaction_id, "payload": updated})
        journal.close()
        await csms.start()
        async with OcppClient(config) as client:
            await client.wait_idle(5)
    assert [(e["seqNo"], e["eventType"], e.get("offline")) for e in csms.record.transaction_events] == [
        (0, "Started", True), (1, "Updated", True)]


async def test_over_the_storage_budget_every_other_updated_is_dropped_never_started_or_ended(journal_path, meter):
    # Budget 6. Started + Updated 1..6 makes 7 → drop the 1st, 3rd, 5th Updated (1, 3, 5) → S 2 4 6.
    # Updated 7 8 9 makes 7 again → Updated are 2 4 6 7 8 9 → drop 2 6 8 → S 4 7 9; then 10 and Ended 11.
    expected = [0, 4, 7, 9, 10, 11]
    async with LocalCsms() as csms:
        await csms.stop()
        async with OcppClient(fast_config(csms.url, journal_path, max_queued_transaction_events=6)) as client:
            tx = await client.start_transaction(meter.at(0, "B"), meter.public_key_der())
            for i in range(1, 11):
                await tx.aligned(meter.at(300 * i))
            await tx.end(meter.at(3600, "E"))
            await csms.start()
            await client.wait_idle(5)
    assert [e["seqNo"] for e in csms.record.transaction_events] == expected
    assert [e["eventType"] for e in csms.record.transaction_events][::5] == ["Started", "Ended"]
