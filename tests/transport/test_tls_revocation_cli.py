"""End to end from the command line: `v2g pki revoke` the vehicle certificate and a running `v2g secc` refuses
the `v2g ev` that presents it at TLS, naming ERR_CERT_REVOKED in its log; before, the same session completes."""
import json
import subprocess
import sys

import pytest
from cryptography import x509

V2G = [sys.executable, "-m", "iso15118"]
pytestmark = pytest.mark.interop


def v2g(*args, timeout=60):
    return subprocess.run(V2G + list(map(str, args)), capture_output=True, text=True, timeout=timeout)


def test_a_vehicle_revoked_with_v2g_pki_revoke_is_refused_by_a_running_secc(tmp_path):
    pki = tmp_path / "pki"
    assert v2g("pki", "create", pki).returncode == 0
    secc = subprocess.Popen(V2G + ["secc", "-i", "lo", "--sdp-port", "0", "--tls", "--pki", str(pki)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        listening = json.loads(secc.stdout.readline())
        session = ["ev", "-i", "lo", "--tls", "--pki", pki, "--host", "::1", "--port", listening["port"],
                   "--service", "ac", "--charge-loops", "3", "--json"]
        before = v2g(*session)
        assert before.returncode == 0, before.stderr
        assert json.loads(before.stdout)["outcome"] == "completed"
        revoked = v2g("pki", "revoke", pki, "vehicle", "--reason", "key_compromise", "--json")
        assert revoked.returncode == 0, revoked.stderr
        after = v2g(*session)  # same SECC process: it re-reads the changed CRL
        assert after.returncode != 0
        assert json.loads(after.stdout)["outcome"] != "completed"
    finally:
        secc.terminate()
        _, log = secc.communicate(timeout=30)
    vehicle = x509.load_pem_x509_certificate((pki / "certs" / "vehicle.pem").read_bytes())
    rejections = [json.loads(line) for line in log.splitlines() if '"tls_peer_rejected"' in line]
    assert [(r["code"], r["certificate"]) for r in rejections] == [
        ("ERR_CERT_REVOKED", vehicle.subject.rfc4514_string())]


@pytest.mark.parametrize("policy, remove_crls, completes, code", [
    ("off", False, True, None),  # a revoked vehicle passes only because the operator switched the check off
    ("hard", True, False, "ERR_REVOCATION_UNKNOWN"),  # no CRL at all: soft would accept, hard refuses
])
def test_v2g_secc_revocation_option_sets_the_policy(tmp_path, policy, remove_crls, completes, code):
    pki = tmp_path / "pki"
    assert v2g("pki", "create", pki).returncode == 0
    assert v2g("pki", "revoke", pki, "vehicle").returncode == 0
    if remove_crls:
        for crl in (pki / "crl").iterdir():
            crl.unlink()
    secc = subprocess.Popen(V2G + ["secc", "-i", "lo", "--sdp-port", "0", "--tls", "--pki", str(pki),
                                   "--revocation", policy], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        port = json.loads(secc.stdout.readline())["port"]
        run = v2g("ev", "-i", "lo", "--tls", "--pki", pki, "--host", "::1", "--port", port, "--service", "ac",
                  "--charge-loops", "2", "--json")
    finally:
        secc.terminate()
        _, log = secc.communicate(timeout=30)
    assert (json.loads(run.stdout)["outcome"] == "completed") is completes, run.stderr
    rejections = [json.loads(line)["code"] for line in log.splitlines() if '"tls_peer_rejected"' in line]
    assert rejections == ([code] if code else [])
