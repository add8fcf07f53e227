"""Bounded fuzzing of the verifiers: random signature bytes, random SignedInfo values, bit flips on the wire,
random certificates. Only typed outcomes are allowed (SignatureError / a ResponseCode), never a crash."""
import copy

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import exi
from exi import ExiError
from iso15118.security import (SignatureError, sign_authorization_req, sign_metering_data, verify_authorization_req,
                               verify_metering_confirmation, verify_signature)

from .helpers import metering_confirmation_req, pnc_authorization_req, signed_metering_data

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.fixture(scope="module")
def signed(pki):
    data = signed_metering_data()
    req = metering_confirmation_req(data, sign_metering_data(data, pki.load_private_key("contract")))
    return req, pki.load_certificate("contract")


@FUZZ
@given(value=st.binary(min_size=0, max_size=200))
def test_random_signature_values_only_raise_signature_error(signed, value):
    req, cert = signed
    req = copy.deepcopy(req)
    req.Header.Signature.SignatureValue.value = value
    with pytest.raises(SignatureError):
        verify_metering_confirmation(req, cert)


@FUZZ
@given(digest=st.binary(max_size=80), uri=st.text(max_size=40), method=st.text(max_size=60),
       digest_method=st.text(max_size=60))
def test_random_signed_info_values_only_raise_signature_error(signed, digest, uri, method, digest_method):
    req, cert = signed
    signature = copy.deepcopy(req.Header.Signature)
    ref = signature.SignedInfo.Reference[0]
    ref.DigestValue, ref.URI, ref.DigestMethod.Algorithm = digest, uri, digest_method
    signature.SignedInfo.SignatureMethod.Algorithm = method
    data = req.SignedMeteringData
    with pytest.raises(SignatureError):
        verify_signature(signature, [(data.Id, data)], cert)


@FUZZ
@given(st.data())
def test_bit_flips_on_the_wire_are_rejected_unless_only_unsigned_header_bits_changed(signed, data):
    req, cert = signed
    wire = bytearray(exi.encode(req, schema="iso20"))
    for _ in range(data.draw(st.integers(1, 3))):
        bit = data.draw(st.integers(0, len(wire) * 8 - 1))
        wire[bit // 8] ^= 0x80 >> (bit % 8)
    try:
        received = exi.decode(bytes(wire), schema="iso20")
    except ExiError:
        return
    try:
        verify_metering_confirmation(received, cert)
    except SignatureError:
        return
    # accepted: the signed element and the signature must be exactly what was sent (SessionID / TimeStamp
    # of the header are not signed)
    assert received.SignedMeteringData == req.SignedMeteringData and received.Header.Signature == req.Header.Signature


@FUZZ
@given(leaf=st.binary(max_size=300), sub=st.binary(max_size=300))
def test_random_contract_certificates_give_a_certificate_response_code(pki_p521, leaf, sub):
    req = sign_authorization_req(pnc_authorization_req(pki_p521), pki_p521.load_private_key("contract"))
    chain = req.PnC_AReqAuthorizationMode.ContractCertificateChain
    chain.Certificate, chain.SubCertificates.Certificate = leaf, [sub]
    verdict = verify_authorization_req(req, [pki_p521.load_certificate("mo_root")])
    assert verdict.response_code.startswith("WARNING_Certificate") or verdict.response_code == "FAILED_SignatureError"


@FUZZ
@given(st.data())
def test_corrupted_real_contract_certificates_give_a_certificate_response_code(pki_p521, data):
    req = sign_authorization_req(pnc_authorization_req(pki_p521), pki_p521.load_private_key("contract"))
    chain = req.PnC_AReqAuthorizationMode.ContractCertificateChain
    der = bytearray(chain.Certificate)
    for _ in range(data.draw(st.integers(1, 4))):
        der[data.draw(st.integers(0, len(der) - 1))] = data.draw(st.integers(0, 255))
    chain.Certificate = bytes(der)
    verdict = verify_authorization_req(req, [pki_p521.load_certificate("mo_root")])
    assert verdict.response_code in ("OK", "OK_CertificateExpiresSoon", "FAILED_SignatureError") or \
        verdict.response_code.startswith("WARNING_Certificate")
    if verdict.response_code.startswith("OK"):
        assert bytes(der) == pki_p521.cert_der("contract").read_bytes()  # only an unchanged certificate passes
