"""SIGKILL a journaling child at random points, many times: nothing acknowledged is lost, nothing duplicated,
sessions left open are sealed exactly once by the next start."""
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from metering import Meter, MeterConfig, SimulatedClock, verify_ocmf

CHILD = Path(__file__).with_name("crash_child.py")
ROUNDS = 8


def run_and_kill(journal_path, key_path, seed, rng):
    proc = subprocess.Popen([sys.executable, str(CHILD), journal_path, key_path, str(seed)],
                            stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parents[2])
    lines = []
    try:
        line = proc.stdout.readline()
        while line and not line.startswith("ready"):
            lines.append(line.split())
            line = proc.stdout.readline()
        assert line.startswith("ready"), "child died before it was ready"
        # Killed at a random point after its first acknowledgement (however slow this machine is to get there),
        # so every round has acknowledged work at stake.
        first = proc.stdout.readline()
        assert first.startswith("ack"), "child died before its first acknowledgement"
        lines.append(first.split())
        time.sleep(rng.uniform(0.0, 0.25))
        os.kill(proc.pid, signal.SIGKILL)
        lines += [line.split() for line in proc.stdout.read().splitlines()]
    finally:
        proc.kill()
        proc.wait()
    return lines


@pytest.mark.faults
def test_sigkill_at_random_points_loses_nothing_acknowledged_and_seals_open_sessions(tmp_path):
    rng = random.Random(20261125)
    journal_path, key_path = str(tmp_path / "journal.sqlite"), str(tmp_path / "key.pem")
    acked, recovered = [], []
    for seed in range(ROUNDS):
        for fields in run_and_kill(journal_path, key_path, seed, rng):
            if fields[0] == "ack":
                acked.append((int(fields[1]), fields[2], fields[3], int(fields[4])))
            elif fields[0] == "recovered":
                recovered.append(fields[2])
    assert len(acked) >= ROUNDS, "every child acknowledged work before being killed"

    meter = Meter(MeterConfig(journal_path=journal_path, key_path=key_path), clock=SimulatedClock())
    recovered += [r.session_id for r in meter.recovered]
    journal = meter.journal
    journal.verify()
    records = {r.seq: r for r in journal.records()}

    # Nothing acknowledged is lost: each ack is in the journal with the same content.
    for seq, kind, session, import_wh in acked:
        assert records[seq].kind == kind and records[seq].session_id == session
        assert records[seq].body["import_wh"] == import_wh

    # Nothing duplicated: one begin and exactly one seal per session; OCMF pages unique and increasing.
    signed = [r for r in records.values() if r.kind in ("session_begin", "reading", "session_seal")]
    begins = Counter(r.session_id for r in signed if r.kind == "session_begin")
    seals = Counter(r.session_id for r in signed if r.kind == "session_seal")
    assert set(begins.values()) == {1}
    assert seals == begins, "every session is sealed, exactly once"
    assert journal.open_sessions() == []
    assert len(recovered) == len(set(recovered))
    pages = [int(verify_ocmf(r.body["ocmf"], meter.public_key_der()).data["PG"][1:]) for r in signed]
    assert pages == sorted(set(pages))

    # Registers never go backwards across restarts.
    imports = [r.body["import_wh"] for r in sorted(signed, key=lambda r: r.seq)]
    assert imports == sorted(imports)
    meter.close()
