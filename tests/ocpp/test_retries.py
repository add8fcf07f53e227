"""E13 retries: CALLERROR or no answer in time → resend with a new message id, after interval × sends so far;
discard after MessageAttemptsTransactionEvent failed sends; the CSMS dedupes by (transactionId, seqNo)."""
import asyncio

import pytest
from ocpp.v201 import call

from metering import Journal
from metering.ocpp import LocalCsms, OcppClient, OcppConfig, OfflineQueue
from tests.ocpp.conftest import fast_config

pytestmark = pytest.mark.faults


def test_retry_schedule_matches_the_spec_example_then_discards(journal_path):
    # OCPP 2.0.1 E13 example: attempts 3, interval 60 s → wait 60, resend, wait 120, resend, discard.
    journal = Journal(journal_path)
    queue = OfflineQueue(journal, OcppConfig(message_attempts_transaction_event=3,
                                             message_attempt_interval_transaction_event=60.0))
    queue.enqueue_transaction_event("T-1", {"event_type": "Started"}, offline=False)
    queue.enqueue_transaction_event("T-1", {"event_type": "Updated"}, offline=False)
    first = queue.head()
    assert queue.failed(first, now=1000.0) == 1060.0
    assert queue.failed(queue.head(), now=1060.0) == 1180.0
    assert queue.failed(queue.head(), now=1180.0) is None
    assert queue.outcome(first.outbox_seq) == "discarded"
    assert queue.head().payload == {"event_type": "Updated", "seq_no": 1}
    queue.close()
    journal.close()


async def test_callerrors_are_retried_with_fresh_message_ids_until_accepted(journal_path, meter):
    async with LocalCsms() as csms:
        async with OcppClient(fast_config(csms.url, journal_path, message_attempts_transaction_event=3)) as client:
            await client.wait_online(5)
            csms.fail_next("TransactionEvent", 2)
            tx = await client.start_transaction(meter.at(0, "B"), meter.public_key_der())
            await tx.update(meter.at(60))
            await client.wait_idle(5)
    attempts = [message_id for _, action, message_id in csms.record.calls if action == "TransactionEvent"]
    assert len(attempts) == 4 and len(set(attempts)) == 4
    assert csms.record.call_errors == [("TransactionEvent", "InternalError")] * 2
    assert [e["seqNo"] for e in csms.events(tx.transaction_id)] == [0, 1]


async def test_a_message_failing_every_attempt_is_discarded_and_the_queue_moves_on(journal_path, meter):
    async with LocalCsms() as csms:
        async with OcppClient(fast_config(csms.url, journal_path, message_attempts_transaction_event=3)) as client:
            await client.wait_online(5)
            csms.fail_next("TransactionEvent", 3)
            tx = await client.start_transaction(meter.at(0, "B"), meter.public_key_der())
            await tx.update(meter.at(60))
            enqueued_at = asyncio.get_running_loop().time()
            await client.wait_idle(5)
            elapsed = asyncio.get_running_loop().time() - enqueued_at
    assert [e["seqNo"] for e in csms.events(tx.transaction_id)] == [1]
    assert len(csms.record.call_errors) == 3
    assert elapsed >= 0.05 + 0.10 - 0.01  # waited interval × 1, then × 2 before discarding


async def test_an_unanswered_call_times_out_is_resent_and_the_csms_dedupes_it(journal_path, meter):
    async with LocalCsms() as csms:
        # The CSMS answers one call at a time, so the resend (sent at ~1.05 s) is answered right after the late
        # answer (1.5 s): half a second of margin either way for a loaded box.
        async with OcppClient(fast_config(csms.url, journal_path, message_timeout=1.0)) as client:
            await client.wait_online(5)
            csms.delay_next("TransactionEvent", 1, 1.5)
            tx = await client.start_transaction(meter.at(0, "B"), meter.public_key_der())
            await client.wait_idle(5)
    assert [e["seqNo"] for e in csms.record.transaction_events] == [0, 0]
    assert csms.record.duplicates == [(tx.transaction_id, 0)]
    assert len(csms.events(tx.transaction_id)) == 1


async def test_get_transaction_status_reports_the_queue(journal_path, meter):
    async with LocalCsms() as csms:
        async with OcppClient(fast_config(csms.url, journal_path)) as client:
            await client.wait_online(5)
            tx = await client.start_transaction(meter.at(0, "B"), meter.public_key_der())
            await client.wait_idle(5)
            status = await csms.call("CS001", call.GetTransactionStatus(transaction_id=tx.transaction_id))
            assert (status.messages_in_queue, status.ongoing_indicator) == (False, True)
            await tx.end(meter.at(100, "E"))
            await client.wait_idle(5)
            status = await csms.call("CS001", call.GetTransactionStatus(transaction_id=tx.transaction_id))
            assert (status.messages_in_queue, status.ongoing_indicator) == (False, False)
            unknown = await csms.call("CS001", call.GetTransactionStatus(transaction_id="nope"))
            assert (unknown.messages_in_queue, unknown.ongoing_indicator) == (False, False)


async def test_an_event_our_own_schema_check_refuses_is_discarded_without_stopping_the_queue(journal_path, meter):
    async with LocalCsms() as csms:
        async with OcppClient(fast_config(csms.url, journal_path, message_attempts_transaction_event=2)) as client:
            await client.wait_online(5)
            too_long = {"id_token": "X" * 37, "type": "ISO14443"}  # IdTokenType.idToken maxLength 36
            tx = await client.start_transaction(meter.at(0, "B"), meter.public_key_der(), id_token=too_long)
            await tx.end(meter.at(60, "E"))
            await client.wait_idle(5)
    assert [e["eventType"] for e in csms.events(tx.transaction_id)] == ["Ended"]
    assert csms.record.call_errors == []  # it never left the station
