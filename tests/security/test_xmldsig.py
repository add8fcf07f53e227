"""XML signatures over EXI: algorithm URIs, digests, SignatureValue form, -20 restrictions, tampering, and
bit-exactness against independent vectors (ISO 15118-2 Annex J.2, the Josev/EXIficient corpus)."""
import copy
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives import hashes

import exi
from exi.generated.xmldsig import KeyInfo, Signature, SignatureValue, Transform
from iso15118.security import (ED448, ERR_SIG_INVALID, P256_COMPAT, P521, SignatureError, build_signed_info,
                               element_fragment, reference_digest, sign_elements, signed_info_fragment,
                               verify_signature)

from .conftest import josev_vector
from .helpers import pnc_authorization_req, signed_metering_data

# Algorithm URIs as the -20 text gives them [V2G20-2473..2476, 766] (facts/signatures.md §1)
URIS = {"p521": ("http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512", "http://www.w3.org/2001/04/xmlenc#sha512"),
        "ed448": ("urn:iso:std:iso:15118:-20:Security:xmldsig#Ed448",
                  "urn:iso:std:iso:15118:-20:Security:xmlenc#SHAKE256")}
C14N = "http://www.w3.org/TR/canonical-exi/"


def _signed(pki):
    mode = pnc_authorization_req(pki).PnC_AReqAuthorizationMode
    key = pki.load_private_key("contract")
    return mode, sign_elements([(mode.Id, mode)], key), pki.load_certificate("contract")


def _name(pki):
    return pki.algorithm.value.replace("secp521r1", "p521")


def test_signature_uses_the_minus20_uris_and_canonical_exi(pki):
    mode, signature, _ = _signed(pki)
    info = signature.SignedInfo
    method, digest = URIS[_name(pki)]
    assert info.CanonicalizationMethod.Algorithm == C14N and info.SignatureMethod.Algorithm == method
    (ref,) = info.Reference
    assert ref.URI == "#id1" and ref.DigestMethod.Algorithm == digest
    assert [t.Algorithm for t in ref.Transforms.Transform] == [C14N]
    assert info.Id is None and signature.KeyInfo is None and ref.Type is None


def test_digest_is_taken_over_the_common_messages_fragment_with_header_byte(pki):
    mode, signature, _ = _signed(pki)
    fragment = exi.encode(mode, schema="iso20", fragment=True, element="PnC_AReqAuthorizationMode")
    assert fragment[0] == 0x80
    expected = (hashlib.sha512(fragment).digest() if _name(pki) == "p521"
                else hashlib.shake_256(fragment).digest(64))
    assert signature.SignedInfo.Reference[0].DigestValue == expected


def test_signature_value_is_raw_and_verifies_independently_over_the_xmldsig_fragment(pki):
    _, signature, cert = _signed(pki)
    signed = exi.encode(signature.SignedInfo, schema="xmldsig", fragment=True)
    assert signed[:2] == bytes.fromhex("8081")  # SE(SignedInfo) = 32 in 6 bits: xmldsig-only grammar
    value = signature.SignatureValue.value
    if _name(pki) == "p521":
        assert len(value) == 132  # r ‖ s, 66 bytes each [V2G20-1000]
        der = encode_dss_signature(int.from_bytes(value[:66], "big"), int.from_bytes(value[66:], "big"))
        cert.public_key().verify(der, signed, ec.ECDSA(hashes.SHA512()))
    else:
        assert len(value) == 114
        cert.public_key().verify(value, signed)


def test_round_trip_verifies_also_after_the_whole_message_crosses_the_codec(pki):
    req = pnc_authorization_req(pki)
    mode = req.PnC_AReqAuthorizationMode
    req.Header.Signature = sign_elements([(mode.Id, mode)], pki.load_private_key("contract"))
    back = exi.decode(exi.encode(req, schema="iso20"), schema="iso20")
    verify_signature(back.Header.Signature, [("id1", back.PnC_AReqAuthorizationMode)],
                     pki.load_certificate("contract"))


MODE_TAMPERING = {
    "GenChallenge": lambda m: setattr(m, "GenChallenge", bytes(16)),
    "Id": lambda m: setattr(m, "Id", "id2"),
    "leaf certificate": lambda m: setattr(m.ContractCertificateChain, "Certificate",
                                          m.ContractCertificateChain.Certificate[:-1] + bytes(
                                              [m.ContractCertificateChain.Certificate[-1] ^ 1])),
    "sub certificate dropped": lambda m: m.ContractCertificateChain.SubCertificates.Certificate.pop(),
}


@pytest.mark.parametrize("field", MODE_TAMPERING)
def test_tampering_with_a_signed_field_is_detected(pki, field):
    mode, signature, cert = _signed(pki)
    MODE_TAMPERING[field](mode)
    with pytest.raises(SignatureError) as info:
        verify_signature(signature, [(mode.Id, mode)], cert)
    assert info.value.code == ERR_SIG_INVALID and info.value.response_code == "FAILED_SignatureError"
    assert info.value.rule in ("digest", "reference-set")


SIGNATURE_TAMPERING = {
    "SignatureValue bit": (lambda s: setattr(s.SignatureValue, "value",
                                             bytes([s.SignatureValue.value[0] ^ 1]) + s.SignatureValue.value[1:]),
                           "signature-value"),
    "SignatureValue truncated": (lambda s: setattr(s.SignatureValue, "value", s.SignatureValue.value[:-1]),
                                 "signature-length"),
    "DigestValue": (lambda s: setattr(s.SignedInfo.Reference[0], "DigestValue", bytes(64)), "digest"),
    "Reference URI": (lambda s: setattr(s.SignedInfo.Reference[0], "URI", "#other"), "reference-set"),
    "duplicate Reference": (lambda s: s.SignedInfo.Reference.append(copy.deepcopy(s.SignedInfo.Reference[0])),
                            "reference-set"),
    "unknown SignatureMethod": (lambda s: setattr(s.SignedInfo.SignatureMethod, "Algorithm",
                                                  "http://www.w3.org/2000/09/xmldsig#rsa-sha1"), "signature-method"),
    "other DigestMethod": (lambda s: setattr(s.SignedInfo.Reference[0].DigestMethod, "Algorithm",
                                             "http://www.w3.org/2000/09/xmldsig#sha1"), "digest-method"),
    "CanonicalizationMethod": (lambda s: setattr(s.SignedInfo.CanonicalizationMethod, "Algorithm",
                                                 "http://www.w3.org/2001/10/xml-exc-c14n#"), "canonicalization"),
    "HMACOutputLength": (lambda s: setattr(s.SignedInfo.SignatureMethod, "HMACOutputLength", 128),
                         "forbidden-content"),
    "Reference Type": (lambda s: setattr(s.SignedInfo.Reference[0], "Type", "urn:x"), "forbidden-content"),
    "SignedInfo Id": (lambda s: setattr(s.SignedInfo, "Id", "si"), "forbidden-content"),
    "KeyInfo": (lambda s: setattr(s, "KeyInfo", KeyInfo(KeyName=["k"])), "forbidden-content"),
    "second Transform": (lambda s: s.SignedInfo.Reference[0].Transforms.Transform.append(Transform(Algorithm=C14N)),
                         "transform"),
    "XPath Transform": (lambda s: s.SignedInfo.Reference[0].Transforms.Transform[0].XPath.append("/"), "transform"),
    "no Transforms": (lambda s: setattr(s.SignedInfo.Reference[0], "Transforms", None), "transform"),
}


@pytest.mark.parametrize("change", SIGNATURE_TAMPERING)
def test_altered_or_forbidden_signature_content_is_rejected(pki_p521, change):
    mode, signature, cert = _signed(pki_p521)
    mutate, rule = SIGNATURE_TAMPERING[change]
    mutate(signature)
    with pytest.raises(SignatureError) as info:
        verify_signature(signature, [(mode.Id, mode)], cert)
    assert info.value.rule == rule


def test_missing_signature_is_a_signature_error(pki_p521):
    mode, _, cert = _signed(pki_p521)
    with pytest.raises(SignatureError) as info:
        verify_signature(None, [(mode.Id, mode)], cert)
    assert info.value.rule == "missing" and info.value.response_code == "FAILED_SignatureError"


def test_wrong_key_of_the_same_curve_is_rejected(pki_p521, other_pki):
    mode, signature, _ = _signed(pki_p521)
    with pytest.raises(SignatureError) as info:
        verify_signature(signature, [(mode.Id, mode)], other_pki.load_certificate("contract"))
    assert info.value.rule == "signature-value"


def test_key_of_another_algorithm_is_rejected_before_any_crypto(pki_p521, pki_ed448):
    mode, signature, _ = _signed(pki_p521)
    with pytest.raises(SignatureError) as info:
        verify_signature(signature, [(mode.Id, mode)], pki_ed448.load_certificate("contract"))
    assert info.value.rule == "key-type"


def test_an_element_left_unsigned_is_rejected(pki_p521):
    mode, signature, cert = _signed(pki_p521)
    data = signed_metering_data()
    with pytest.raises(SignatureError) as info:
        verify_signature(signature, [(mode.Id, mode), (data.Id, data)], cert)
    assert info.value.rule == "reference-set"


def test_several_references_sign_and_verify(pki_p521):
    mode, _, cert = _signed(pki_p521)
    data = signed_metering_data()
    signature = sign_elements([(mode.Id, mode), (data.Id, data)], pki_p521.load_private_key("contract"))
    assert [r.URI for r in signature.SignedInfo.Reference] == ["#id1", "#SignedMeteringData"]
    verify_signature(signature, [(data.Id, data), (mode.Id, mode)], cert)


def test_mismatched_id_is_refused_when_signing(pki_p521):
    mode, _, _ = _signed(pki_p521)
    with pytest.raises(ValueError):
        sign_elements([("not-its-id", mode)], pki_p521.load_private_key("contract"))


# --- vectors from independent implementations --------------------------------------------------------------

def test_signed_info_bytes_equal_the_exificient_vector():
    """Josev corpus `frag_SignedInfo_1ref_for_AuthorizationReq` (EXIficient 1.55): our SignedInfo builder with
    the same algorithm URIs and DigestValue yields the identical 209 octets."""
    vector = josev_vector("frag_SignedInfo_1ref_for_AuthorizationReq")
    digest = exi.decode(bytes.fromhex(vector["exi_hex"]), schema="xmldsig", fragment=True).Reference[0].DigestValue
    built = build_signed_info([("id1", digest)], P256_COMPAT)
    assert signed_info_fragment(built).hex() == vector["exi_hex"]


def test_certificate_installation_vector_reference_and_signed_info_match_ours():
    """Josev corpus `CertificateInstallationReq_signed_full`: our digest of its OEMProvisioningCertificateChain
    equals the DigestValue it carries, and our SignedInfo for that digest equals its SignedInfo."""
    vector = josev_vector("CertificateInstallationReq_signed_full")
    msg = exi.decode(bytes.fromhex(vector["exi_hex"]), schema="iso20")
    chain = msg.OEMProvisioningCertificateChain
    digest = reference_digest(chain, P256_COMPAT)
    assert len(element_fragment(chain)) == 1376  # facts/exi.md §7
    assert digest == msg.Header.Signature.SignedInfo.Reference[0].DigestValue
    assert build_signed_info([(chain.Id, digest)], P256_COMPAT) == msg.Header.Signature.SignedInfo


# ISO 15118-2:2014 Annex J.2 worked example (ECDSA P-256 / SHA-256), octets as published in the standard
# (reproduced as test constants in EVerest's EvseV2G openssl_test.cpp): the AuthorizationReq fragment
# (Id "ID1", -2 grammar), its SHA-256, the SHA-256 of the SignedInfo fragment, the signer's public key, and r‖s.
ANNEX_J2_AUTHORIZATION_REQ = bytes.fromhex("80040152510c40829b7b6b2902930b73237b6902230ba309e8")
ANNEX_J2_AUTHORIZATION_REQ_SHA256 = bytes.fromhex(
    "d1b5e03d0065bee56b317984453051eb54ca18fc0e0916174f8b3c77a98f4aa9")
ANNEX_J2_SIGNED_INFO_SHA256 = bytes.fromhex("a4e903e18243041b554e11647e101ed25fc9f2152af4674014fe2adeac1e1cf7")
ANNEX_J2_PUBLIC_KEY = bytes.fromhex(  # X ‖ Y
    "43e4fc4ccb643904279c7a5e6576b323e55ec79ff0e5a4056e334084cbc336ff"
    "46e44c1addf69162e5192c2a83fc2bca9d8f46ecf4b78067c2476f6b3f34600e")
ANNEX_J2_SIGNATURE = bytes.fromhex(
    "4c8f20c1400ba67606aa4811572a2f1ad3c15089d95420363430bb26b49db104"  # r
    "f08dfa8bf8055e63a4b75a8d3169206fa8d54308ba58f0566b96baf692ce5950")  # s


def _annex_j2_element():
    return exi.decode(ANNEX_J2_AUTHORIZATION_REQ, schema="iso2", fragment=True)


def test_annex_j2_reference_digest_and_signed_info_are_bit_exact():
    element = _annex_j2_element()
    assert element.Id == "ID1" and element_fragment(element, "iso2") == ANNEX_J2_AUTHORIZATION_REQ
    digest = reference_digest(element, P256_COMPAT, "iso2")
    assert digest == ANNEX_J2_AUTHORIZATION_REQ_SHA256
    signed = signed_info_fragment(build_signed_info([("ID1", digest)], P256_COMPAT))
    assert signed[:4] == bytes.fromhex("808112b4")  # facts/signatures.md §6
    assert hashlib.sha256(signed).digest() == ANNEX_J2_SIGNED_INFO_SHA256


def _annex_j2_signature(value=ANNEX_J2_SIGNATURE):
    digest = reference_digest(_annex_j2_element(), P256_COMPAT, "iso2")
    return Signature(SignedInfo=build_signed_info([("ID1", digest)], P256_COMPAT),
                     SignatureValue=SignatureValue(value=value))


def test_annex_j2_signature_verifies_with_the_published_key():
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b"\x04" + ANNEX_J2_PUBLIC_KEY)
    verify_signature(_annex_j2_signature(), [("ID1", _annex_j2_element())], key, "iso2")
    flipped = bytes([ANNEX_J2_SIGNATURE[0] ^ 0x80]) + ANNEX_J2_SIGNATURE[1:]
    with pytest.raises(SignatureError):
        verify_signature(_annex_j2_signature(flipped), [("ID1", _annex_j2_element())], key, "iso2")


def test_suites_match_their_key_types(pki_p521, pki_ed448, pki_compat):
    assert P521.fits(pki_p521.load_certificate("contract").public_key())
    assert ED448.fits(pki_ed448.load_certificate("contract").public_key())
    assert P256_COMPAT.fits(pki_compat.load_certificate("contract").public_key())
    assert not P521.fits(pki_compat.load_certificate("contract").public_key())


class _TokenSigner:
    """A key that never leaves its 'token': only public_key() and sign() are reachable (PKCS#11/TPM shape)."""

    def __init__(self, key):
        self._sign = lambda data: P521.sign(key, data)
        self._public = key.public_key()
        self.calls = 0

    def public_key(self):
        return self._public

    def sign(self, data):
        self.calls += 1
        return self._sign(data)


def test_a_pluggable_signer_produces_the_same_kind_of_signature(pki_p521):
    mode = pnc_authorization_req(pki_p521).PnC_AReqAuthorizationMode
    token = _TokenSigner(pki_p521.load_private_key("contract"))
    signature = sign_elements([(mode.Id, mode)], token)
    assert token.calls == 1
    verify_signature(signature, [(mode.Id, mode)], pki_p521.load_certificate("contract"))
