"""`v2g secc` and `v2g ev` in two network namespaces joined by a veth pair: SDP on ff02::1, then TLS 1.3 to
the SECC's link-local address, as on a PLC link."""
import json
import subprocess
import sys

import pytest

from tests.netns import require_root, veth_pair

pytestmark = pytest.mark.netns


@pytest.fixture(scope="module")
def pki_dir(tmp_path_factory):
    from certs import PkiConfig, create_pki
    return str(create_pki(tmp_path_factory.mktemp("pki"), PkiConfig()).directory)


def _in(netns, *argv):
    return ["ip", "netns", "exec", netns, sys.executable, "-m", "iso15118", *argv]


@pytest.mark.parametrize("tls, service, mode", [(True, "dc_bpt", "scheduled"), (False, "ac", "dynamic")])
def test_session_across_a_veth_pair(pki_dir, tls, service, mode):
    require_root()
    security = ["--tls", "--pki", pki_dir] if tls else ["--no-tls"]
    with veth_pair("v2gs") as (evse, ev):
        secc = subprocess.Popen(_in(evse.netns, "secc", "-i", evse.ifname, *security, "--sessions", "1"),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            listening = json.loads(secc.stdout.readline())
            assert listening["tls"] is tls
            run = subprocess.run(_in(ev.netns, "ev", "-i", ev.ifname, *security, "--service", service, "--mode",
                                     mode, "--charge-loops", "8", "--discharge-loops", "8", "--json"),
                                 capture_output=True, text=True, timeout=60)
            secc.communicate(timeout=30)
        finally:
            if secc.poll() is None:
                secc.kill()
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)
    assert summary["outcome"] == "completed" and summary["charge_loops"] == (16 if service.endswith("bpt") else 8)
    assert summary["energy_wh"]["import"] > 0
