"""CertificateInstallation: OEM-signed request, CPS-signed response delivering the contract key (P-521)."""
import dataclasses

import pytest

import exi
from certs import CertificateError, KeyDeliveryError
from exi.generated.iso20 import CertificateInstallationReq, EMAIDList, SignedCertificateChain, SubCertificates
from exi.generated.iso20_types import ListOfRootCertificateIDs, X509IssuerSerial
from iso15118.security import (SignatureError, accept_certificate_installation_res,
                               build_certificate_installation_res, sign_authorization_req,
                               sign_certificate_installation_req, verify_authorization_req,
                               verify_certificate_installation_req)

from .helpers import CHALLENGE, der, header, pnc_authorization_req


def _request(pki):
    chain = pki.load_chain("oem_prov")
    root = pki.load_certificate("v2g_root")
    req = CertificateInstallationReq(
        Header=header(),
        OEMProvisioningCertificateChain=SignedCertificateChain(
            Id="id1", Certificate=der(chain[0]), SubCertificates=SubCertificates(Certificate=[der(c) for c in chain[1:]])),
        ListOfRootCertificateIDs=ListOfRootCertificateIDs(RootCertificateID=[X509IssuerSerial(
            X509IssuerName=root.issuer.rfc4514_string(), X509SerialNumber=root.serial_number)]),
        MaximumContractCertificateChains=1, PrioritizedEMAIDs=EMAIDList(EMAID=[pki.emaid]))
    return sign_certificate_installation_req(req, pki.load_private_key("oem_prov"))


def _response(pki, oem_certificate, cps_pki=None):
    cps_pki = cps_pki or pki
    return build_certificate_installation_res(
        header(), oem_certificate, pki.load_private_key("contract"), pki.load_chain("contract"),
        cps_pki.load_private_key("cps"), cps_pki.load_chain("cps"))


def _over_the_wire(message):
    return exi.decode(exi.encode(message, schema="iso20"), schema="iso20")


def _accept(pki, res, roots_pki=None):
    return accept_certificate_installation_res(res, pki.load_private_key("oem_prov"),
                                               [(roots_pki or pki).load_certificate("v2g_root")], None, pki.pcid)


def test_full_installation_delivers_a_contract_key_that_then_authorizes(pki_p521):
    req = _over_the_wire(_request(pki_p521))
    oem = verify_certificate_installation_req(req, [pki_p521.load_certificate("oem_root")])
    assert oem == pki_p521.load_certificate("oem_prov")
    res = _over_the_wire(_response(pki_p521, oem))
    assert len(res.SignedInstallationData.DHPublicKey) == 133
    assert len(res.SignedInstallationData.SECP521_EncryptedPrivateKey) == 94
    installed = _accept(pki_p521, res)
    assert installed.emaid == pki_p521.emaid
    assert installed.certificate == pki_p521.load_certificate("contract")
    expected = pki_p521.load_private_key("contract").private_numbers().private_value
    assert installed.private_key.private_numbers().private_value == expected
    # the installed key signs a PnC AuthorizationReq the SECC accepts
    signed = sign_authorization_req(pnc_authorization_req(pki_p521), installed.private_key)
    verdict = verify_authorization_req(signed, [pki_p521.load_certificate("mo_root")], gen_challenge=CHALLENGE)
    assert verdict.response_code == "OK"


def test_request_signed_with_ed448_oem_key_verifies(pki_ed448):
    req = _over_the_wire(_request(pki_ed448))
    verify_certificate_installation_req(req, [pki_ed448.load_certificate("oem_root")])
    assert len(req.Header.Signature.SignatureValue.value) == 114


def test_ed448_contract_key_cannot_be_delivered(pki_ed448):
    with pytest.raises(KeyDeliveryError) as info:
        _response(pki_ed448, pki_ed448.load_certificate("oem_prov"))
    assert info.value.code == "ERR_KEY_UNSUPPORTED"


def test_request_with_tampered_oem_chain_is_a_signature_error(pki_p521):
    req = _request(pki_p521)
    req.OEMProvisioningCertificateChain.SubCertificates.Certificate.reverse()
    with pytest.raises(SignatureError) as info:
        verify_certificate_installation_req(req, [pki_p521.load_certificate("oem_root")])
    assert info.value.response_code == "FAILED_SignatureError"


def test_request_signed_by_another_oem_key_is_a_signature_error(pki_p521, other_pki):
    req = dataclasses.replace(_request(pki_p521), Header=header())
    req = sign_certificate_installation_req(req, other_pki.load_private_key("oem_prov"))
    with pytest.raises(SignatureError):
        verify_certificate_installation_req(req, [pki_p521.load_certificate("oem_root")])


def test_request_from_an_untrusted_oem_is_a_certificate_error(pki_p521, other_pki):
    with pytest.raises(CertificateError) as info:
        verify_certificate_installation_req(_request(pki_p521), [other_pki.load_certificate("oem_root")])
    assert info.value.response_code == "WARNING_CertificateValidationError"


RESPONSE_TAMPERING = {
    "DHPublicKey": lambda d: setattr(d, "DHPublicKey", d.DHPublicKey[:-1] + bytes([d.DHPublicKey[-1] ^ 1])),
    "encrypted key": lambda d: setattr(d, "SECP521_EncryptedPrivateKey", bytes(94)),
    "contract leaf": lambda d: setattr(d.ContractCertificateChain, "Certificate",
                                       d.ContractCertificateChain.Certificate + b"\x00"),
    "Id": lambda d: setattr(d, "Id", "other"),
}


@pytest.mark.parametrize("field", RESPONSE_TAMPERING)
def test_tampered_signed_installation_data_is_rejected_by_the_ev(pki_p521, field):
    res = _response(pki_p521, pki_p521.load_certificate("oem_prov"))
    RESPONSE_TAMPERING[field](res.SignedInstallationData)
    with pytest.raises(SignatureError):
        _accept(pki_p521, res)


def test_response_signed_by_an_untrusted_cps_is_rejected(pki_p521, other_pki):
    res = _response(pki_p521, pki_p521.load_certificate("oem_prov"), cps_pki=other_pki)
    with pytest.raises(CertificateError) as info:
        _accept(pki_p521, res)
    assert info.value.code == "ERR_CERT_UNTRUSTED"


def test_key_encrypted_for_another_ev_does_not_decrypt(pki_p521, other_pki):
    res = _response(pki_p521, other_pki.load_certificate("oem_prov"))  # CPS signature itself is fine
    with pytest.raises(KeyDeliveryError) as info:
        _accept(pki_p521, res)
    assert info.value.rule == "gcm-tag"


def test_pcid_is_bound_into_the_key_delivery(pki_p521):
    res = _response(pki_p521, pki_p521.load_certificate("oem_prov"))
    with pytest.raises(KeyDeliveryError):
        accept_certificate_installation_res(res, pki_p521.load_private_key("oem_prov"),
                                            [pki_p521.load_certificate("v2g_root")], None, "OTHERPCID000000001")

