"""`v2g demo`, in process and as a subprocess: the session folder is checked independently of the demo's own
verdicts (records against pyocmf and the meter key file, traces parsed, PNG magic, the CSMS's events)."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
from pyocmf import OCMF

from iso15118.demo import DemoOptions, run_demo
from tests.demo import artifact_checks as check

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def pnc_bpt_run(tmp_path_factory):
    import asyncio
    out = tmp_path_factory.mktemp("demo")
    result = asyncio.run(run_demo(DemoOptions(out=out, charge_loops=8, discharge_loops=5, quiet=True)))
    return out, result


def test_demo_session_ends_completed_and_sealed_normally(pnc_bpt_run):
    out, result = pnc_bpt_run
    assert result["ok"], result["checks"]
    assert result["ev"]["outcome"] == "completed"
    assert check.transaction_code(check.records(out)[-1]) == "E"  # OCMF end of a normal transaction


def test_every_ocmf_record_verifies_with_pyocmf_against_the_published_meter_key(pnc_bpt_run):
    out, _ = pnc_bpt_run
    assert check.public_key_hex(out) == check.meter_key_from_pem(out)
    lines = check.records(out)
    assert len(lines) >= 3 and check.transaction_code(lines[0]) == "B"
    assert check.all_verify(out)


def test_a_changed_reading_fails_pyocmf_verification(pnc_bpt_run):
    out, _ = pnc_bpt_run
    record = check.records(out)[-1]
    value = check.import_kwh(record)
    tampered = record.replace(f'"RV":{value:.3f}', f'"RV":{value + 0.001:.3f}', 1)
    assert tampered != record
    assert not OCMF.from_string(tampered).verify_signature(check.public_key_hex(out))


def test_summary_energy_matches_the_signed_begin_and_end_records(pnc_bpt_run):
    out, result = pnc_bpt_run
    lines = check.records(out)
    imported = check.import_kwh(lines[-1]) - check.import_kwh(lines[0])
    exported = check.export_kwh(lines[-1]) - check.export_kwh(lines[0])
    assert imported > 1.0 and exported > 0.0  # charged, then discharged (BPT)
    assert result["energy_kwh"]["import"] == pytest.approx(imported, abs=0.0015)
    assert result["energy_kwh"]["export"] == pytest.approx(exported, abs=0.0015)


def test_csms_got_started_updated_ended_and_ended_carries_the_last_record(pnc_bpt_run):
    out, _ = pnc_bpt_run
    events = check.csms_events(out)
    kinds = [e["eventType"] for e in events]
    assert kinds[0] == "Started" and kinds[-1] == "Ended" and "Updated" in kinds
    assert [e["seqNo"] for e in events] == list(range(len(events)))
    assert check.ended_end_record(events[-1]) == check.records(out)[-1]
    assert events[0]["idToken"]["type"] == "eMAID"  # Plug & Charge identity


def test_traces_of_both_sides_parse_and_mirror_each_other(pnc_bpt_run):
    out, _ = pnc_bpt_run
    ev, secc = check.trace(out, "ev"), check.trace(out, "secc")
    ev_sent = [line["msg"] for line in ev if line["dir"] == "tx"]
    secc_received = [line["msg"] for line in secc if line["dir"] == "rx"]
    assert ev_sent == secc_received
    for name in ("SessionSetupReq", "AuthorizationReq", "PowerDeliveryReq", "SessionStopReq",
                 "MeteringConfirmationReq"):
        assert name in ev_sent
    assert {line["side"] for line in ev} == {"ev"} and {line["side"] for line in secc} == {"secc"}


def test_metering_confirmation_receipt_verifies_with_the_contract_certificate(pnc_bpt_run):
    import exi
    from certs import Pki
    from iso15118.security import verify_metering_confirmation
    out, _ = pnc_bpt_run
    receipts = [json.loads(line) for line in (out / "metering-confirmations.jsonl").read_text().splitlines()]
    assert receipts
    contract = Pki.load(out / "pki").load_certificate("contract")
    for receipt in receipts:
        verify_metering_confirmation(exi.decode(bytes.fromhex(receipt["exi"]), schema="iso20"), contract)


def test_plot_is_a_png(pnc_bpt_run):
    out, _ = pnc_bpt_run
    assert (out / "power-energy.png").read_bytes()[:8] == check.PNG_MAGIC


def test_demo_subprocess_with_json_exits_0_and_writes_the_session_folder(tmp_path):
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "iso15118", "demo", "--out", str(out), "--json"], cwd=REPO,
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    summary = json.loads(proc.stdout)
    assert summary["ok"] and summary["service"] == "dc_bpt" and summary["auth"] == "pnc"
    assert json.loads((out / "summary.json").read_text())["session_id"] == summary["session_id"]
    assert check.all_verify(out)
    events = check.csms_events(out)
    assert check.ended_end_record(events[-1]) == check.records(out)[-1]


@pytest.fixture(scope="module")
def ac_eim_run(tmp_path_factory):
    import asyncio
    out = tmp_path_factory.mktemp("demo-ac")
    result = asyncio.run(run_demo(DemoOptions(service="ac", auth="eim", out=out, charge_loops=8, quiet=True)))
    return out, result


def test_ac_eim_session_is_sealed_and_reported_with_a_local_token(ac_eim_run):
    out, result = ac_eim_run
    assert result["ev"]["outcome"] == "completed" and result["seal"]["count"] == 1
    assert check.all_verify(out)
    events = check.csms_events(out)
    assert events[0]["idToken"]["type"] == "Local"
    assert check.ended_end_record(events[-1]) == check.records(out)[-1]


def test_eim_metering_confirmation_is_signed_with_the_vehicle_key_and_verified_at_receipt(ac_eim_run):
    import exi
    from certs import Pki
    from iso15118.security import verify_metering_confirmation
    out, _ = ac_eim_run
    receipts = [json.loads(line) for line in (out / "metering-confirmations.jsonl").read_text().splitlines()]
    assert receipts and all(receipt["verified_at_receipt"] for receipt in receipts)
    vehicle = Pki.load(out / "pki").load_certificate("vehicle")
    for receipt in receipts:
        verify_metering_confirmation(exi.decode(bytes.fromhex(receipt["exi"]), schema="iso20"), vehicle)


def test_ac_meter_info_signature_verifies_for_the_ev(ac_eim_run):
    _, result = ac_eim_run
    assert result["verification"]["meter_signature"]


def test_without_matplotlib_only_the_plot_is_skipped_with_a_note(tmp_path, monkeypatch):
    from iso15118 import demo_artifacts
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    samples = demo_artifacts.PlotSamples()
    note = demo_artifacts.write_plot(tmp_path, samples, "t")
    assert "matplotlib" in note and "plot" in note
    assert not (tmp_path / demo_artifacts.PLOT).exists()
