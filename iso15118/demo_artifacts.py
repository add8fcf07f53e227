"""`v2g demo` session folder: the signed records, the meter key, the EV's receipts, the CSMS's view, the plot,
and the checks the summary reports (each done with a verifier other than the code that signed, where one
exists: pyocmf for OCMF, the -20 xmldsig verifier for MeteringConfirmation).

Files (in --out DIR):
    records.ocmf                 one OCMF record per line, verbatim as signed (the session's B, C..., end)
    meter-key.pub.hex            the meter's public key, DER SubjectPublicKeyInfo in hex
    metering-confirmations.jsonl the EV's MeteringConfirmationReq receipts: EXI hex, verified, decoded body
    trace-secc.jsonl, trace-ev.jsonl   decoded message traces (iso15118.trace line format)
    csms-transaction-events.json the TransactionEvents the local CSMS received (camelCase, as on the wire)
    power-energy.png             power and energy over (simulated meter) time
    summary.json                 the summary printed at the end
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import exi
from iso15118.trace import jsonable

RECORDS = "records.ocmf"
PUBLIC_KEY = "meter-key.pub.hex"
CONFIRMATIONS = "metering-confirmations.jsonl"
CSMS_EVENTS = "csms-transaction-events.json"
PLOT = "power-energy.png"
SUMMARY = "summary.json"


@dataclass
class PlotSamples:
    """(simulated seconds since the first poll, power W, imported Wh, exported Wh) from the meter's polls
    (appended by the meter-time thread, read by the event loop: list appends are atomic)."""

    start_wall: float | None = None
    rows: list[tuple[float, float, float, float]] = field(default_factory=list)

    def add(self, meter, snapshot) -> None:
        if self.start_wall is None:
            self.start_wall = snapshot.wall
        self.rows.append((snapshot.wall - self.start_wall, snapshot.power_w, snapshot.import_wh,
                          snapshot.export_wh))

    def base(self) -> tuple[float, float]:
        return (self.rows[0][2], self.rows[0][3]) if self.rows else (0.0, 0.0)


def write_records(out: Path, records: list[str], public_key_der: bytes) -> None:
    (out / RECORDS).write_text("".join(record + "\n" for record in records), encoding="utf-8")
    (out / PUBLIC_KEY).write_text(public_key_der.hex().upper() + "\n", encoding="ascii")


def verify_records(records: list[str], public_key_der: bytes) -> tuple[int, str]:
    """(records that verify, verifier name). pyocmf when installed (the test extra), else metering's own."""
    try:
        from pyocmf import OCMF
    except ImportError:
        from metering import MeteringError, verify_ocmf

        def check(record: str) -> bool:
            try:
                verify_ocmf(record, public_key_der)
            except MeteringError:
                return False
            return True
        return sum(check(r) for r in records), "metering.verify_ocmf"
    key = public_key_der.hex()
    return sum(bool(OCMF.from_string(r).verify_signature(key)) for r in records), "pyocmf"


def verify_meter_signature(meter_info: dict | None, public_key_der: bytes) -> bool:
    """The MeterSignature of the last MeterInfo the EV received (the -20 ChargeLoopRes), against the meter key."""
    from metering import MeterInfo, MeteringError, verify_meter_info
    if not meter_info or "MeterSignature" not in meter_info:
        return False
    info = MeterInfo(meter_id=meter_info["MeterID"], charged_wh=meter_info["ChargedEnergyReadingWh"],
                     discharged_wh=meter_info.get("BPT_DischargedEnergyReadingWh"),
                     capacitive_varh=meter_info.get("CapacitiveEnergyReadingVARh"),
                     inductive_varh=meter_info.get("BPT_InductiveEnergyReadingVARh"),
                     meter_status=meter_info.get("MeterStatus"), meter_timestamp=meter_info.get("MeterTimestamp"),
                     meter_signature=meter_info["MeterSignature"])
    try:
        verify_meter_info(info, public_key_der)
    except MeteringError:
        return False
    return True


def write_confirmations(out: Path, receipts, ev_certificate) -> int:
    """Write the journaled MeteringConfirmationReq receipts; return how many verify now with the EV's
    certificate (the contract certificate in Plug & Charge, the vehicle certificate with EIM), independently of
    the SECC's check at receipt."""
    from iso15118.security import SignatureError, verify_metering_confirmation
    verified = 0
    with (out / CONFIRMATIONS).open("w", encoding="utf-8") as f:
        for receipt in receipts:
            request = exi.decode(receipt.exi, schema="iso20")
            try:
                verify_metering_confirmation(request, ev_certificate)
                ok = True
            except SignatureError:
                ok = False
            verified += ok
            f.write(json.dumps({"session_id": receipt.session_id, "wall": receipt.wall, "exi": receipt.exi.hex(),
                                "verified_at_receipt": receipt.verified, "verified_now": ok,
                                "xml": exi.to_xml(request)}) + "\n")
    return verified


def write_csms_events(out: Path, events: list[dict]) -> None:
    (out / CSMS_EVENTS).write_text(json.dumps(jsonable(events), indent=1), encoding="utf-8")


def write_plot(out: Path, samples: PlotSamples, title: str) -> str | None:
    """Write the PNG; returns None on success, else the reason it was skipped (matplotlib missing)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed (pip install -e '.[plot]'): plot skipped"
    rows = sorted(samples.rows)
    t = [r[0] / 60.0 for r in rows]
    fig, (ax_p, ax_e) = plt.subplots(2, 1, sharex=True, figsize=(8, 6))
    ax_p.plot(t, [r[1] / 1000.0 for r in rows], color="tab:blue")
    ax_p.axhline(0, color="grey", linewidth=0.5)
    ax_p.set_ylabel("power (kW, < 0 = export)")
    ax_p.set_title(title)
    base_i, base_e = samples.base()
    ax_e.plot(t, [(r[2] - base_i) / 1000.0 for r in rows], label="imported", color="tab:green")
    ax_e.plot(t, [(r[3] - base_e) / 1000.0 for r in rows], label="exported", color="tab:red")
    ax_e.set_ylabel("energy (kWh)")
    ax_e.set_xlabel("simulated meter time (min)")
    ax_e.legend()
    fig.tight_layout()
    fig.savefig(out / PLOT, dpi=90)
    plt.close(fig)
    return None


def write_summary(out: Path, summary: dict) -> None:
    (out / SUMMARY).write_text(json.dumps(summary, indent=1), encoding="utf-8")
