import datetime as dt
import os
import subprocess

import pytest
from hypothesis import given, settings, strategies as st

from certs import CertificateError, build_ocsp_response, verify_ocsp_response, write_secc_ocsp_responses


@pytest.mark.interop
@pytest.mark.parametrize("role, issuer", [("secc", "cpo_sub_ca2"), ("cpo_sub_ca2", "cpo_sub_ca1"),
                                          ("cpo_sub_ca1", "v2g_root")])
def test_openssl_accepts_the_secc_chain_responses(pki, role, issuer):
    result = subprocess.run(["openssl", "ocsp", "-respin", pki.ocsp_response(role), "-issuer", pki.cert(issuer),
                             "-cert", pki.cert(role), "-CAfile", pki.cert("v2g_root"),
                             "-verify_other", pki.chain("ocsp_signer"), "-no_nonce"],
                            capture_output=True, text=True, timeout=30)
    assert "Response verify OK" in result.stderr + result.stdout, result.stderr
    assert f"{pki.cert(role)}: good" in result.stdout


def test_fresh_response_verifies(pki):
    response = verify_ocsp_response(pki.ocsp_response("secc").read_bytes(), pki.load_certificate("secc"),
                                    pki.load_certificate("cpo_sub_ca2"))
    assert response.serial_number == pki.load_certificate("secc").serial_number


def test_responses_older_than_a_week_are_refused(pki):
    der = pki.ocsp_response("secc").read_bytes()
    with pytest.raises(CertificateError) as info:
        verify_ocsp_response(der, pki.load_certificate("secc"), pki.load_certificate("cpo_sub_ca2"),
                             now=dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=8))
    assert (info.value.code, info.value.rule) == ("ERR_OCSP_INVALID", "ocsp-freshness")


def test_revoked_status_maps_to_certificate_revoked(pki):
    now = dt.datetime.now(dt.timezone.utc)
    der = build_ocsp_response(pki.load_certificate("secc"), pki.load_certificate("cpo_sub_ca2"),
                              pki.load_certificate("ocsp_signer"), pki.load_private_key("ocsp_signer"),
                              revoked_at=now - dt.timedelta(hours=1))
    with pytest.raises(CertificateError) as info:
        verify_ocsp_response(der, pki.load_certificate("secc"), pki.load_certificate("cpo_sub_ca2"))
    assert (info.value.code, info.value.response_code) == ("ERR_CERT_REVOKED", "WARNING_CertificateRevoked")


def test_response_for_another_certificate_is_refused(pki):
    with pytest.raises(CertificateError) as info:
        verify_ocsp_response(pki.ocsp_response("secc").read_bytes(), pki.load_certificate("ocsp_signer"),
                             pki.load_certificate("cpo_sub_ca2"))
    assert info.value.rule == "ocsp-serial"


def test_responder_not_authorised_by_the_issuer_is_refused(pki, other_pki):
    der = build_ocsp_response(pki.load_certificate("secc"), pki.load_certificate("cpo_sub_ca2"),
                              other_pki.load_certificate("ocsp_signer"), other_pki.load_private_key("ocsp_signer"))
    with pytest.raises(CertificateError) as info:
        verify_ocsp_response(der, pki.load_certificate("secc"), pki.load_certificate("cpo_sub_ca2"))
    assert info.value.code == "ERR_OCSP_INVALID"


def test_garbage_is_a_typed_error(pki):
    with pytest.raises(CertificateError):
        verify_ocsp_response(b"\x30\x03\x0a\x01\x00", pki.load_certificate("secc"),
                             pki.load_certificate("cpo_sub_ca2"))


def test_ed448_responses_verify(pki_ed448):
    responses = write_secc_ocsp_responses(pki_ed448)
    verify_ocsp_response(responses["secc"], pki_ed448.load_certificate("secc"),
                         pki_ed448.load_certificate("cpo_sub_ca2"))


@settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", 200)), deadline=None)
@given(st.data())
def test_corrupted_staples_raise_only_typed_errors(pki, data):
    der = bytearray(pki.ocsp_response("secc").read_bytes())
    for _ in range(data.draw(st.integers(1, 3))):
        der[data.draw(st.integers(0, len(der) - 1))] ^= data.draw(st.integers(1, 255))
    try:
        verify_ocsp_response(bytes(der), pki.load_certificate("secc"), pki.load_certificate("cpo_sub_ca2"))
    except CertificateError:
        pass  # the only acceptable failure; a flip outside the signed bytes may legitimately still verify
