"""Persistent OCPP message queue in the metering journal's SQLite file (WAL, synchronous=FULL).

Message bodies go to the journal's outbox (`metering.Journal.enqueue`): checksummed, never rewritten, in one
global order, with a per-channel counter. TransactionEvents use one channel per transaction
(`ocpp/<station>/tx/<transactionId>`), so the counter is the transaction's `seqNo` (0 at Started, +1 per
event, §E 1.3.2), assigned in the same commit that stores the message; other queued messages use
`ocpp/<station>/other`. What changes while a message waits (send attempts, next attempt time, the offline
flag, the outcome) lives beside it in `ocpp_delivery`, keyed by the outbox row and scoped by station, so
the stations of a gateway can share one journal. `ocpp_transactions` keeps the transactions a station
opened (their signed begin value is needed again in Ended, possibly after a restart); `ocpp_variables` the
device-model values a CSMS set (SetVariables), so they survive a restart.

Retries (E13): after a CALLERROR or a timeout, a message is resent while fewer than
MessageAttemptsTransactionEvent sends failed, after MessageAttemptIntervalTransactionEvent × sends so far;
then it is discarded (acknowledged, outcome "discarded") and the queue moves on. A lost connection is not a
failed attempt. The same rule serves the other queued messages (QueueAllMessages).

Storage budget (max_queued_transaction_events): when a station's queued TransactionEvents exceed it, every
other queued Updated event is dropped, the 1st, 3rd, 5th … (E04.FR.07/08, E11.FR.04/05): never Started or
Ended, never a run from the start, so the remaining values still span the whole outage; queueing goes on.
"""
from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass

from metering.journal import Journal, OutboxMessage
from metering.ocpp.config import OcppConfig

_SCHEMA = """
CREATE TABLE IF NOT EXISTS ocpp_delivery (
    outbox_seq INTEGER PRIMARY KEY, station_id TEXT NOT NULL, channel TEXT NOT NULL, transaction_id TEXT,
    event_type TEXT, attempts INTEGER NOT NULL, next_attempt_at REAL NOT NULL, offline INTEGER NOT NULL,
    outcome TEXT);
CREATE INDEX IF NOT EXISTS ocpp_delivery_waiting ON ocpp_delivery (station_id, outcome, outbox_seq);
CREATE TABLE IF NOT EXISTS ocpp_transactions (
    transaction_id TEXT PRIMARY KEY, station_id TEXT NOT NULL, evse_id INTEGER NOT NULL,
    connector_id INTEGER NOT NULL, begin_reading TEXT NOT NULL, public_key_sent INTEGER NOT NULL,
    ended INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS ocpp_variables (
    station_id TEXT NOT NULL, variable TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (station_id, variable));
"""


@dataclass(frozen=True)
class QueuedMessage:
    outbox_seq: int
    action: str
    payload: dict  # snake_case, ready for ocpp.v201.call.<action>(**payload)
    transaction_id: str | None
    attempts: int
    next_attempt_at: float


@dataclass(frozen=True)
class TransactionRecord:
    transaction_id: str
    evse_id: int
    connector_id: int
    begin_reading: dict  # wall, import_wh, export_wh, ocmf, public_key_der
    public_key_sent: bool
    ended: bool


class OfflineQueue:
    def __init__(self, journal: Journal, config: OcppConfig) -> None:
        self.journal = journal
        self.config = config
        self.station_id = config.station_id
        self._prefix = f"ocpp/{config.station_id}/"
        self._lock = threading.RLock()
        self._db = sqlite3.connect(journal.path, isolation_level=None, check_same_thread=False, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        for statement in filter(str.strip, _SCHEMA.split(";")):
            self._db.execute(statement)
        self._adopt_untracked()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _write(self, sql: str, args: tuple) -> int:
        with self._lock:
            return self._db.execute(sql, args).rowcount

    def _tx_channel(self, transaction_id: str) -> str:
        return f"{self._prefix}tx/{transaction_id}"

    def _adopt_untracked(self) -> None:
        """A crash between the outbox commit and the delivery row leaves a message without one: it was never
        sent and the station restarted since, so it is tracked now as generated offline."""
        with self._lock:
            tracked = {seq for (seq,) in self._db.execute(
                "SELECT outbox_seq FROM ocpp_delivery WHERE station_id = ? AND outcome IS NULL", (self.station_id,))}
        for message in self.journal.pending(limit=1 << 30):
            if message.channel.startswith(self._prefix) and message.seq not in tracked:
                self._track(message, offline=True)

    # ---- enqueue ---------------------------------------------------------------------------------------------
    def enqueue_transaction_event(self, transaction_id: str, payload: dict, offline: bool) -> QueuedMessage:
        """Store a TransactionEvent (without seq_no/offline) durably; returns it with its seqNo."""
        body = {"action": "TransactionEvent", "payload": payload, "transaction_id": transaction_id}
        message = self._track(self.journal.enqueue(self._tx_channel(transaction_id), body), offline)
        self._thin_if_over_budget()
        return message

    def enqueue(self, action: str, payload: dict) -> QueuedMessage:
        message = self.journal.enqueue(f"{self._prefix}other", {"action": action, "payload": payload})
        return self._track(message, False)

    def _track(self, message: OutboxMessage, offline: bool) -> QueuedMessage:
        self._write("INSERT OR IGNORE INTO ocpp_delivery VALUES (?, ?, ?, ?, ?, 0, 0, ?, NULL)",
                    (message.seq, self.station_id, message.channel, message.body.get("transaction_id"),
                     message.body["payload"].get("event_type"), int(offline)))
        return _queued(message, 0, 0.0, offline)

    def _thin_if_over_budget(self) -> None:
        budget = self.config.max_queued_transaction_events
        if budget <= 0 or self.messages_in_queue(transactions_only=True) <= budget:
            return
        with self._lock:
            updated = [seq for (seq,) in self._db.execute(
                "SELECT outbox_seq FROM ocpp_delivery WHERE station_id = ? AND outcome IS NULL "
                "AND event_type = 'Updated' ORDER BY outbox_seq", (self.station_id,))]
        for seq in updated[::2]:
            self.journal.ack(seq)
            self._write("UPDATE ocpp_delivery SET outcome = 'dropped' WHERE outbox_seq = ?", (seq,))

    # ---- the head of the queue ---------------------------------------------------------------------------------
    def head(self) -> QueuedMessage | None:
        """The oldest undelivered message of this station: the only one that may be in flight."""
        while True:
            with self._lock:
                row = self._db.execute(
                    "SELECT outbox_seq, channel, attempts, next_attempt_at, offline FROM ocpp_delivery "
                    "WHERE station_id = ? AND outcome IS NULL ORDER BY outbox_seq LIMIT 1", (self.station_id,)
                ).fetchone()
            if row is None:
                return None
            seq, channel, attempts, next_at, offline = row
            pending = self.journal.pending(channel=channel, limit=1)
            if pending and pending[0].seq == seq:
                return _queued(pending[0], attempts, next_at, bool(offline))
            # Acknowledged in the journal, the outcome lost in a crash just after: it was delivered.
            self._write("UPDATE ocpp_delivery SET outcome = 'delivered' WHERE outbox_seq = ?", (seq,))

    def delivered(self, message: QueuedMessage) -> None:
        self.journal.ack(message.outbox_seq)
        self._write("UPDATE ocpp_delivery SET outcome = 'delivered', attempts = ? WHERE outbox_seq = ?",
                    (message.attempts + 1, message.outbox_seq))

    def failed(self, message: QueuedMessage, now: float) -> float | None:
        """Count a failed send; returns when to resend, or None when the message was discarded (E13)."""
        attempts = message.attempts + 1
        if attempts >= self.config.message_attempts_transaction_event:
            self.journal.ack(message.outbox_seq)
            self._write("UPDATE ocpp_delivery SET outcome = 'discarded', attempts = ? WHERE outbox_seq = ?",
                        (attempts, message.outbox_seq))
            return None
        next_at = now + self.config.message_attempt_interval_transaction_event * attempts
        self._write("UPDATE ocpp_delivery SET attempts = ?, next_attempt_at = ? WHERE outbox_seq = ?",
                    (attempts, next_at, message.outbox_seq))
        return next_at

    def mark_offline(self) -> int:
        """The connection dropped: what is still queued goes out with offline=true (E11.FR.07)."""
        return self._write("UPDATE ocpp_delivery SET offline = 1 WHERE station_id = ? AND outcome IS NULL "
                           "AND offline = 0 AND transaction_id IS NOT NULL", (self.station_id,))

    def outcome(self, outbox_seq: int) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT outcome FROM ocpp_delivery WHERE outbox_seq = ?", (outbox_seq,)).fetchone()
        return None if row is None else row[0]

    def messages_in_queue(self, transaction_id: str | None = None, transactions_only: bool = False) -> int:
        """For GetTransactionStatus (E14): queued messages of one transaction, or of all."""
        query, args = "SELECT COUNT(*) FROM ocpp_delivery WHERE station_id = ? AND outcome IS NULL", (self.station_id,)
        if transaction_id is not None:
            query, args = query + " AND transaction_id = ?", (*args, transaction_id)
        elif transactions_only:
            query += " AND transaction_id IS NOT NULL"
        with self._lock:
            return self._db.execute(query, args).fetchone()[0]

    # ---- device-model values set by the CSMS ---------------------------------------------------------------
    def store_variables(self, values: dict[str, str]) -> None:
        """Persist SetVariables values ("Component.Variable[.Instance]" → value), all in one commit."""
        with self._lock:
            with self._db:
                self._db.execute("BEGIN")
                self._db.executemany("INSERT OR REPLACE INTO ocpp_variables VALUES (?, ?, ?)",
                                     [(self.station_id, key, value) for key, value in values.items()])

    def stored_variables(self) -> dict[str, str]:
        with self._lock:
            rows = self._db.execute("SELECT variable, value FROM ocpp_variables WHERE station_id = ?",
                                    (self.station_id,)).fetchall()
        return dict(rows)

    # ---- transactions ------------------------------------------------------------------------------------------
    def open_transaction(self, transaction_id: str, evse_id: int, connector_id: int, begin_reading: dict) -> None:
        self._write("INSERT INTO ocpp_transactions VALUES (?, ?, ?, ?, ?, 0, 0)",
                    (transaction_id, self.station_id, evse_id, connector_id, json.dumps(begin_reading)))

    def set_begin(self, transaction_id: str, begin_reading: dict) -> None:
        """The signed begin value of a transaction opened before the metering session began."""
        self._write("UPDATE ocpp_transactions SET begin_reading = ? WHERE transaction_id = ?",
                    (json.dumps(begin_reading), transaction_id))

    def public_key_sent(self, transaction_id: str) -> None:
        self._write("UPDATE ocpp_transactions SET public_key_sent = 1 WHERE transaction_id = ?", (transaction_id,))

    def end_transaction(self, transaction_id: str) -> None:
        self._write("UPDATE ocpp_transactions SET ended = 1 WHERE transaction_id = ?", (transaction_id,))

    def transaction(self, transaction_id: str) -> TransactionRecord | None:
        with self._lock:
            row = self._db.execute(
                "SELECT transaction_id, evse_id, connector_id, begin_reading, public_key_sent, ended "
                "FROM ocpp_transactions WHERE transaction_id = ? AND station_id = ?",
                (transaction_id, self.station_id)).fetchone()
        return None if row is None else _record(row)

    def open_transactions(self) -> list[TransactionRecord]:
        """This station's transactions without an Ended event (after a restart: the ones to end now)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT transaction_id, evse_id, connector_id, begin_reading, public_key_sent, ended "
                "FROM ocpp_transactions WHERE station_id = ? AND ended = 0 ORDER BY rowid", (self.station_id,)
            ).fetchall()
        # Ended is queued before the row is flagged; a crash in between leaves the Ended in the outbox.
        return [_record(row) for row in rows if not self._ended_in_queue(row[0])]

    def _ended_in_queue(self, transaction_id: str) -> bool:
        pending = self.journal.pending(channel=self._tx_channel(transaction_id), limit=1 << 30)
        return any(m.body["payload"]["event_type"] == "Ended" for m in pending)


def _queued(message: OutboxMessage, attempts: int, next_at: float, offline: bool) -> QueuedMessage:
    payload = dict(message.body["payload"])
    transaction_id = message.body.get("transaction_id")
    if transaction_id is not None:
        payload["seq_no"] = message.channel_seq
        if offline:
            payload["offline"] = True
    return QueuedMessage(message.seq, message.body["action"], payload, transaction_id, attempts, next_at)


def _record(row: tuple) -> TransactionRecord:
    tid, evse, connector, begin, key_sent, ended = row
    return TransactionRecord(tid, evse, connector, json.loads(begin), bool(key_sent), bool(ended))
