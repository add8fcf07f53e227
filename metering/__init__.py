"""Metering: ADE9000-class chip driver + emulator, calibration, registers, signed readings, crash-safe journal.

Data flow: chip registers → `Ade9000Driver` (wrap-safe per-poll energy, CRC-checked frames) → `Conditioner`
(phase invert, thermal compensation, 50 mA dead-band, reversed-CT diagnostic) → `EnergyRegisters`
(monotonic 64-bit import/export totals) → signed (`MeterInfo.meter_signature`, OCMF) → `Journal`.

Facade for the session code and the demo (stable API)
-----------------------------------------------------
    meter = Meter(MeterConfig(journal_path=..., key_path=...), transport=None, clock=None)
        Starts the chip (reset, calibration, config-CRC check), restores the totals from the journal and seals
        every session a crash left open (`meter.recovered`: their seal readings, OCMF TX "P").
        Without a transport it runs against the in-process emulator (`meter.emulator.set_profile(...)`).
        `clock=SimulatedClock()` runs in simulated time: advance the clock, then call `meter.poll()`.
    meter.start() / meter.stop()        background sampler (real time), every poll_interval_s, on 5-min marks
    meter.poll() -> Snapshot            one sampling step (simulated-time loops call this)
    meter.snapshot() -> Snapshot        latest consistent live values and totals (no chip access)
    meter.begin_session(id, user=OcmfUser(...), charging=True, current_type="DC") -> SignedReading   (OCMF
        TX "B"; current_type "AC"/"DC" is the OCMF RT of the session, default MeterConfig.current_type)
    meter.reading(session_id=None) -> SignedReading   fresh signed reading, durable when returned
    meter.seal_session(id, reason) -> SignedReading   final reading exactly once (reason → TX: normal E,
        local L, remote R, abort/error A, power_failure/restart P, suspended S); repeated calls return it
    meter.meter_info(session_id=None, bidirectional=True) -> MeterInfo    signed -20 MeterInfo values
        (session-relative in a session; bidirectional=False omits the BPT_ readings, as non-BPT sessions send
        them): meter_id, charged_wh, discharged_wh, meter_status (STATUS_* bits), meter_timestamp,
        meter_signature (64 bytes r‖s)
    meter.public_key_der() -> bytes     DER SubjectPublicKeyInfo of the meter key (for OCMF / OCPP `oca:` keys)
    meter.session_readings(id) -> list[SignedReading]
    meter.close()

    SignedReading: seq, kind (reading|aligned|session_begin|session_seal), session_id, wall, sync (SyncState),
    import_wh, export_wh (absolute Wh registers), status, meter_info (MeterInfo), ocmf (record, verbatim).
    MeterConfig (dataclass, `MeterConfig.from_file(json)`): journal_path, key_path, calibration_path,
    poll_interval_s, checkpoint_interval_s, aligned_interval_s (300), scaling, conditioning, identity
    (OCMF GI/GS/GV/MV/MM/MS/MF; MeterID = identity.meter_serial).
    MeterStatus bits (metering.meter.STATUS_*): 1 clock unsynchronised, 2 chip resync since the previous
    signed reading, 4 config CRC changed, 8 reversed CT (negative power while charging), 16 clock step.
    OCMF: FV 1.0, PG T<n> inside sessions / F<n> outside (aligned readings), RD = import register
    01-00:B0.08.00*FF carrying TX + export register 01-00:C0.08.00*FF as TX "C" (verifiers bill one
    law-relevant B and one end reading), RV in kWh with 3 decimals, TM status from chrony (S / I / U).

Signing and verification
------------------------
    Signer (protocol: public_key_der(), sign(data) -> DER over SHA-256), FileKeySigner(path) (mode 0600)
    MeterInfo.signed_bytes()  the documented canonical byte layout (see metering.signing)
    sign_meter_info(info, signer), verify_meter_info(info, public_key_der)   → SignatureInvalid
    build_payload(identity, "T7", [OcmfReading(...)], user), sign_payload(payload, signer) -> record
    verify_ocmf(record, public_key_der) -> OcmfRecord  → SignatureInvalid (code ERR_SIG_INVALID)

Journal (SQLite WAL, synchronous=FULL; every call returns after its commit)
---------------------------------------------------------------------------
    Journal(path)
    append(kind, body, session_id=None, counter=None, build=None) -> JournalRecord
    records(kind=None, session_id=None, after_seq=0) -> list[JournalRecord]   checksums verified
    begin_session / seal_session (exactly once) / open_sessions() / session_state(id) / session_begin(id)
    add_receipt(session_id, exi: bytes, verified: bool, detail="") -> Receipt; receipts(session_id=None)
        for MeteringConfirmationReq receipts (raw signed EXI + verification result)
    enqueue(channel, body: dict) -> OutboxMessage (seq, channel, channel_seq 0,1,2… per channel);
    pending(channel=None, limit=100) oldest first; ack(seq)      — ordered persistent outbox (OCPP offline queue)
    verify() -> number of records checked; checksum failures raise DataCorrupt (ERR_MET_DATA_CORRUPT)

Command line: `meter-tool --read [--json]`, `meter-tool --calibrate --v-ref=230 --i-ref=32 [--lock|--unlock]`,
`meter-tool --serve-emulator` (chip emulator on a pty for `--serial`); without --device/--serial the tool uses
the built-in emulator.

Errors (stable `code`): DataCorrupt ERR_MET_DATA_CORRUPT, SignatureInvalid ERR_SIG_INVALID, ResyncRequired
METER_RESYNC_REQUIRED, ConfigCrcChanged ERR_MET_CONFIG_CRC, CalibrationLocked ERR_MET_CAL_LOCKED,
ChipNotResponding ERR_MET_NO_CHIP, SessionError ERR_MET_SESSION.
"""
from metering.calibration import Calibration, calibrate, load_calibration, save_calibration
from metering.clock import SimulatedClock, SyncState, SystemClock, aligned_boundary, chrony_sync_state
from metering.conditioning import ConditioningConfig, ThermalCoefficients
from metering.driver import Ade9000Driver, FrontEndScaling
from metering.emulator import (ChipEmulator, EmulatorConfig, Harmonic, LoadProfile, LoadSegment, PtyEmulatorServer,
                               analytic_energy_wh)
from metering.errors import (CalibrationLocked, ChipNotResponding, ConfigCrcChanged, DataCorrupt, MeteringError,
                             ResyncRequired, SessionError, SignatureInvalid)
from metering.journal import Journal, JournalRecord, OutboxMessage, Receipt
from metering.meter import Meter, MeterConfig, SignedReading, Snapshot
from metering.ocmf import OcmfIdentity, OcmfReading, OcmfUser, build_payload, sign_payload
from metering.ocmf import verify_record as verify_ocmf
from metering.signing import FileKeySigner, MeterInfo, Signer, sign_meter_info, verify_meter_info
from metering.transport import EmulatorTransport, SpiTransport, UartTransport

__all__ = [
    "Ade9000Driver", "Calibration", "CalibrationLocked", "ChipEmulator", "ChipNotResponding", "ConditioningConfig",
    "ConfigCrcChanged", "DataCorrupt", "EmulatorConfig", "EmulatorTransport", "FileKeySigner", "FrontEndScaling",
    "Harmonic", "Journal", "JournalRecord", "LoadProfile", "LoadSegment", "Meter", "MeterConfig", "MeterInfo",
    "MeteringError", "OcmfIdentity", "OcmfReading", "OcmfUser", "OutboxMessage", "PtyEmulatorServer", "Receipt",
    "ResyncRequired", "SessionError", "SignatureInvalid", "SignedReading", "Signer", "SimulatedClock", "Snapshot",
    "SpiTransport", "SyncState", "SystemClock", "ThermalCoefficients", "UartTransport", "aligned_boundary",
    "analytic_energy_wh", "build_payload", "calibrate", "chrony_sync_state", "load_calibration",
    "save_calibration", "sign_meter_info", "sign_payload", "verify_meter_info", "verify_ocmf",
]
