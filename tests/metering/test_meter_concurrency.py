"""Sampling and reporting do not block each other (issue 5), and readers get consistent snapshots.

No test here measures time: a blocked party is held on a threading.Event until the test releases it, and
"progress" means the sampler published a snapshot of a clock value the test set while the reader was held.
The generous timeouts only turn a deadlock into a failure instead of a hung run.
"""
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import pytest

from metering import (ChipEmulator, EmulatorTransport, FileKeySigner, Journal, LoadProfile, Meter, MeterConfig,
                      verify_meter_info, verify_ocmf)
from metering.meter import STATUS_RESYNC
from tests.metering.helpers import ideal_front_end

DEADLOCK_S = 30.0  # only a hang reaches this
READER = "reader"


class Gate:
    """Holds the calls made while armed on `release`; `entered` tells the test one is being held."""

    def __init__(self) -> None:
        self.armed = False
        self.entered = threading.Event()
        self.release = threading.Event()

    def hold(self) -> None:
        if self.armed:
            self.entered.set()
            # Longer than any wait of the test, so that the test's own check fails first.
            assert self.release.wait(3 * DEADLOCK_S), "the test never released the gate"


class GatedJournal(Journal):
    """A journal whose write of a signed `reading` record (inside its transaction) waits at the gate."""

    def __init__(self, path: str, gate: Gate, **kwargs) -> None:
        super().__init__(path, **kwargs)
        self.gate = gate

    def _insert(self, db, kind, body, session_id, wall):
        if kind == "reading":
            self.gate.hold()
        return super()._insert(db, kind, body, session_id, wall)


class GatedSigner(FileKeySigner):
    """The reader's MeterInfo signing (before its journal transaction) or its OCMF signing (inside it: the
    OCMF page number is assigned in the transaction) waits at the gate."""

    def __init__(self, path: str, gate: Gate, ocmf: bool) -> None:
        super().__init__(path)
        self.gate, self.ocmf = gate, ocmf

    def sign(self, data: bytes) -> bytes:
        if threading.current_thread().name == READER and data.startswith(b"{") == self.ocmf:  # OCMF is JSON
            self.gate.hold()
        return super().sign(data)


class GatedTransport(EmulatorTransport):
    """The sampler thread's chip transfers wait at the gate (a stuck UART or SPI bus)."""

    def __init__(self, emulator, gate: Gate) -> None:
        super().__init__(emulator)
        self.gate = gate

    def transfer(self, request: bytes, answer_len: int) -> bytes:
        if threading.current_thread().name == "meter-sampler":
            self.gate.hold()
        return super().transfer(request, answer_len)


@pytest.fixture
def open_meter(tmp_path, clock):
    opened = []

    def make(journal=None, signer=None, transport=None, emulator=None, **config):
        config = MeterConfig(journal_path=str(tmp_path / "journal.sqlite"), key_path=str(tmp_path / "key.pem"),
                             poll_interval_s=0.001, checkpoint_interval_s=1.0, **config)
        meter = Meter(config, journal=journal, signer=signer, transport=transport, emulator=emulator, clock=clock)
        opened.append(meter)
        return meter

    yield make
    for meter in opened:
        meter.close()


def wait_for(condition, what: str) -> None:
    give_up = time.monotonic() + DEADLOCK_S
    while not condition():
        assert time.monotonic() < give_up, f"no progress: {what}"
        time.sleep(0.001)


def in_thread(fn, *args):
    """Run `fn` on another thread; a call that hangs fails the test instead of hanging it."""
    pool = ThreadPoolExecutor(1)
    try:
        return pool.submit(fn, *args).result(timeout=DEADLOCK_S)
    except TimeoutError:
        pytest.fail(f"{fn.__name__} did not return: it waits for the held party")
    finally:
        pool.shutdown(wait=False)  # a hung call is released by the caller's gate, not waited for here


@pytest.mark.parametrize("held_in", ["journal write", "signing in the journal", "signing before the journal"])
def test_sampler_keeps_booking_and_journaling_while_a_reader_is_held_in_the_journal(open_meter, clock, tmp_path,
                                                                                     held_in):
    gate = Gate()
    journal = GatedJournal(str(tmp_path / "journal.sqlite"), gate, clock=clock.wall) \
        if held_in == "journal write" else None
    signer = GatedSigner(str(tmp_path / "key.pem"), gate, ocmf=held_in == "signing in the journal") \
        if held_in.startswith("signing") else None
    emulator = ChipEmulator(ideal_front_end(fidelity="analytic"), LoadProfile.constant(i_rms=16.0),
                            clock=clock.monotonic)
    meter = open_meter(journal=journal, signer=signer, emulator=emulator)
    meter.begin_session("S1")
    meter.start()
    result = {}
    reader = threading.Thread(target=lambda: result.update(reading=meter.reading("S1")), name=READER)
    gate.armed = True
    reader.start()
    try:
        assert gate.entered.wait(DEADLOCK_S), "the reader never reached the gate"
        held_at = meter.snapshot()
        # While the reader holds the journal: a chip reset (an event record), checkpoints and an aligned
        # boundary (a signed record) are all due; the sampler must keep publishing regardless.
        meter.emulator.reset_chip()
        for _ in range(8):  # 8 x 60 s simulated: crosses a 5-minute boundary
            clock.advance(60.0)
            target = clock.wall()
            wait_for(lambda: meter.snapshot().wall >= target, f"sampler publishes a snapshot of wall {target}")
        progressed = meter.snapshot()
        info = in_thread(meter.meter_info, "S1")  # a consumer in the charge loop is not held either
        assert reader.is_alive(), "the reader was released before the sampler was checked"
    finally:
        gate.release.set()
        reader.join(DEADLOCK_S)
    assert progressed.totals.import_uwh > held_at.totals.import_uwh
    verify_meter_info(info, meter.public_key_der())
    assert info.meter_timestamp >= int(progressed.wall)

    meter.stop()
    after = meter.poll()  # returns once the sampling's journal work is durable
    reading = result["reading"]
    assert reading.import_wh == pytest.approx(held_at.import_wh, abs=1)  # what the reader sampled before
    events = [r.body["code"] for r in meter.journal.records(kind="event")]
    assert "METER_RESYNC_REQUIRED" in events
    aligned = [r.body for r in meter.journal.records(kind="aligned") if r.body["aligned_to"] > held_at.wall]
    assert aligned and aligned[-1]["aligned_to"] <= progressed.wall
    assert aligned[0]["status"] & STATUS_RESYNC  # the first signed reading after the reset reports it
    # The reader stored its checkpoint last: never older than what the sampler's checkpoints stored meanwhile.
    assert meter.journal.checkpoint()["import_uwh"] >= after.totals.import_uwh


def test_meter_info_and_snapshot_answer_while_the_sampler_is_held_on_the_chip(open_meter, clock):
    gate = Gate()
    emulator = ChipEmulator(ideal_front_end(fidelity="analytic"), LoadProfile.constant(i_rms=16.0),
                            clock=clock.monotonic)
    meter = open_meter(transport=GatedTransport(emulator, gate), emulator=emulator)
    meter.begin_session("S1")
    clock.advance(120.0)
    last = meter.poll()
    gate.armed = True  # before start: the sampler's first chip access is held
    meter.start()
    try:
        assert gate.entered.wait(DEADLOCK_S), "the sampler never reached the chip"
        info = in_thread(meter.meter_info, "S1")
        snapshot = in_thread(meter.snapshot)
    finally:
        gate.release.set()
    verify_meter_info(info, meter.public_key_der())
    assert snapshot == last  # the held poll published nothing
    begin = meter.journal.session_begin("S1").body
    assert info.charged_wh == last.totals.import_wh - begin["import_wh"]
    assert info.meter_timestamp == int(last.wall)


def _signed_fields(snapshot, base):
    """What a MeterInfo signed from `snapshot` against the session baseline `base` must carry."""
    t = snapshot.totals
    return (t.import_wh - base["import_wh"], t.export_wh - base["export_wh"],
            t.capacitive_varh - base["capacitive_varh"], t.inductive_varh - base["inductive_varh"],
            snapshot.status, int(snapshot.wall))


def test_every_signed_value_comes_from_one_published_sample_under_concurrent_sampling(open_meter, clock,
                                                                                       monkeypatch):
    emulator = ChipEmulator(ideal_front_end(fidelity="analytic"),
                            LoadProfile.constant(i_rms=16.0, power_factor=0.9), clock=clock.monotonic)
    meter = open_meter(emulator=emulator)
    published = []
    make_snapshot = meter._make_snapshot

    def record(*args):  # every snapshot the sampler or a reader builds, in order
        snapshot = make_snapshot(*args)
        published.append(snapshot)
        return snapshot
    monkeypatch.setattr(meter, "_make_snapshot", record)

    stop = threading.Event()

    def tick():  # simulated time runs while both sample and sign: 1.5 s steps change every register
        while not stop.wait(0.0005):
            clock.advance(1.5)
    ticker = threading.Thread(target=tick)
    begin = meter.begin_session("S1")
    base = meter.journal.session_begin("S1").body
    meter.start()
    ticker.start()
    infos, readings = [], []
    give_up = time.monotonic() + DEADLOCK_S
    try:  # at least 400 MeterInfos and 10 readings, spread over at least 10 distinct samples
        while len(infos) < 400 or len({i.meter_timestamp for i in infos}) <= 10:
            assert time.monotonic() < give_up, "the sampler did not advance under the readers"
            infos.append(meter.meter_info("S1"))
            if len(infos) % 40 == 0:
                readings.append(meter.reading("S1"))
    finally:
        stop.set()
        ticker.join()
        meter.stop()
    assert any((s.wall, s.totals.import_wh, s.totals.inductive_varh) ==
               (begin.wall, base["import_wh"], base["inductive_varh"]) for s in published)  # the baseline too
    signed_from_a_sample = {_signed_fields(s, base) for s in published}
    for info in infos:
        verify_meter_info(info, meter.public_key_der())
        fields = (info.charged_wh, info.discharged_wh, info.capacitive_varh, info.inductive_varh,
                  info.meter_status, info.meter_timestamp)
        assert fields in signed_from_a_sample, fields
    for reading in readings:
        info = reading.meter_info
        fields = (info.charged_wh, info.discharged_wh, info.capacitive_varh, info.inductive_varh,
                  info.meter_status, info.meter_timestamp)
        assert any((s.wall, s.sync, s.status, s.totals.import_wh, s.totals.export_wh) ==
                   (reading.wall, reading.sync, reading.status, reading.import_wh, reading.export_wh)
                   and _signed_fields(s, base) == fields for s in published), reading
        rd = verify_ocmf(reading.ocmf, meter.public_key_der()).data["RD"][0]
        assert float(rd["RV"]) == pytest.approx(reading.import_wh / 1000)
        assert rd["TM"].startswith(datetime.fromtimestamp(reading.wall, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"))
