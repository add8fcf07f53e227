"""Journal: durability settings, checksums, exactly-once sealing, receipts, ordered outbox."""
import sqlite3

import pytest

from metering import DataCorrupt, Journal, SessionError


@pytest.fixture
def journal(tmp_path):
    j = Journal(str(tmp_path / "j.sqlite"))
    yield j
    j.close()


def test_journal_runs_in_wal_mode_with_full_synchronous_commits(journal):
    assert journal._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert journal._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_records_come_back_in_order_with_their_bodies(journal):
    for n in range(5):
        journal.append("reading", {"n": n})
    assert [r.body["n"] for r in journal.records(kind="reading")] == [0, 1, 2, 3, 4]
    assert [r.seq for r in journal.records()] == [1, 2, 3, 4, 5]


def test_a_record_changed_on_disk_raises_err_met_data_corrupt(journal, tmp_path):
    journal.append("reading", {"import_wh": 100})
    raw = sqlite3.connect(str(tmp_path / "j.sqlite"))
    raw.execute("UPDATE records SET body = '{\"import_wh\":1}' WHERE seq = 1")
    raw.commit()
    raw.close()
    with pytest.raises(DataCorrupt) as err:
        journal.records()
    assert err.value.code == "ERR_MET_DATA_CORRUPT"


def test_swapping_two_records_is_detected(journal, tmp_path):
    journal.append("reading", {"n": 1})
    journal.append("reading", {"n": 2})
    raw = sqlite3.connect(str(tmp_path / "j.sqlite"))
    raw.execute("UPDATE records SET seq = seq + 10")
    raw.execute("UPDATE records SET seq = 1 WHERE seq = 12")
    raw.execute("UPDATE records SET seq = 2 WHERE seq = 11")
    raw.commit()
    raw.close()
    with pytest.raises(DataCorrupt):
        journal.verify()


def test_session_is_sealed_exactly_once(journal):
    journal.begin_session("S1", lambda page: {"page": page})
    first, sealed = journal.seal_session("S1", lambda page: {"page": page, "final": True})
    again, sealed_again = journal.seal_session("S1", lambda page: {"page": page, "final": "twice"})
    assert sealed and not sealed_again
    assert again == first
    assert [r.kind for r in journal.records(session_id="S1")] == ["session_begin", "session_seal"]
    assert journal.open_sessions() == []


def test_pagination_counter_advances_by_one_per_record_and_survives_reopen(tmp_path):
    path = str(tmp_path / "j.sqlite")
    j = Journal(path)
    pages = [j.append("reading", {}, counter="T", build=lambda n: {"page": n}).body["page"] for _ in range(3)]
    j.close()
    j = Journal(path)
    pages.append(j.append("reading", {}, counter="T", build=lambda n: {"page": n}).body["page"])
    j.close()
    assert pages == [1, 2, 3, 4]


def test_beginning_an_existing_session_is_refused(journal):
    journal.begin_session("S1", lambda page: {})
    with pytest.raises(SessionError):
        journal.begin_session("S1", lambda page: {})


def test_receipts_keep_raw_exi_bytes_and_verification_result(journal):
    journal.begin_session("S1", lambda page: {})
    exi = bytes(range(256)) * 2
    journal.add_receipt("S1", exi, verified=False, detail="ERR_SIG_INVALID")
    (receipt,) = journal.receipts("S1")
    assert receipt.exi == exi and receipt.verified is False and receipt.detail == "ERR_SIG_INVALID"
    with pytest.raises(SessionError):
        journal.add_receipt("no-such-session", exi, verified=True)


def test_outbox_keeps_order_and_per_channel_sequence_across_reopen(tmp_path):
    path = str(tmp_path / "j.sqlite")
    j = Journal(path)
    for n in range(3):
        j.enqueue("evse-1", {"n": n})
    j.enqueue("evse-2", {"n": 100})
    j.ack(j.pending("evse-1")[0].seq)
    j.close()
    j = Journal(path)
    pending = j.pending()
    assert [(m.channel, m.channel_seq, m.body["n"]) for m in pending] == [
        ("evse-1", 1, 1), ("evse-1", 2, 2), ("evse-2", 0, 100)]
    assert j.enqueue("evse-1", {"n": 3}).channel_seq == 3
    j.close()
