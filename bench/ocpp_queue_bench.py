"""OCPP offline queue speed: per-message cost of queueing a TransactionEvent durably and of replaying a backlog
to the local CSMS over loopback, each next to a baseline measured in the same run.

    python bench/ocpp_queue_bench.py [--messages 300]

Baselines: a bare SQLite insert of the same JSON with the same durability (WAL, synchronous=FULL, one commit per
row); the `ocpp` package's own ChargePoint.call of the same TransactionEvents with no queue in between."""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sqlite3
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import websockets  # noqa: E402
from ocpp.v201 import ChargePoint, call  # noqa: E402

from metering import FileKeySigner, OcmfIdentity, OcmfReading, OcmfUser, SyncState  # noqa: E402
from metering import build_payload, sign_payload  # noqa: E402
from metering.ocpp import LocalCsms, OcppClient, OcppConfig  # noqa: E402

START = 1_767_225_600.0


class _Reading:
    def __init__(self, wall: float, import_wh: int, ocmf: str) -> None:
        self.wall, self.import_wh, self.export_wh, self.ocmf = wall, import_wh, 0, ocmf


def readings(count: int, key_path: str) -> list[_Reading]:
    signer = FileKeySigner(key_path)
    result = []
    for i in range(count):
        wall, wh = START + 300 * i, 917 * i
        payload = build_payload(OcmfIdentity(), f"T{i + 1}", [OcmfReading(wall, SyncState.SYNCHRONISED, wh, 0, tx="C")],
                                OcmfUser())
        result.append(_Reading(wall, wh, sign_payload(payload, signer)))
    return result


async def bench(count: int, workdir: str) -> list[tuple[str, float, float]]:
    samples = readings(count, os.path.join(workdir, "key.pem"))
    key = FileKeySigner(os.path.join(workdir, "key.pem")).public_key_der()
    rows = []

    # -- queueing: our queue vs a bare durable insert ---------------------------------------------------------
    async with LocalCsms() as csms:
        await csms.stop()  # offline: everything stays queued
        config = OcppConfig(csms_url=csms.url, journal_path=os.path.join(workdir, "j.sqlite"),
                            retry_back_off_wait_minimum=0.01, retry_back_off_random_range=0.0)
        client = OcppClient(config)
        await client.__aenter__()
        tx = await client.start_transaction(samples[0], key, transaction_id="bench-tx")
        t0 = time.perf_counter()
        for reading in samples:
            await tx.aligned(reading)
        ours = (time.perf_counter() - t0) / count

        db = sqlite3.connect(os.path.join(workdir, "bare.sqlite"), isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("CREATE TABLE q (seq INTEGER PRIMARY KEY, body TEXT)")
        started = await tx.started_payload("Authorized", None, None)
        bodies = [json.dumps(started) for _ in samples]
        t0 = time.perf_counter()
        for body in bodies:
            db.execute("BEGIN IMMEDIATE")
            db.execute("INSERT INTO q (body) VALUES (?)", (body,))
            db.execute("COMMIT")
        bare = (time.perf_counter() - t0) / count
        db.close()
        rows.append(("queue one TransactionEvent (durable)", ours, bare))

        # -- replay: backlog through the queue vs plain ocpp calls --------------------------------------------
        await csms.start()
        t0 = time.perf_counter()
        await client.wait_idle(600)
        ours = (time.perf_counter() - t0) / (count + 1)
        await client.close()

        payloads = [dict(started, seq_no=i) for i in range(count)]
        async with websockets.connect(f"{csms.url}/BASE", subprotocols=["ocpp2.0.1"]) as ws:
            cp = ChargePoint("BASE", ws)
            reader = asyncio.create_task(cp.start())
            t0 = time.perf_counter()
            for payload in payloads:
                await cp.call(call.TransactionEvent(**payload), suppress=False)
            bare = (time.perf_counter() - t0) / count
            reader.cancel()
        rows.append(("replay one queued event to the CSMS", ours, bare))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=300)
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # the outage phase logs every refused reconnect
    with tempfile.TemporaryDirectory() as workdir:
        rows = asyncio.run(bench(args.messages, workdir))
    print(f"{'operation':40} {'ours ms':>9} {'baseline ms':>12} {'ratio':>7}")
    for name, ours, base in rows:
        print(f"{name:40} {ours * 1e3:9.3f} {base * 1e3:12.3f} {ours / base:7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
