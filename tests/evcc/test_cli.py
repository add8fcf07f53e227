"""`v2g secc` and `v2g ev` as separate processes on loopback: the command-line contract of issue 6."""
import json
import subprocess
import sys

import pytest

V2G = [sys.executable, "-m", "iso15118"]
REQUIRED = {"outcome", "protocol", "service", "charge_loops", "energy_wh", "receipts", "messages"}


def _start_secc(*args):
    proc = subprocess.Popen(V2G + ["secc", "-i", "lo", "--sdp-port", "0", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    listening = json.loads(proc.stdout.readline())
    assert listening["event"] == "listening"
    return proc, listening


def _ev(*args, timeout=60):
    return subprocess.run(V2G + ["ev", "-i", "lo", *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def pki_dir(tmp_path_factory):
    from certs import PkiConfig, create_pki
    return str(create_pki(tmp_path_factory.mktemp("pki"), PkiConfig()).directory)


def test_ev_json_summary_over_sdp_and_plain_tcp(tmp_path):
    # Dynamic mode: the SECC decides the power; this site imports for 0.5 s, then exports (BPT).
    config = tmp_path / "secc.json"
    config.write_text(json.dumps({"evse_id": "DE*TST*E1", "dynamic_setpoints": [[0.5, 30000], [1e9, -15000]]}))
    secc, listening = _start_secc("--config", str(config), "--no-tls", "--sessions", "1", "--json")
    trace = tmp_path / "ev.jsonl"
    ev = _ev("--no-tls", "--sdp-port", str(listening["sdp_port"]), "--service", "dc_bpt", "--mode", "dynamic",
             "--charge-loops", "8", "--discharge-loops", "8", "--json", "--trace", str(trace))
    out, _ = secc.communicate(timeout=30)
    assert ev.returncode == 0, ev.stderr
    summary = json.loads(ev.stdout)
    assert REQUIRED <= summary.keys()
    assert summary["outcome"] == "completed" and summary["service"] == "dc_bpt"
    assert summary["charge_loops"] == 16
    assert summary["energy_wh"]["export"] > 0
    lines = [json.loads(line) for line in trace.read_text().splitlines()]
    assert len(lines) == summary["messages"]
    assert lines[0]["msg"] == "supportedAppProtocolReq" and lines[-1]["msg"] == "SessionStopRes"
    assert secc.returncode == 0
    assert json.loads(out.splitlines()[-1])["outcomes"][0]["outcome"] == "completed"


def test_ev_and_secc_over_tls13_with_a_pki(pki_dir, tmp_path):
    keylog = tmp_path / "keys.log"
    secc, listening = _start_secc("--tls", "--pki", pki_dir, "--sessions", "1")
    ev = _ev("--tls", "--pki", pki_dir, "--sdp-port", str(listening["sdp_port"]), "--service", "ac",
             "--charge-loops", "5", "--json", "--keylog", str(keylog))
    secc.communicate(timeout=30)
    assert ev.returncode == 0, ev.stderr
    assert json.loads(ev.stdout)["outcome"] == "completed"
    # TLS 1.3 key log lines (NSS format) let Wireshark decrypt a capture of the session.
    assert "CLIENT_TRAFFIC_SECRET_0" in keylog.read_text()


@pytest.mark.parametrize("install", [False, True])
def test_plug_and_charge_over_tls13_from_the_command_line(pki_dir, install):
    secc, listening = _start_secc("--tls", "--pki", pki_dir, "--sessions", "1", "--certificate-installation")
    extra = ["--install-contract"] if install else []
    ev = _ev("--tls", "--pki", pki_dir, "--auth", "pnc", *extra, "--sdp-port", str(listening["sdp_port"]),
             "--service", "dc_bpt", "--charge-loops", "5", "--discharge-loops", "3", "--json")
    secc.communicate(timeout=30)
    assert ev.returncode == 0, ev.stderr
    summary = json.loads(ev.stdout)
    assert summary["auth"] == "PnC" and summary["contract_installed"] is install
    assert summary["metering_confirmations"] == 1


def test_ev_exits_nonzero_when_the_service_is_not_offered():
    secc, listening = _start_secc("--no-tls", "--sessions", "1", "--services", "ac")
    ev = _ev("--no-tls", "--host", "::1", "--port", str(listening["port"]), "--service", "dc", "--json")
    secc.communicate(timeout=30)
    assert ev.returncode == 1
    assert json.loads(ev.stdout)["outcome"] == "failed"


def test_ev_tls_without_pki_is_a_usage_error():
    ev = _ev("--tls", "--host", "::1", "--port", "1")
    assert ev.returncode == 2 and "ERR_CONFIG_INVALID" in ev.stderr


def test_secc_rejects_unknown_service():
    proc = subprocess.run(V2G + ["secc", "-i", "lo", "--no-tls", "--services", "dc,warp"], capture_output=True,
                          text=True, timeout=30)
    assert proc.returncode == 2 and "unknown services" in proc.stderr


def test_pause_then_resume_from_the_command_line():
    secc, listening = _start_secc("--no-tls", "--sessions", "2")
    port = str(listening["port"])
    first = _ev("--no-tls", "--host", "::1", "--port", port, "--pause", "--charge-loops", "3", "--json")
    assert first.returncode == 0, first.stderr
    sid = json.loads(first.stdout)["session_id"]
    second = _ev("--no-tls", "--host", "::1", "--port", port, "--resume", sid, "--charge-loops", "3", "--json")
    secc.communicate(timeout=30)
    summary = json.loads(second.stdout)
    assert second.returncode == 0 and summary["resumed"] is True and summary["session_id"] == sid


def test_v2g_trace_decodes_a_hex_dump_of_frames(tmp_path):
    # SessionSetupReq as captured from the iso15118 (Josev) EVCC on the wire (shared vectors), with its header.
    exi = "808c0400000000000000000f6ca9cd80620b2ba6a4ab1899199a1a9b1b9c1c9820a121a222ac00"
    frame = "01fe8002" + f"{len(exi) // 2:08x}" + exi
    dump = tmp_path / "frames.hex"
    dump.write_text(frame + "\n")
    proc = subprocess.run(V2G + ["trace", str(dump)], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    line = json.loads(proc.stdout)
    assert line["msg"] == "SessionSetupReq" and line["body"]["EVCCID"] == "WMIV1234567890ABCDEX"
