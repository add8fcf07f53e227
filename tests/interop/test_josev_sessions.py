"""ISO 15118-20 sessions between our stack and Josev (PyPI `iso15118` 0.31.2, EcoG-io; EXIficient codec in a
JVM), each side in its own network namespace joined by a veth pair: SDP on ff02::1, then plain TCP or TLS 1.3
(P-256, our compat profile, cross-trusted roots) to the link-local address, EIM.

- our EVCC (`v2g ev`) against Josev's SECC (`JosevPeer secc`): DC and AC, and a failed protocol negotiation;
- Josev's EVCC against our SECC (`v2g secc`): DC and AC.

Josev's deviations and how each test stays within the standard are listed in docs/interop.md."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.netns import veth_pair

pytestmark = [pytest.mark.interop, pytest.mark.netns]

SESSION_TIMEOUT = 40  # s; one session takes ~10 s, Josev adds its 5 s wait before closing TCP


def _ours(netns: str, *argv: str) -> list[str]:
    return ["ip", "netns", "exec", netns, sys.executable, "-m", "iso15118", *argv]


def _trace(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _rational(value: dict) -> float:
    return value["Value"] * 10 ** value["Exponent"]


def _delivered_wh(messages: list[dict], service: str) -> float:
    """Energy the SECC reported delivering, from its trace alone: each ChargeLoopRes's present power held until
    the next response (the simulated charger keeps its output between requests), ending at PowerDelivery Stop."""
    responses = [m for m in messages if m["dir"] == "tx" and m["msg"] in (f"{service.upper()}_ChargeLoopRes",
                                                                          "PowerDeliveryRes")]
    start = next(i for i, m in enumerate(responses) if m["msg"] != "PowerDeliveryRes")
    energy = 0.0
    for res, following in zip(responses[start:], responses[start + 1:]):
        if res["msg"] == "PowerDeliveryRes":
            break
        body = res["body"]
        mode = next(v for k, v in body.items() if k.endswith("CLResControlMode"))
        power = (_rational(mode["EVSEPresentActivePower"]) if service == "ac"
                 else _rational(body["EVSEPresentVoltage"]) * _rational(body["EVSEPresentCurrent"]))
        energy += power * (following["t"] - res["t"]) / 3600
    return energy


def _tls_args(tls: bool, pki, trust) -> list[str]:
    if not tls:
        return ["--no-tls"]
    return ["--tls", "--tls-profile", "compat", "--pki", str(pki.ours), "--trust", str(trust)]


# Control mode and transport are independent layers: Scheduled runs over plain TCP only, to keep the suite short.
TRANSPORT_AND_MODE = pytest.mark.parametrize("tls, mode", [(False, "dynamic"), (True, "dynamic"), (False, "scheduled")],
                                             ids=["tcp-dynamic", "tls13-dynamic", "tcp-scheduled"])


@TRANSPORT_AND_MODE
@pytest.mark.parametrize("service", ["dc", "ac"])
def test_our_ev_completes_a_session_against_josev_secc(service, tls, mode, cross_pki, warm_up_corpus, josev_peer,
                                                       tmp_path):
    protocol = {"dc": "ISO_15118_20_DC", "ac": "ISO_15118_20_AC"}[service]
    trace = tmp_path / "ev-trace.jsonl"
    with veth_pair("jsecc") as (evse, ev):
        josev = josev_peer(evse.netns, "secc", "-i", evse.ifname, "--protocols", protocol,
                           "--warm-up-corpus", str(warm_up_corpus), *(["--tls", "--pki", str(cross_pki.josev)]
                                                                       if tls else []))
        josev.wait_for("ready", timeout=60)
        run = subprocess.run(
            _ours(ev.netns, "ev", "-i", ev.ifname, *_tls_args(tls, cross_pki, cross_pki.josev_v2g_root),
                  "--service", service, "--mode", mode, "--charge-loops", "8", "--json",
                  "--trace", str(trace)),
            capture_output=True, text=True, timeout=SESSION_TIMEOUT)
        assert run.returncode == 0, f"{run.stdout}\n{run.stderr}\n--- Josev:\n{josev.log_tail()}"
        ended = josev.wait_for("session_end", timeout=SESSION_TIMEOUT)

    summary = json.loads(run.stdout)
    assert summary["outcome"] == "completed" and summary["mode"] == mode
    assert summary["protocol"] == f"urn:iso:std:iso:15118:-20:{service.upper()}"
    assert summary["charge_loops"] == 8 == josev.sent(f"{service.upper()}_ChargeLoopRes")
    assert summary["energy_wh"]["import"] > 0
    last = _trace(trace)[-1]
    assert (last["dir"], last["msg"], last["body"]["ResponseCode"]) == ("rx", "SessionStopRes", "OK")
    # Josev's own view: it answered SessionStopReq and closed the session as a normal end.
    assert ended["successful"] and ended["state"] == "SessionStop", ended
    assert "Communication session terminated" in ended["reason"] and josev.sent("SessionStopRes") == 1
    # Our contexts allow TLS 1.3 only, so a session that got this far over TLS ran on TLS 1.3.
    assert ("TLS server started" if tls else "TCP server started") in josev.log()


# What our SECC offers Josev's EVCC, each a choice the standard leaves to the SECC (docs/interop.md): EIM only
# (Josev's EVCC always picks PnC when offered, and fails without a contract certificate), no MeteringConfirmation
# request (Josev's EVCC raises NotImplementedError on that EVSENotification). Josev's EVCC takes the first
# parameter set offered, so offering one control mode selects it.
JOSEV_COMPATIBLE_SECC = {"auth_services": ["EIM"], "metering_confirmation": False}


@TRANSPORT_AND_MODE
@pytest.mark.parametrize("service", ["dc", "ac"])
def test_josev_ev_completes_a_session_against_our_secc(service, tls, mode, cross_pki, warm_up_corpus, josev_peer,
                                                       tmp_path):
    config = tmp_path / "secc.json"
    config.write_text(json.dumps({**JOSEV_COMPATIBLE_SECC, "services": [service], "control_modes": [mode]}))
    trace = tmp_path / "secc-trace.jsonl"
    with veth_pair("jevcc") as (evse, ev):
        secc = subprocess.Popen(
            _ours(evse.netns, "secc", "-i", evse.ifname, "--config", str(config),
                  *_tls_args(tls, cross_pki, cross_pki.josev_oem_root), "--sessions", "1", "--json",
                  "--trace", str(trace)),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert json.loads(secc.stdout.readline())["event"] == "listening"
            josev = josev_peer(ev.netns, "evcc", "-i", ev.ifname, "--service", service,
                               # AC is capped at Josev's 11 kW: enough loops for a few Wh on a fast machine
                               "--loops", "8" if service == "dc" else "30", "--warm-up-corpus", str(warm_up_corpus),
                               *(["--tls", "--pki", str(cross_pki.josev)] if tls else []))
            ended = josev.wait_for("session_end", timeout=60 + SESSION_TIMEOUT)
            out, err = secc.communicate(timeout=SESSION_TIMEOUT)
        finally:
            if secc.poll() is None:
                secc.kill()

    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    summary, sealed = lines[-1], [e for e in lines if e.get("event") == "session_sealed"]
    assert summary["outcomes"][0]["outcome"] == "completed", f"{out}\n{err}\n--- Josev:\n{josev.log_tail()}"
    assert ended["successful"] and ended["state"] == "SessionStop", ended
    assert "Communication session terminated" in ended["reason"]
    messages = _trace(trace)
    stop = [m for m in messages if m["msg"] == "SessionStopRes"]
    assert [m["body"]["ResponseCode"] for m in stop] == ["OK"] and messages[-1] == stop[0]
    loop = f"{service.upper()}_ChargeLoopReq"
    loops = [m for m in messages if m["msg"] == loop]
    assert josev.sent(loop) == len(loops) > 0
    assert all(f"{mode.capitalize()}_{service.upper()}_CLReqControlMode" in m["body"] for m in loops)
    # The seal is the meter's whole-Wh reading of what the charge loop reported delivering.
    delivered = _delivered_wh(messages, service)
    assert delivered > 0 and sealed, sealed
    assert abs(sealed[0]["meter_info"]["ChargedEnergyReadingWh"] - delivered) <= 1 + 0.05 * delivered, \
        (sealed, delivered)
    assert f"Starting {'TLS' if tls else 'TCP'} client" in josev.log()


def test_our_ev_stops_cleanly_when_josev_secc_supports_none_of_its_protocols(cross_pki, warm_up_corpus,
                                                                              josev_peer, tmp_path):
    trace = tmp_path / "ev-trace.jsonl"
    with veth_pair("jsap") as (evse, ev):
        josev = josev_peer(evse.netns, "secc", "-i", evse.ifname, "--protocols", "ISO_15118_20_DC",
                           "--warm-up-corpus", str(warm_up_corpus))
        josev.wait_for("ready", timeout=60)
        run = subprocess.run(_ours(ev.netns, "ev", "-i", ev.ifname, "--no-tls", "--service", "ac", "--json",
                                   "--trace", str(trace)),
                             capture_output=True, text=True, timeout=SESSION_TIMEOUT)
        ended = josev.wait_for("session_end", timeout=SESSION_TIMEOUT)

    summary = json.loads(run.stdout)
    assert run.returncode != 0 and summary["outcome"] == "failed", run.stdout
    assert "no common protocol" in summary["reason"]
    res = [m for m in _trace(trace) if m["msg"] == "supportedAppProtocolRes"]
    assert [m["body"]["ResponseCode"] for m in res] == ["Failed_NoNegotiation"]
    assert [m["msg"] for m in _trace(trace) if m["dir"] == "tx"] == ["supportedAppProtocolReq"]
    assert not ended["successful"] and ended["state"] == "SupportedAppProtocol", ended
