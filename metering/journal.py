"""Crash-safe metering journal: SQLite in WAL mode, synchronous=FULL, one transaction per record.

A call returns only after its transaction committed (the WAL is fsynced), so whatever a caller acknowledges
survives a crash. Every row carries a SHA-256 over its content and position (`ERR_MET_DATA_CORRUPT` when it
fails). Tables:

- `records`   ordered, append-only: readings, session begin/seal, events (resync, clock step, diagnostics).
- `sessions`  one row per session; `open` → `sealed` exactly once (the seal record is written in the same
              transaction as the state change).
- `counters`  OCMF pagination counters (`T`, `F`), advanced in the transaction of the record that uses them.
- `checkpoint` the latest energy totals (µWh), so a restart continues the registers without loss. Writers pass
              a function that reads the live totals inside their transaction: transactions are serial and the
              totals only grow, so concurrent writers never store an older checkpoint over a newer one.
- `receipts`  MeteringConfirmation receipts from the EV: raw signed EXI bytes + verification result.
- `outbox`    an ordered, persistent message queue with a per-channel sequence number (e.g. OCPP
              TransactionEvents per EVSE while the CSMS is offline); rows are acknowledged, never rewritten.
"""
from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from metering.errors import DataCorrupt, SessionError

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS records (
    seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, session_id TEXT, wall REAL NOT NULL,
    body TEXT NOT NULL, checksum TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS records_by_session ON records (session_id, seq);
CREATE TABLE IF NOT EXISTS sessions (
    session_id TEXT PRIMARY KEY, state TEXT NOT NULL CHECK (state IN ('open', 'sealed')),
    begin_seq INTEGER NOT NULL, seal_seq INTEGER);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS checkpoint (id INTEGER PRIMARY KEY CHECK (id = 1), body TEXT NOT NULL,
    checksum TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS receipts (
    seq INTEGER PRIMARY KEY, session_id TEXT NOT NULL, wall REAL NOT NULL, exi BLOB NOT NULL,
    verified INTEGER NOT NULL, detail TEXT NOT NULL, checksum TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY, channel TEXT NOT NULL, channel_seq INTEGER NOT NULL, wall REAL NOT NULL,
    body TEXT NOT NULL, checksum TEXT NOT NULL, acked_wall REAL, UNIQUE (channel, channel_seq));
"""


def canonical_json(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _digest(*parts: object) -> str:
    return hashlib.sha256(canonical_json(list(parts)).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class JournalRecord:
    seq: int
    kind: str
    session_id: str | None
    wall: float
    body: dict


@dataclass(frozen=True)
class Receipt:
    seq: int
    session_id: str
    wall: float
    exi: bytes
    verified: bool
    detail: str


@dataclass(frozen=True)
class OutboxMessage:
    seq: int
    channel: str
    channel_seq: int
    wall: float
    body: dict
    acked: bool


class Journal:
    def __init__(self, path: str, clock: Callable[[], float] = time.time) -> None:
        self.path = str(path)
        self._clock = clock
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # fsync the WAL on every commit: durable before ack
        with self._transaction() as db:
            for statement in filter(str.strip, _SCHEMA.split(";")):
                db.execute(statement)
            row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            if row is None:
                db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            elif int(row[0]) != SCHEMA_VERSION:
                raise DataCorrupt("journal schema version unknown", version=row[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # ---- records -----------------------------------------------------------------------------------------
    def _insert(self, db: sqlite3.Connection, kind: str, body: dict, session_id: str | None,
                wall: float | None) -> JournalRecord:
        seq = db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM records").fetchone()[0]
        wall = self._clock() if wall is None else wall
        text = canonical_json(body)
        db.execute("INSERT INTO records VALUES (?, ?, ?, ?, ?, ?)",
                   (seq, kind, session_id, wall, text, _digest(seq, kind, session_id, wall, text)))
        return JournalRecord(seq, kind, session_id, wall, json.loads(text))

    @staticmethod
    def _next_counter(db: sqlite3.Connection, name: str) -> int:
        db.execute("INSERT INTO counters VALUES (?, 1) ON CONFLICT (name) DO UPDATE SET value = value + 1", (name,))
        return db.execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()[0]

    def append(self, kind: str, body: dict, session_id: str | None = None, wall: float | None = None,
               counter: str | None = None, build: Callable[[int], dict] | None = None,
               checkpoint: Callable[[], dict] | None = None) -> JournalRecord:
        """Append one record durably. With `counter`, the counter is advanced and `build(n)` makes the body in
        the same transaction (OCMF pagination); with `checkpoint`, its totals are stored with it."""
        with self._transaction() as db:
            if counter is not None and build is not None:
                body = build(self._next_counter(db, counter))
            record = self._insert(db, kind, body, session_id, wall)
            if checkpoint is not None:
                self._store_checkpoint(db, checkpoint)
            return record

    def records(self, kind: str | None = None, session_id: str | None = None, after_seq: int = 0) -> list[JournalRecord]:
        query = "SELECT seq, kind, session_id, wall, body, checksum FROM records WHERE seq > ?"
        args: list = [after_seq]
        if kind is not None:
            query += " AND kind = ?"
            args.append(kind)
        if session_id is not None:
            query += " AND session_id = ?"
            args.append(session_id)
        with self._lock:
            rows = self._db.execute(query + " ORDER BY seq", args).fetchall()
        return [self._checked(row) for row in rows]

    @staticmethod
    def _checked(row: tuple) -> JournalRecord:
        seq, kind, session_id, wall, text, checksum = row
        if _digest(seq, kind, session_id, wall, text) != checksum:
            raise DataCorrupt("journal record checksum mismatch", seq=seq)
        try:
            body = json.loads(text)
        except ValueError as exc:
            raise DataCorrupt("journal record body is not JSON", seq=seq) from exc
        return JournalRecord(seq, kind, session_id, wall, body)

    def record(self, seq: int) -> JournalRecord:
        with self._lock:
            row = self._db.execute("SELECT seq, kind, session_id, wall, body, checksum FROM records WHERE seq = ?",
                                   (seq,)).fetchone()
        if row is None:
            raise KeyError(seq)
        return self._checked(row)

    # ---- sessions ----------------------------------------------------------------------------------------
    def begin_session(self, session_id: str, build: Callable[[int], dict], counter: str = "T",
                      checkpoint: Callable[[], dict] | None = None, wall: float | None = None) -> JournalRecord:
        with self._transaction() as db:
            if db.execute("SELECT 1 FROM sessions WHERE session_id = ?", (session_id,)).fetchone():
                raise SessionError("session already exists in the journal", session_id=session_id)
            record = self._insert(db, "session_begin", build(self._next_counter(db, counter)), session_id, wall)
            db.execute("INSERT INTO sessions VALUES (?, 'open', ?, NULL)", (session_id, record.seq))
            if checkpoint is not None:
                self._store_checkpoint(db, checkpoint)
            return record

    def seal_session(self, session_id: str, build: Callable[[int], dict], counter: str = "T",
                     checkpoint: Callable[[], dict] | None = None,
                     wall: float | None = None) -> tuple[JournalRecord, bool]:
        """Seal exactly once: returns (seal record, True) the first time, (the same record, False) after."""
        with self._transaction() as db:
            row = db.execute("SELECT state, seal_seq FROM sessions WHERE session_id = ?", (session_id,)).fetchone()
            if row is None:
                raise SessionError("unknown session", session_id=session_id)
            if row[0] == "sealed":
                return self.record(row[1]), False
            record = self._insert(db, "session_seal", build(self._next_counter(db, counter)), session_id, wall)
            db.execute("UPDATE sessions SET state = 'sealed', seal_seq = ? WHERE session_id = ? AND state = 'open'",
                       (record.seq, session_id))
            if checkpoint is not None:
                self._store_checkpoint(db, checkpoint)
            return record, True

    def open_sessions(self) -> list[str]:
        with self._lock:
            return [r[0] for r in self._db.execute(
                "SELECT session_id FROM sessions WHERE state = 'open' ORDER BY begin_seq").fetchall()]

    def session_state(self, session_id: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT state FROM sessions WHERE session_id = ?", (session_id,)).fetchone()
        return None if row is None else row[0]

    def session_begin(self, session_id: str) -> JournalRecord:
        with self._lock:
            row = self._db.execute("SELECT begin_seq FROM sessions WHERE session_id = ?", (session_id,)).fetchone()
        if row is None:
            raise SessionError("unknown session", session_id=session_id)
        return self.record(row[0])

    # ---- energy checkpoint -----------------------------------------------------------------------------
    @staticmethod
    def _store_checkpoint(db: sqlite3.Connection, checkpoint: Callable[[], dict]) -> None:
        text = canonical_json(checkpoint())
        db.execute("INSERT INTO checkpoint VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET body = excluded.body, "
                   "checksum = excluded.checksum", (text, _digest("checkpoint", text)))

    def save_checkpoint(self, checkpoint: Callable[[], dict]) -> None:
        with self._transaction() as db:
            self._store_checkpoint(db, checkpoint)

    def checkpoint(self) -> dict | None:
        with self._lock:
            row = self._db.execute("SELECT body, checksum FROM checkpoint WHERE id = 1").fetchone()
        if row is None:
            return None
        if _digest("checkpoint", row[0]) != row[1]:
            raise DataCorrupt("journal checkpoint checksum mismatch")
        return json.loads(row[0])

    # ---- receipts (MeteringConfirmation) -----------------------------------------------------------------
    def add_receipt(self, session_id: str, exi: bytes, verified: bool, detail: str = "") -> Receipt:
        """Store a MeteringConfirmationReq verbatim (signed EXI) with its verification result."""
        with self._transaction() as db:
            if not db.execute("SELECT 1 FROM sessions WHERE session_id = ?", (session_id,)).fetchone():
                raise SessionError("receipt for an unknown session", session_id=session_id)
            seq = db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM receipts").fetchone()[0]
            wall = self._clock()
            db.execute("INSERT INTO receipts VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (seq, session_id, wall, exi, int(verified), detail,
                        _digest(seq, session_id, wall, exi.hex(), verified, detail)))
            return Receipt(seq, session_id, wall, bytes(exi), verified, detail)

    def receipts(self, session_id: str | None = None) -> list[Receipt]:
        query = "SELECT seq, session_id, wall, exi, verified, detail, checksum FROM receipts"
        args = ()
        if session_id is not None:
            query, args = query + " WHERE session_id = ?", (session_id,)
        with self._lock:
            rows = self._db.execute(query + " ORDER BY seq", args).fetchall()
        result = []
        for seq, sid, wall, exi, verified, detail, checksum in rows:
            if _digest(seq, sid, wall, bytes(exi).hex(), bool(verified), detail) != checksum:
                raise DataCorrupt("journal receipt checksum mismatch", seq=seq)
            result.append(Receipt(seq, sid, wall, bytes(exi), bool(verified), detail))
        return result

    # ---- outbox ------------------------------------------------------------------------------------------
    def enqueue(self, channel: str, body: dict) -> OutboxMessage:
        """Queue a message durably; `channel_seq` counts 0, 1, 2 … per channel (e.g. per EVSE)."""
        with self._transaction() as db:
            seq = db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM outbox").fetchone()[0]
            channel_seq = db.execute("SELECT COALESCE(MAX(channel_seq) + 1, 0) FROM outbox WHERE channel = ?",
                                     (channel,)).fetchone()[0]
            wall, text = self._clock(), canonical_json(body)
            db.execute("INSERT INTO outbox VALUES (?, ?, ?, ?, ?, ?, NULL)",
                       (seq, channel, channel_seq, wall, text, _digest(seq, channel, channel_seq, wall, text)))
            return OutboxMessage(seq, channel, channel_seq, wall, json.loads(text), False)

    def pending(self, channel: str | None = None, limit: int = 100) -> list[OutboxMessage]:
        """Unacknowledged messages, oldest first."""
        query = "SELECT seq, channel, channel_seq, wall, body, checksum, acked_wall FROM outbox WHERE acked_wall IS NULL"
        args: list = []
        if channel is not None:
            query += " AND channel = ?"
            args.append(channel)
        with self._lock:
            rows = self._db.execute(query + " ORDER BY seq LIMIT ?", [*args, limit]).fetchall()
        result = []
        for seq, ch, channel_seq, wall, text, checksum, acked in rows:
            if _digest(seq, ch, channel_seq, wall, text) != checksum:
                raise DataCorrupt("journal outbox checksum mismatch", seq=seq)
            result.append(OutboxMessage(seq, ch, channel_seq, wall, json.loads(text), acked is not None))
        return result

    def ack(self, seq: int) -> None:
        with self._transaction() as db:
            db.execute("UPDATE outbox SET acked_wall = ? WHERE seq = ? AND acked_wall IS NULL", (self._clock(), seq))

    def verify(self) -> int:
        """Check every record's checksum; returns the number of records checked."""
        records = self.records()
        self.receipts()
        self.checkpoint()
        return len(records)
