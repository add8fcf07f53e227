"""The offline queue's durable writes (an fsync each) run off the event loop, and still in order: while one
station's journal write hangs, the loop keeps serving the other stations, and nothing of the hung station is
sent before its record is durable. Causality only (what happened while the write was held), no wall-clock
thresholds."""
import asyncio
import sqlite3
import threading

from metering import Journal
from metering.ocpp import LocalCsms, OcppClient
from tests.ocpp.conftest import fast_config

HOLD_LIMIT_S = 20.0  # only keeps a broken build from hanging: the test releases the write itself


class HeldWrites:
    """Wraps one journal method so that its calls block in the calling thread until `release()`."""

    def __init__(self, journal: Journal, name: str) -> None:
        self.entered = threading.Event()
        self._release = threading.Event()
        self.held_on_main_thread = False
        original = getattr(journal, name)

        def held(*args, **kwargs):
            self.held_on_main_thread = threading.current_thread() is threading.main_thread()
            self.entered.set()
            self._release.wait(HOLD_LIMIT_S)
            return original(*args, **kwargs)

        setattr(journal, name, held)

    async def wait_entered(self) -> None:
        assert await asyncio.to_thread(self.entered.wait, HOLD_LIMIT_S), "the write was never made"

    def release(self) -> None:
        self._release.set()


def durable_seq_nos(journal_path: str, transaction_id: str) -> list[int]:
    """What another connection sees committed in the journal's outbox for one transaction."""
    with sqlite3.connect(journal_path) as db:
        rows = db.execute("SELECT channel_seq FROM outbox WHERE channel LIKE ? ORDER BY seq",
                          (f"%/tx/{transaction_id}",)).fetchall()
    return [seq for (seq,) in rows]


async def test_a_hung_enqueue_blocks_neither_the_loop_nor_other_stations_and_nothing_is_sent_early(tmp_path, meter):
    path_a, path_b = str(tmp_path / "a.sqlite"), str(tmp_path / "b.sqlite")
    sent_before_durable: list[tuple[str, int]] = []

    def on_call(station: str, action: str, payload: dict) -> None:
        if station == "CS-A" and action == "TransactionEvent":
            tid = payload["transactionInfo"]["transactionId"]
            if payload["seqNo"] not in durable_seq_nos(path_a, tid):
                sent_before_durable.append((tid, payload["seqNo"]))

    journal_a = Journal(path_a)
    held = HeldWrites(journal_a, "enqueue")
    async with LocalCsms(on_call=on_call) as csms:
        async with OcppClient(fast_config(csms.url, path_a, station_id="CS-A"), journal_a) as a, \
                OcppClient(fast_config(csms.url, path_b, station_id="CS-B")) as b:
            await a.wait_online(5)
            await b.wait_online(5)
            start_a = asyncio.create_task(a.start_transaction(meter.at(0, "B"), meter.public_key_der()))
            await held.wait_entered()
            # Held: the loop still runs station B's whole transaction to the CSMS.
            tx_b = await b.start_transaction(meter.at(0, "B"), meter.public_key_der())
            await tx_b.end(meter.at(60, "E"))
            await b.wait_idle(5)
            assert [e["eventType"] for e in csms.events(tx_b.transaction_id)] == ["Started", "Ended"]
            assert not start_a.done()
            assert not any(station == "CS-A" and action == "TransactionEvent"
                           for station, action, _ in csms.record.calls), "sent before it was durable"
            held.release()
            tx_a = await start_a
            for minutes in (5, 10):
                await tx_a.update(meter.at(60 * minutes))
            await tx_a.end(meter.at(900, "E"))
            await a.wait_idle(5)
    assert not held.held_on_main_thread
    assert [e["seqNo"] for e in csms.events(tx_a.transaction_id)] == [0, 1, 2, 3]
    assert [e["eventType"] for e in csms.events(tx_a.transaction_id)] == ["Started", "Updated", "Updated", "Ended"]
    assert sent_before_durable == []
    assert csms.record.duplicates == []


async def test_a_hung_acknowledgement_keeps_the_next_event_queued_while_the_loop_serves_others(tmp_path, meter):
    path_a, path_b = str(tmp_path / "a.sqlite"), str(tmp_path / "b.sqlite")
    journal_a = Journal(path_a)
    async with LocalCsms() as csms:
        async with OcppClient(fast_config(csms.url, path_a, station_id="CS-A"), journal_a) as a, \
                OcppClient(fast_config(csms.url, path_b, station_id="CS-B")) as b:
            await a.wait_online(5)
            await b.wait_online(5)
            held = HeldWrites(journal_a, "ack")
            tx_a = await a.start_transaction(meter.at(0, "B"), meter.public_key_der())
            await tx_a.update(meter.at(300))  # queued behind Started
            await held.wait_entered()  # Started answered; its acknowledgement is being written
            tx_b = await b.start_transaction(meter.at(0, "B"), meter.public_key_der())
            await b.wait_idle(5)
            assert [e["eventType"] for e in csms.events(tx_b.transaction_id)] == ["Started"]
            # One in flight: Updated waits until Started's acknowledgement is durable.
            assert [e["seqNo"] for e in csms.events(tx_a.transaction_id)] == [0]
            held.release()
            await a.wait_idle(5)
    assert not held.held_on_main_thread
    assert [e["seqNo"] for e in csms.record.transaction_events
            if e["transactionInfo"]["transactionId"] == tx_a.transaction_id] == [0, 1]
