"""Interop with an independent implementation: the `iso15118` package 0.31.2 (Josev, EXIficient codec) signs
and verifies -20 PnC AuthorizationReq signatures (ECDSA P-256 / SHA-256, so our compat profile) and we verify
and produce them. Josev runs in a venv of its own, created on first use under ~/.cache/v2g-interop (or the
interpreter named by V2G_JOSEV_PYTHON)."""
import os
import subprocess
import tempfile
from pathlib import Path

import pytest

import exi
from iso15118.security import sign_authorization_req, verify_authorization_req

from tests import interop_env

from .helpers import CHALLENGE, pnc_authorization_req

pytestmark = pytest.mark.interop

SIDE = Path(__file__).with_name("interop") / "josev_side.py"


@pytest.fixture(scope="session")
def josev_python():
    return interop_env.josev_python()


def _josev(python, mode, pki, stdin=""):
    # run from an empty directory so that `iso15118` resolves to Josev's package, not ours
    with tempfile.TemporaryDirectory() as cwd:
        done = subprocess.run([python, str(SIDE), mode, str(pki.directory)], input=stdin, capture_output=True,
                              text=True, timeout=120, cwd=cwd, env={**os.environ, "PYTHONPATH": ""})
    lines = [line for line in done.stdout.splitlines() if line.startswith(("HEX ", "JSON "))]
    assert done.returncode == 0 and lines, done.stderr[-2000:]
    return lines[-1].split(" ", 1)[1]


def test_we_verify_a_pnc_authorization_req_signed_by_josev(josev_python, pki_compat):
    req = exi.decode(bytes.fromhex(_josev(josev_python, "sign", pki_compat)), schema="iso20")
    roots = [pki_compat.load_certificate("mo_root")]
    verdict = verify_authorization_req(req, roots, gen_challenge=CHALLENGE, profile="compat")
    assert (verdict.response_code, verdict.emaid) == ("OK", pki_compat.emaid)
    req.PnC_AReqAuthorizationMode.GenChallenge = bytes(16)
    assert verify_authorization_req(req, roots, profile="compat").response_code == "FAILED_SignatureError"


def test_josev_verifies_a_pnc_authorization_req_we_signed(josev_python, pki_compat):
    signed = sign_authorization_req(pnc_authorization_req(pki_compat), pki_compat.load_private_key("contract"))
    verdict = _josev(josev_python, "verify", pki_compat, exi.encode(signed, schema="iso20").hex())
    assert verdict == '{"verified": true}'
    signed.PnC_AReqAuthorizationMode.GenChallenge = bytes(16)
    verdict = _josev(josev_python, "verify", pki_compat, exi.encode(signed, schema="iso20").hex())
    assert verdict == '{"verified": false}'
