"""Persistent OCPP message queue in the metering journal's SQLite file (WAL, synchronous=FULL).

Message bodies go to the journal's outbox (`metering.Journal.enqueue`): checksummed, never rewritten, in one
global order, with a per-channel counter. TransactionEvents use one channel per transaction, so the
counter is the transaction's `seqNo` (0 at Started, +1 per event, §E 1.3.2), assigned in the same commit
that stores the message. What changes while a message waits (send attempts, next attempt time, the
offline flag) lives beside it in `ocpp_delivery`; the transactions this station opened live in
`ocpp_transactions` (their signed begin value is needed again in Ended, possibly after a restart).

Retries (E13): after a CALLERROR or a timeout, a message is resent while fewer than
MessageAttemptsTransactionEvent sends failed, after MessageAttemptIntervalTransactionEvent × sends so far;
then it is discarded (acknowledged with outcome "discarded") and the queue moves on. A lost connection is
not a failed attempt. The same rule serves the other queued messages (QueueAllMessages).
"""
from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass

from metering.journal import Journal, OutboxMessage
from metering.ocpp.config import OcppConfig

TX_CHANNEL_PREFIX = "ocpp.tx."
OTHER_CHANNEL = "ocpp.other"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS ocpp_delivery (
    outbox_seq INTEGER PRIMARY KEY, transaction_id TEXT, attempts INTEGER NOT NULL, next_attempt_at REAL NOT NULL,
    offline INTEGER NOT NULL, outcome TEXT);
CREATE INDEX IF NOT EXISTS ocpp_delivery_waiting ON ocpp_delivery (outcome, transaction_id);
CREATE TABLE IF NOT EXISTS ocpp_transactions (
    transaction_id TEXT PRIMARY KEY, evse_id INTEGER NOT NULL, connector_id INTEGER NOT NULL,
    begin_reading TEXT NOT NULL, public_key_sent INTEGER NOT NULL, ended INTEGER NOT NULL);
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
    begin_reading: dict  # wall, import_wh, export_wh, ocmf
    public_key_sent: bool
    ended: bool


class OfflineQueue:
    def __init__(self, journal: Journal, config: OcppConfig) -> None:
        self.journal = journal
        self.config = config
        self._lock = threading.RLock()
        self._db = sqlite3.connect(journal.path, isolation_level=None, check_same_thread=False, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        for statement in filter(str.strip, _SCHEMA.split(";")):
            self._db.execute(statement)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _write(self, sql: str, args: tuple) -> None:
        with self._lock:
            self._db.execute(sql, args)

    # ---- enqueue ---------------------------------------------------------------------------------------------
    def enqueue_transaction_event(self, transaction_id: str, payload: dict, offline: bool) -> QueuedMessage:
        """Store a TransactionEvent (without seq_no/offline) durably; returns it with its seqNo."""
        message = self.journal.enqueue(TX_CHANNEL_PREFIX + transaction_id,
                                       {"action": "TransactionEvent", "payload": payload})
        return self._track(message, offline)

    def enqueue(self, action: str, payload: dict) -> QueuedMessage:
        return self._track(self.journal.enqueue(OTHER_CHANNEL, {"action": action, "payload": payload}), False)

    def _track(self, message: OutboxMessage, offline: bool) -> QueuedMessage:
        transaction_id = None
        if message.channel.startswith(TX_CHANNEL_PREFIX):
            transaction_id = message.channel[len(TX_CHANNEL_PREFIX):]
        self._write("INSERT INTO ocpp_delivery VALUES (?, ?, 0, 0, ?, NULL)",
                    (message.seq, transaction_id, int(offline)))
        return self._message(message, 0, 0.0, offline)

    # ---- the head of the queue ---------------------------------------------------------------------------------
    def _pending(self, wanted: int | None = None) -> list[OutboxMessage]:
        """Our undelivered outbox rows, oldest first: at least `wanted` of them if there are (None = all)."""
        limit = 8 if wanted is not None else 1 << 30
        while True:
            rows = self.journal.pending(limit=limit)
            ours = [m for m in rows if m.channel.startswith("ocpp.")]
            if len(rows) < limit or (wanted is not None and len(ours) >= wanted):
                return ours
            limit *= 8  # other channels in front of ours: read further

    def head(self) -> QueuedMessage | None:
        """The oldest undelivered message: the only one that may be in flight."""
        pending = self._pending(wanted=1)
        if not pending:
            return None
        first = pending[0]
        with self._lock:
            row = self._db.execute("SELECT attempts, next_attempt_at, offline FROM ocpp_delivery WHERE outbox_seq = ?",
                                   (first.seq,)).fetchone()
        # No delivery row: the process died between the two commits, so the message was never sent and the
        # station restarted since; it is reported as generated offline.
        attempts, next_at, offline = row if row is not None else (0, 0.0, 1)
        return self._message(first, attempts, next_at, bool(offline))

    @staticmethod
    def _message(message: OutboxMessage, attempts: int, next_at: float, offline: bool) -> QueuedMessage:
        action, payload = message.body["action"], dict(message.body["payload"])
        transaction_id = None
        if message.channel.startswith(TX_CHANNEL_PREFIX):
            transaction_id = message.channel[len(TX_CHANNEL_PREFIX):]
            payload["seq_no"] = message.channel_seq
            if offline:
                payload["offline"] = True
        return QueuedMessage(message.seq, action, payload, transaction_id, attempts, next_at)

    def delivered(self, message: QueuedMessage) -> None:
        self.journal.ack(message.outbox_seq)
        self._write("INSERT INTO ocpp_delivery VALUES (?, ?, ?, 0, 0, 'delivered') ON CONFLICT (outbox_seq) "
                    "DO UPDATE SET outcome = 'delivered'",
                    (message.outbox_seq, message.transaction_id, message.attempts + 1))

    def failed(self, message: QueuedMessage, now: float) -> float | None:
        """Count a failed send; returns when to resend, or None when the message was discarded (E13)."""
        attempts = message.attempts + 1
        if attempts >= self.config.message_attempts_transaction_event:
            self.journal.ack(message.outbox_seq)
            self._write("INSERT INTO ocpp_delivery VALUES (?, ?, ?, 0, 1, 'discarded') ON CONFLICT (outbox_seq) "
                        "DO UPDATE SET attempts = excluded.attempts, outcome = 'discarded'",
                        (message.outbox_seq, message.transaction_id, attempts))
            return None
        next_at = now + self.config.message_attempt_interval_transaction_event * attempts
        self._write("INSERT INTO ocpp_delivery VALUES (?, ?, ?, ?, 1, NULL) ON CONFLICT (outbox_seq) "
                    "DO UPDATE SET attempts = excluded.attempts, next_attempt_at = excluded.next_attempt_at",
                    (message.outbox_seq, message.transaction_id, attempts, next_at))
        return next_at

    def mark_offline(self) -> int:
        """The connection dropped: what is still queued goes out with offline=true (E11.FR.07)."""
        with self._lock:
            return self._db.execute("UPDATE ocpp_delivery SET offline = 1 WHERE outcome IS NULL AND offline = 0 "
                                    "AND transaction_id IS NOT NULL").rowcount

    def outcome(self, outbox_seq: int) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT outcome FROM ocpp_delivery WHERE outbox_seq = ?", (outbox_seq,)).fetchone()
        return None if row is None else row[0]

    def messages_in_queue(self, transaction_id: str | None = None) -> int:
        """For GetTransactionStatus (E14): queued messages of one transaction, or of all."""
        query, args = "SELECT COUNT(*) FROM ocpp_delivery WHERE outcome IS NULL", ()
        if transaction_id is not None:
            query, args = query + " AND transaction_id = ?", (transaction_id,)
        with self._lock:
            return self._db.execute(query, args).fetchone()[0]

    # ---- transactions ------------------------------------------------------------------------------------------
    def open_transaction(self, transaction_id: str, evse_id: int, connector_id: int, begin_reading: dict) -> None:
        self._write("INSERT INTO ocpp_transactions VALUES (?, ?, ?, ?, 0, 0)",
                    (transaction_id, evse_id, connector_id, json.dumps(begin_reading)))

    def public_key_sent(self, transaction_id: str) -> None:
        self._write("UPDATE ocpp_transactions SET public_key_sent = 1 WHERE transaction_id = ?", (transaction_id,))

    def end_transaction(self, transaction_id: str) -> None:
        self._write("UPDATE ocpp_transactions SET ended = 1 WHERE transaction_id = ?", (transaction_id,))

    def transaction(self, transaction_id: str) -> TransactionRecord | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM ocpp_transactions WHERE transaction_id = ?",
                                   (transaction_id,)).fetchone()
        return None if row is None else _record(row)

    def open_transactions(self) -> list[TransactionRecord]:
        """Transactions without an Ended event (after a restart: the ones to end now)."""
        with self._lock:
            rows = self._db.execute("SELECT * FROM ocpp_transactions WHERE ended = 0 ORDER BY rowid").fetchall()
        # Ended is queued before the row is flagged; a crash in between leaves the Ended in the outbox.
        ended_in_queue = {m.channel[len(TX_CHANNEL_PREFIX):] for m in self._pending()
                          if m.channel.startswith(TX_CHANNEL_PREFIX) and m.body["payload"]["event_type"] == "Ended"}
        return [_record(row) for row in rows if row[0] not in ended_in_queue]


def _record(row: tuple) -> TransactionRecord:
    tid, evse, connector, begin, key_sent, ended = row
    return TransactionRecord(tid, evse, connector, json.loads(begin), bool(key_sent), bool(ended))
