"""`Meter`: the facade the session code and the demo use (driver + registers + signer + journal).

Sampling runs on its own schedule (a thread with `start()`, or `poll()` called by a simulated-time loop) and
publishes immutable `Snapshot`s: registers, timestamp, clock state and status of one chip poll. The chip lock
covers only the chip poll and the booking; the journal work sampling causes (events, checkpoints, aligned
readings) runs on the meter's journal writer thread. Readers sign and journal outside the chip lock and
`meter_info` signs the latest snapshot against a cached session baseline, so a reader blocked in journal I/O
or signing never stalls the sampler, and a sampler blocked on the chip never stalls `meter_info`.
"""
from __future__ import annotations

import dataclasses
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from metering.calibration import Calibration, load_calibration
from metering.clock import SimulatedClock, StepDetector, SyncState, SystemClock, aligned_boundary
from metering.conditioning import Conditioner, ConditioningConfig, Diagnostic
from v2gbase.config import load_dataclass
from metering.driver import Ade9000Driver, FrontEndScaling
from metering.emulator import ChipEmulator, EmulatorConfig, LoadProfile
from metering.errors import ConfigCrcChanged, ResyncRequired, SessionError
from metering.journal import Journal, JournalRecord
from metering.log import log_event
from metering.ocmf import CURRENT_TYPES, OcmfIdentity, OcmfReading, OcmfUser, build_payload, sign_payload
from metering.registers import EnergyRegisters, Totals, UWH_PER_WH
from metering.signing import FileKeySigner, MeterInfo, Signer, sign_meter_info
from metering.transport import EmulatorTransport, Transport

# MeterStatus (int16 in -20 MeterInfo) bits, ours to define: -20 leaves the field meter-specific.
STATUS_CLOCK_UNSYNCHRONISED = 1 << 0
STATUS_RESYNC = 1 << 1  # the chip reset or jumped since the previous signed reading
STATUS_CONFIG_CHANGED = 1 << 2  # configuration CRC changed on the chip (possible manipulation)
STATUS_CT_REVERSED = 1 << 3  # negative power while charging on a phase
STATUS_CLOCK_STEP = 1 << 4  # the wall clock stepped since the previous signed reading
_ONE_SHOT_STATUS = STATUS_RESYNC | STATUS_CLOCK_STEP  # reported once, in the next signed reading

# Seal reason → OCMF TX of the final reading (facts §1.3).
SEAL_TX = {"normal": "E", "local": "L", "remote": "R", "abort": "A", "error": "A", "power_failure": "P",
           "restart": "P", "suspended": "S", "tariff_change": "T"}


@dataclass(frozen=True)
class MeterConfig:
    journal_path: str = "meter-journal.sqlite"
    key_path: str = "meter-key.pem"
    calibration_path: str | None = None
    poll_interval_s: float = 1.0
    checkpoint_interval_s: float = 1.0
    aligned_interval_s: int = 300
    scaling: FrontEndScaling = field(default_factory=FrontEndScaling)
    conditioning: ConditioningConfig = field(default_factory=ConditioningConfig)
    identity: OcmfIdentity = field(default_factory=OcmfIdentity)
    current_type: str = "AC"  # OCMF RT for fiscal readings and sessions begun without an explicit current_type

    @classmethod
    def from_file(cls, path: str | Path) -> "MeterConfig":
        return load_dataclass(cls, path)

    @property
    def meter_id(self) -> str:
        return self.identity.meter_serial


@dataclass(frozen=True)
class PhaseValues:
    v_rms: float
    i_rms: float
    power_w: float


@dataclass(frozen=True)
class Snapshot:
    """A consistent view of one poll: live values and the totals after it."""

    wall: float
    sync: SyncState
    phases: tuple[PhaseValues, ...]
    temperature_c: float
    import_wh: float
    export_wh: float
    totals: Totals
    status: int
    diagnostics: tuple[Diagnostic, ...] = ()

    @property
    def power_w(self) -> float:
        return sum(p.power_w for p in self.phases)


@dataclass(frozen=True)
class SignedReading:
    """A journaled, signed register reading. `meter_info` is session-relative inside a session."""

    seq: int
    kind: str  # reading | aligned | session_begin | session_seal
    session_id: str | None
    wall: float
    sync: SyncState
    import_wh: int
    export_wh: int
    status: int
    meter_info: MeterInfo
    ocmf: str

    @classmethod
    def from_record(cls, record: JournalRecord) -> "SignedReading":
        b = record.body
        info = dict(b["meter_info"])
        info["meter_signature"] = bytes.fromhex(info["meter_signature"])
        return cls(seq=record.seq, kind=record.kind, session_id=record.session_id, wall=record.wall,
                   sync=SyncState(b["sync"]), import_wh=b["import_wh"], export_wh=b["export_wh"],
                   status=b["status"], meter_info=MeterInfo(**info), ocmf=b["ocmf"])


class _JournalWriter:
    """Runs the journal work of sampling in submission order on its own thread: the journal is serial and
    readers hold it while they sign and fsync, which the sampler must never wait for."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[Callable[[], object] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="meter-journal", daemon=True)
        self._thread.start()

    def submit(self, job: Callable[[], object]) -> None:
        if self._thread.is_alive():
            self._jobs.put(job)
        else:  # closed: the caller gets the closed journal's error instead of a job nobody runs
            job()

    def flush(self) -> None:
        """Return once every job submitted before this call has run."""
        done = threading.Event()
        self.submit(done.set)
        done.wait()

    def close(self) -> None:
        self._jobs.put(None)
        self._thread.join()

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            try:
                job()
            except Exception as exc:  # the writer must keep running; the error is logged with its code
                log_event(getattr(exc, "code", "ERR_METERING"), str(exc), level=logging.ERROR)


class Meter:
    def __init__(self, config: MeterConfig | None = None, transport: Transport | None = None,
                 signer: Signer | None = None, journal: Journal | None = None,
                 clock: SystemClock | SimulatedClock | None = None, calibration: Calibration | None = None,
                 emulator: ChipEmulator | None = None) -> None:
        self.config = config or MeterConfig()
        self.clock = clock or SystemClock()
        if transport is None:
            emulator = emulator or ChipEmulator(EmulatorConfig(), LoadProfile(), clock=self.clock.monotonic)
            transport = EmulatorTransport(emulator)
        self.emulator = emulator
        if calibration is None and self.config.calibration_path:
            calibration = load_calibration(self.config.calibration_path)
        self.signer = signer or FileKeySigner(self.config.key_path)
        self.journal = journal or Journal(self.config.journal_path, clock=self.clock.wall)
        self.driver = Ade9000Driver(transport, self.config.scaling, calibration,
                                    monotonic=self.clock.monotonic, sleep=self.clock.sleep)
        self._conditioner = Conditioner(self.config.conditioning)
        self._chip_lock = threading.Lock()  # the chip poll, the booking and the snapshot it publishes
        self._report_lock = threading.RLock()  # one signed reading at a time (session state checks)
        self._baselines: dict[str, dict] = {}  # open sessions' begin registers: MeterInfo needs no journal I/O
        self._flags = 0
        self._active_diagnostics: set[tuple[str, int]] = set()
        self._charging: dict[str, bool] = {}
        self._steps = StepDetector()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        checkpoint = self.journal.checkpoint()
        start = Totals(**checkpoint) if checkpoint else Totals(0, 0)
        self._registers = EnergyRegisters(start)
        self.driver.start()
        self._last_checkpoint = self.clock.monotonic()
        self._last_aligned = aligned_boundary(self.clock.wall(), self.config.aligned_interval_s)
        self._snapshot = self._make_snapshot(None, self._registers.totals(), (), self.clock.sync_state(),
                                             self.clock.wall())
        self._writer = _JournalWriter()
        # A session left open by a crash or power loss is sealed now, exactly once (journal state).
        self.recovered = [self.seal_session(sid, "restart") for sid in self.journal.open_sessions()]

    # ---- lifecycle ---------------------------------------------------------------------------------------
    def __enter__(self) -> "Meter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def start(self) -> None:
        """Sample in a background thread every poll_interval_s (real time), waking on aligned boundaries."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._sample_loop, name="meter-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def close(self) -> None:
        self.stop()
        self._writer.close()
        self.journal.save_checkpoint(self._checkpoint_body)
        self.journal.close()
        self.driver.transport.close()

    def _sample_loop(self) -> None:
        while not self._stop.is_set():
            wall = self.clock.wall()
            to_boundary = self._last_aligned + self.config.aligned_interval_s - wall
            self._stop.wait(max(0.0, min(self.config.poll_interval_s, to_boundary)))
            if self._stop.is_set():
                return
            try:
                self._sample(consume=False)
            except Exception as exc:  # the sampler must keep running; the error is logged with its code
                log_event(getattr(exc, "code", "ERR_METERING"), str(exc), level=logging.ERROR)

    # ---- sampling ----------------------------------------------------------------------------------------
    def poll(self) -> Snapshot:
        """Read the chip once, book the energy, publish a snapshot; returns once its journal work (events,
        checkpoint, aligned reading) is durable."""
        return self._poll(consume=False)

    def _poll(self, consume: bool) -> Snapshot:
        """A sample whose journal work is durable, so records of what it detected precede what reports it."""
        snapshot = self._sample(consume)
        self._writer.flush()
        return snapshot

    def _sample(self, consume: bool) -> Snapshot:
        """Read the chip once, book the energy, publish a snapshot and hand its journal work to the writer.

        `consume`: the caller signs this snapshot, so one-shot status bits (resync, clock step) are handed
        over to it atomically with the snapshot and cleared."""
        sync = self.clock.sync_state()  # may run chronyc: outside the chip lock
        with self._chip_lock:
            try:
                raw = self.driver.poll()
            except ResyncRequired as exc:
                self._event(exc.code, str(exc), cause=exc.details.get("cause"), phases=exc.details.get("phases"))
                self._flags |= STATUS_RESYNC
                raw = exc.details.get("sample")
            if raw is not None:
                sample = self._conditioner.apply(raw)
                totals = self._registers.add(sum(p.energy_wh for p in sample.phases),
                                             sum(p.reactive_varh for p in sample.phases))
                if sample.config_changed and not self._flags & STATUS_CONFIG_CHANGED:
                    self._flags |= STATUS_CONFIG_CHANGED
                    self._event(ConfigCrcChanged.code, "configuration CRC changed on the chip while running")
                wall = self.clock.wall()  # one reading of the clock for the step check and the snapshot
                step = self._steps.observe(wall, self.clock.monotonic())
                if step is not None:
                    self._flags |= STATUS_CLOCK_STEP
                    self._event("METER_CLOCK_STEP", "wall clock stepped; past readings keep their timestamps",
                                step_s=step.step_s)
                charging = any(self._charging.values()) if self._charging else None
                diagnostics = tuple(self._conditioner.diagnose(sample, charging))
                self._track_diagnostics(diagnostics)
                self._snapshot = self._make_snapshot(sample, totals, diagnostics, sync, wall)
            else:
                self._snapshot = replace(self._snapshot, status=self._snapshot.status | self._flags)
            snapshot = self._snapshot
            boundary = aligned_boundary(snapshot.wall, self.config.aligned_interval_s)
            aligned = boundary > self._last_aligned
            if aligned:
                self._last_aligned = boundary
            if consume or aligned:
                self._flags &= ~_ONE_SHOT_STATUS
            checkpoint_due = self.clock.monotonic() - self._last_checkpoint >= self.config.checkpoint_interval_s
            if checkpoint_due:
                self._last_checkpoint = self.clock.monotonic()
        if checkpoint_due:
            self._writer.submit(lambda: self.journal.save_checkpoint(self._checkpoint_body))
        if aligned:
            self._writer.submit(lambda: self._sign_and_journal("aligned", None, None, snapshot,
                                                               extra={"aligned_to": boundary}))
        return snapshot

    def snapshot(self) -> Snapshot:
        """The latest published snapshot (no chip access)."""
        return self._snapshot

    def _make_snapshot(self, sample, totals: Totals, diagnostics, sync: SyncState, wall: float) -> Snapshot:
        status = self._flags | (STATUS_CLOCK_UNSYNCHRONISED if sync is not SyncState.SYNCHRONISED else 0)
        if diagnostics:
            status |= STATUS_CT_REVERSED
        phases = tuple(PhaseValues(p.v_rms, p.i_rms, p.power_w) for p in sample.phases) if sample else ()
        return Snapshot(wall=wall, sync=sync, phases=phases,
                        temperature_c=sample.temperature_c if sample else float("nan"),
                        import_wh=totals.import_uwh / UWH_PER_WH, export_wh=totals.export_uwh / UWH_PER_WH,
                        totals=totals, status=status, diagnostics=diagnostics)

    def _track_diagnostics(self, diagnostics: tuple[Diagnostic, ...]) -> None:
        active = {(d.code, d.phase) for d in diagnostics}
        for d in diagnostics:
            if (d.code, d.phase) not in self._active_diagnostics:
                self._event(d.code, d.message, phase=d.phase)
        self._active_diagnostics = active

    def _event(self, code: str, message: str, **fields: object) -> None:
        log_event(code, message, **fields)
        self._writer.submit(lambda: self.journal.append("event", {"code": code, "message": message, **fields}))

    def _checkpoint_body(self) -> dict:
        """The live totals; the journal calls this inside its transaction (never an older checkpoint)."""
        return dataclasses.asdict(self._registers.totals())

    # ---- signed readings -----------------------------------------------------------------------------------
    def _sign_and_journal(self, kind: str, session_id: str | None, tx: str | None, snapshot: Snapshot,
                          user: OcmfUser | None = None, base: dict | None = None,
                          extra: dict | None = None, reason: str | None = None,
                          current_type: str | None = None) -> SignedReading:
        import_wh, export_wh = snapshot.totals.import_wh, snapshot.totals.export_wh
        status = snapshot.status
        info = self._signed_meter_info(snapshot, base)
        error_flags = "E" if status & STATUS_RESYNC else ""
        error_flags += "t" if status & STATUS_CLOCK_STEP else ""

        def build(page: int) -> dict:
            counter = "T" if session_id is not None else "F"
            payload = build_payload(self.config.identity, f"{counter}{page}", [OcmfReading(
                wall=snapshot.wall, sync=snapshot.sync, import_wh=import_wh, export_wh=export_wh, tx=tx,
                status="M" if status & STATUS_CONFIG_CHANGED else "G", error_flags=error_flags,
                current_type=current_type or self.config.current_type)], user)
            body = {"sync": snapshot.sync.value, **self._register_values(snapshot), "status": status,
                    "meter_info": {**dataclasses.asdict(info), "meter_signature": info.meter_signature.hex()},
                    "ocmf": sign_payload(payload, self.signer), **(extra or {})}
            if user is not None:
                body["user"] = dataclasses.asdict(user)
            if current_type is not None:
                body["current_type"] = current_type
            if reason is not None:
                body["reason"] = reason
            return body

        checkpoint = self._checkpoint_body
        if kind == "session_begin":
            record = self.journal.begin_session(session_id, build, checkpoint=checkpoint, wall=snapshot.wall)
        elif kind == "session_seal":
            record, _ = self.journal.seal_session(session_id, build, checkpoint=checkpoint, wall=snapshot.wall)
        else:
            record = self.journal.append(kind, {}, session_id=session_id, wall=snapshot.wall,
                                         counter="T" if session_id else "F", build=build, checkpoint=checkpoint)
        return SignedReading.from_record(record)

    def reading(self, session_id: str | None = None) -> SignedReading:
        """Read the chip now, sign (MeterSignature + OCMF) and journal; returns once durable."""
        with self._report_lock:
            snapshot = self._poll(consume=True)
            if session_id is None:
                return self._sign_and_journal("reading", None, None, snapshot)
            begin = self._open_session_begin(session_id)
            return self._sign_and_journal("reading", session_id, "C", snapshot, user=self._user(begin),
                                          base=begin.body, current_type=self._current_type(begin))

    def begin_session(self, session_id: str, user: OcmfUser | None = None, charging: bool | None = None,
                      current_type: str | None = None) -> SignedReading:
        """Journal the signed begin reading (OCMF TX=B). `charging=True` arms the reversed-CT diagnostic.

        `current_type` ("AC"/"DC", default `config.current_type`) is the OCMF RT of every reading of the session.
        """
        current_type = current_type or self.config.current_type
        if current_type not in CURRENT_TYPES:
            raise ValueError(f"current_type must be one of {CURRENT_TYPES}, not {current_type!r}")
        with self._report_lock:
            snapshot = self._poll(consume=True)
            base = self._register_values(snapshot)
            reading = self._sign_and_journal("session_begin", session_id, "B", snapshot, user=user or OcmfUser(),
                                             base=base, current_type=current_type)
            self._baselines[session_id] = base
            if charging is not None:
                with self._chip_lock:
                    self._charging[session_id] = charging
            return reading

    def seal_session(self, session_id: str, reason: str = "normal") -> SignedReading:
        """Final signed reading, exactly once: later calls return the existing seal."""
        with self._report_lock:
            if self.journal.session_state(session_id) == "sealed":
                return SignedReading.from_record(
                    self.journal.seal_session(session_id, lambda _: {})[0])
            begin = self.journal.session_begin(session_id)
            snapshot = self._poll(consume=True)
            reading = self._sign_and_journal("session_seal", session_id, SEAL_TX.get(reason, "A"), snapshot,
                                             user=self._user(begin), reason=reason, base=begin.body,
                                             current_type=self._current_type(begin))
            with self._chip_lock:
                self._charging.pop(session_id, None)
            self._baselines.pop(session_id, None)
            return reading

    def meter_info(self, session_id: str | None = None, bidirectional: bool = True) -> MeterInfo:
        """Signed -20 MeterInfo from the latest snapshot (session-relative when a session is given).

        `bidirectional=False` leaves out the BPT_ readings, which only BPT sessions carry ([V2G20-1313],
        Table 101), so that MeterSignature covers exactly the fields the EV receives. Registers, timestamp and
        status come from one published snapshot, taken after the baseline so it is never older than the begin;
        no chip access, and no journal I/O while the session is open."""
        base = None
        if session_id is not None:  # cached from the begin while open; a sealed session's is in the journal
            base = self._baselines.get(session_id) or self.journal.session_begin(session_id).body
        return self._signed_meter_info(self._snapshot, base, bidirectional)

    @staticmethod
    def _register_values(snapshot: Snapshot) -> dict:
        t = snapshot.totals
        return {"import_wh": t.import_wh, "export_wh": t.export_wh, "inductive_varh": t.inductive_varh,
                "capacitive_varh": t.capacitive_varh}

    def _signed_meter_info(self, snapshot: Snapshot, base: dict | None, bidirectional: bool = True) -> MeterInfo:
        """Registers minus `base` (the session's begin values), or absolute without a session."""
        value = {key: v - (base.get(key, 0) if base else 0) for key, v in self._register_values(snapshot).items()}
        return sign_meter_info(MeterInfo(
            meter_id=self.config.meter_id, charged_wh=value["import_wh"],
            discharged_wh=value["export_wh"] if bidirectional else None,
            capacitive_varh=value["capacitive_varh"],
            inductive_varh=value["inductive_varh"] if bidirectional else None,
            meter_status=snapshot.status, meter_timestamp=int(snapshot.wall)), self.signer)

    def public_key_der(self) -> bytes:
        return self.signer.public_key_der()

    def session_readings(self, session_id: str) -> list[SignedReading]:
        return [SignedReading.from_record(r) for r in self.journal.records(session_id=session_id)
                if r.kind in ("session_begin", "reading", "session_seal")]

    def _open_session_begin(self, session_id: str) -> JournalRecord:
        if self.journal.session_state(session_id) != "open":
            raise SessionError("session is not open", session_id=session_id)
        return self.journal.session_begin(session_id)

    @staticmethod
    def _current_type(begin: JournalRecord) -> str:
        # Journals written before RT was recorded per session hold only AC sessions.
        return begin.body.get("current_type", "AC")

    @staticmethod
    def _user(begin: JournalRecord) -> OcmfUser:
        user = dict(begin.body["user"])
        user["flags"] = tuple(user["flags"])
        return OcmfUser(**user)
