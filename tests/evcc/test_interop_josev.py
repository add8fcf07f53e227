"""Interop with an independent -20 implementation: the `iso15118` package 0.31.2 from PyPI (Josev, Java
EXIficient codec), on a veth pair between two network namespaces, over plain TCP and over TLS 1.3. Josev's TLS
is P-256 only and its EV presents its OEM provisioning chain, so the TLS runs use our compat profile with one
shared compat PKI (ours, laid out for Josev by josev_pki.py: same V2G and OEM roots on both sides).

Josev runs from a virtual environment of its own (created on first use under ~/.cache/v2g-interop, or the
interpreter named by V2G_JOSEV_PYTHON) and from /tmp, so its top-level `iso15118` never meets ours.

Josev quirks met (each handled by configuration on our side, never by weakening the defaults):
- its SECC needs PowerToleranceAcceptance in Scheduled_EVPPTControlMode (optional in the XSD: we always send
  it); its EVCC needs a price schedule in every ChargingSchedule (we send a flat PriceLevelSchedule);
- its EVCC rejects MeterInfo carrying BPT_DischargedEnergyReadingWh (it misnames the field): interop runs
  switch off unrequested MeterInfo and metering confirmation;
- it answers/paces charge-loop messages in ~0.5-1 s, above the 0.5 s timeouts: interop runs scale timeouts;
- its simulated SECC never raises its DC output in precharge (always 1 V) and its simulated EVCC asks for a
  20 kV precharge target: our EV is given a wide precharge tolerance; our SECC refuses 20 kV.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.netns import require_root, veth_pair

pytestmark = [pytest.mark.interop, pytest.mark.netns]

JOSEV = "iso15118==0.31.2"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def josev_python():
    given = os.environ.get("V2G_JOSEV_PYTHON")
    if given:
        return given
    venv = Path.home() / ".cache" / "v2g-interop" / "josev-0.31.2"
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        install = subprocess.run([str(python), "-m", "pip", "install", "-q", JOSEV, "aiofile"],
                                 capture_output=True, text=True, timeout=600)
        if install.returncode != 0:
            pytest.skip(f"cannot install {JOSEV} from PyPI: {install.stderr.strip()[-300:]}")
    return str(python)


def _josev_env(interface: str, tmp_path: Path, **extra) -> dict:
    env = dict(os.environ, NETWORK_INTERFACE=interface, LOG_LEVEL="INFO", PKI_PATH=str(tmp_path) + "/", **extra)
    env.pop("PYTHONPATH", None)
    return env


def _ours(netns: str, *argv: str) -> list[str]:
    return ["ip", "netns", "exec", netns, sys.executable, "-m", "iso15118", *argv]


@pytest.mark.parametrize("service", ["dc", "ac"])
def test_our_evcc_completes_a_session_with_the_josev_secc(josev_python, tmp_path, service):
    require_root()
    config = tmp_path / "ev.json"
    config.write_text(json.dumps({"precharge_tolerance_v": 1000, "timeout_scale": 10}))
    log = tmp_path / "josev-secc.log"
    with veth_pair("jsecc") as (evse, ev):
        env = _josev_env(evse.ifname, tmp_path, SECC_ENFORCE_TLS="false", AUTH_MODES="EIM",
                         PROTOCOLS="ISO_15118_20_AC,ISO_15118_20_DC")
        josev = subprocess.Popen(["ip", "netns", "exec", evse.netns, josev_python, "-m", "iso15118.secc.main"],
                                 cwd="/tmp", env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT)
        try:
            run = subprocess.run(_ours(ev.netns, "ev", "-i", ev.ifname, "--no-tls", "--config", str(config),
                                       "--service", service, "--charge-loops", "5", "--json"),
                                 capture_output=True, text=True, timeout=120, cwd=REPO)
        finally:
            josev.terminate()
            josev.wait(10)
    assert run.returncode == 0, (run.stdout, run.stderr[-2000:], log.read_text()[-3000:])
    summary = json.loads(run.stdout)
    assert summary["outcome"] == "completed" and summary["charge_loops"] == 5
    assert summary["protocol"] == f"urn:iso:std:iso:15118:-20:{service.upper()}"


def _josev_evcc_against_our_secc(josev_python, tmp_path, example: str) -> tuple[dict, str]:
    require_root()
    config = tmp_path / "secc.json"
    config.write_text(json.dumps({"auth_services": ["EIM"], "meter_info_in_first_loop": False,
                                  "metering_confirmation": False, "timeout_scale": 10}))
    trace = tmp_path / "secc.jsonl"
    examples = subprocess.run([josev_python, "-c", "import iso15118, os; print(os.path.dirname(iso15118.__file__))"],
                              capture_output=True, text=True, cwd="/tmp", env=_josev_env("lo", tmp_path)).stdout
    ev_config = Path(examples.strip()) / "shared" / "examples" / "evcc" / "iso15118_20" / f"evcc_config_{example}.json"
    with veth_pair("jevcc") as (evse, ev):
        secc = subprocess.Popen(_ours(evse.netns, "secc", "-i", evse.ifname, "--no-tls", "--config", str(config),
                                      "--sessions", "1", "--json", "--trace", str(trace)),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
        josev = None
        try:
            assert json.loads(secc.stdout.readline())["event"] == "listening"
            josev = subprocess.Popen(["ip", "netns", "exec", ev.netns, josev_python, "-m", "iso15118.evcc.main"],
                                     cwd="/tmp", env=_josev_env(ev.ifname, tmp_path, EVCC_CONFIG_PATH=str(ev_config)),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            out, _ = secc.communicate(timeout=120)
        finally:
            if josev is not None:
                josev.terminate()
                josev.wait(10)
            if secc.poll() is None:
                secc.kill()
    return json.loads(out.splitlines()[-1]), trace.read_text()


@pytest.mark.parametrize("example", ["ac", "ac_bpt"])
def test_josev_evcc_completes_an_ac_session_with_our_secc(josev_python, tmp_path, example):
    summary, trace = _josev_evcc_against_our_secc(josev_python, tmp_path, example)
    assert summary["outcomes"][0]["outcome"] == "completed", trace[-3000:]
    names = [json.loads(line)["msg"] for line in trace.splitlines()]
    assert "AC_ChargeLoopReq" in names and names[-1] == "SessionStopRes"


def test_our_secc_refuses_the_josev_evcc_20kv_precharge_target(josev_python, tmp_path):
    summary, trace = _josev_evcc_against_our_secc(josev_python, tmp_path, "dc")
    outcome = summary["outcomes"][0]
    assert outcome["outcome"] == "failed" and outcome["code"] == "FAILED_WrongChargeParameter"
    precharge = [json.loads(line) for line in trace.splitlines() if json.loads(line)["msg"] == "DC_PreChargeReq"]
    target = precharge[0]["body"]["EVTargetVoltage"]
    assert target["Value"] * 10 ** target["Exponent"] > 920  # above our EVSEMaximumVoltage: refusal is right


@pytest.fixture(scope="module")
def compat_pki(tmp_path_factory):
    from certs import PkiConfig, create_pki

    from .josev_pki import PASSWORD, josev_layout
    base = tmp_path_factory.mktemp("compat")
    pki = create_pki(base / "ours", PkiConfig(profile="compat", algorithm="secp256r1",
                                              key_password=PASSWORD.encode()))
    return pki, josev_layout(pki, base / "josev"), PASSWORD


def test_our_evcc_over_tls13_with_the_josev_secc(josev_python, tmp_path, compat_pki):
    require_root()
    pki, josev_pki, password = compat_pki
    config = tmp_path / "ev.json"
    config.write_text(json.dumps({"precharge_tolerance_v": 1000, "timeout_scale": 10}))
    log = tmp_path / "josev-secc.log"
    with veth_pair("jtls") as (evse, ev):
        env = _josev_env(evse.ifname, josev_pki, SECC_ENFORCE_TLS="true", ENABLE_TLS_1_3="true",
                         AUTH_MODES="EIM", PROTOCOLS="ISO_15118_20_AC,ISO_15118_20_DC")
        josev = subprocess.Popen(["ip", "netns", "exec", evse.netns, josev_python, "-m", "iso15118.secc.main"],
                                 cwd="/tmp", env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT)
        try:
            run = subprocess.run(_ours(ev.netns, "ev", "-i", ev.ifname, "--tls", "--tls-profile", "compat", "--pki",
                                       str(pki.directory), "--config", str(config), "--service", "ac",
                                       "--charge-loops", "5", "--json"),
                                 capture_output=True, text=True, timeout=120, cwd=REPO,
                                 env=dict(os.environ, V2G_PKI_KEY_PASSWORD=password))
        finally:
            josev.terminate()
            josev.wait(10)
    assert run.returncode == 0, (run.stdout, run.stderr[-2000:], log.read_text()[-3000:])
    assert json.loads(run.stdout)["outcome"] == "completed"
    assert "TLS server started" in log.read_text()


def test_josev_evcc_over_tls13_with_our_secc(josev_python, tmp_path, compat_pki):
    require_root()
    pki, josev_pki, password = compat_pki
    config = tmp_path / "secc.json"
    config.write_text(json.dumps({"auth_services": ["EIM"], "meter_info_in_first_loop": False,
                                  "metering_confirmation": False, "timeout_scale": 10}))
    ev_config = tmp_path / "josev-ev.json"
    ev_config.write_text(json.dumps({"supportedProtocols": ["ISO_15118_20_AC"], "supportedEnergyServices": ["AC"],
                                     "isCertInstallNeeded": False, "useTls": True, "enforceTls": True}))
    with veth_pair("jtls2") as (evse, ev):
        secc = subprocess.Popen(_ours(evse.netns, "secc", "-i", evse.ifname, "--tls", "--tls-profile", "compat",
                                      "--pki", str(pki.directory), "--config", str(config), "--sessions", "1",
                                      "--json"),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
                                env=dict(os.environ, V2G_PKI_KEY_PASSWORD=password))
        josev = None
        try:
            assert json.loads(secc.stdout.readline())["tls"] is True
            josev = subprocess.Popen(["ip", "netns", "exec", ev.netns, josev_python, "-m", "iso15118.evcc.main"],
                                     cwd="/tmp", env=_josev_env(ev.ifname, josev_pki, ENABLE_TLS_1_3="true",
                                                                EVCC_CONFIG_PATH=str(ev_config)),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            out, err = secc.communicate(timeout=120)
        finally:
            if josev is not None:
                josev.terminate()
                josev.wait(10)
            if secc.poll() is None:
                secc.kill()
    assert json.loads(out.splitlines()[-1])["outcomes"][0]["outcome"] == "completed", err[-2000:]
