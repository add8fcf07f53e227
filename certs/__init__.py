"""ISO 15118-20 PKI: certificate profiles, provisioning, chain validation, OCSP, contract key delivery.

Create and locate a PKI (layout documented in `certs.pki`):
    pki = create_pki(directory, PkiConfig(algorithm="secp521r1"|"ed448", profile="iso20"|"compat",
                                          evseid=..., emaid=..., evccid=..., pcid=..., key_password=b"..."))
    pki = Pki.load(directory)
    pki.cert(role) / pki.cert_der(role) / pki.key(role) / pki.chain(leaf) / pki.root_of(role)
    pki.ocsp_response(role) / pki.x448_key / pki.load_certificate(role) / pki.load_chain(leaf)
    pki.load_private_key(role, password)
  Roles (certs.profiles.ROLES): v2g_root, cpo_sub_ca1, cpo_sub_ca2, secc, ocsp_signer, mo_root, mo_sub_ca1,
  mo_sub_ca2, contract, oem_root, oem_sub_ca1, oem_sub_ca2, oem_prov, vehicle, cps_sub_ca1, cps_sub_ca2, cps.

Validate:
    verify_chain(leaf, intermediates, roots, role="secc"|"vehicle"|("vehicle","oem_prov")|..., now=None,
                 profile="iso20") -> [leaf, ..., root]      raises CertificateError
    load_certificates(pem_or_der_bytes) -> list[x509.Certificate]
  CertificateError.code (ERR_CERT_EXPIRED, ERR_CERT_UNTRUSTED, ERR_CERT_EKU, ...), .response_code (the -20
  ResponseCode: WARNING_CertificateExpired / ...NotYetValid / ...Revoked / ...ValidationError), .certificate,
  .rule, .to_dict().

OCSP:
    build_ocsp_response(cert, issuer, responder_cert, responder_key, now=None, revoked_at=None) -> DER
    write_secc_ocsp_responses(pki, password=None) -> {role: DER}   (ocsp/secc.der, cpo_sub_ca2.der, cpo_sub_ca1.der)
    verify_ocsp_response(der, cert, issuer, now=None)              raises CertificateError

Revocation (CRLs in crl/<ca>.der|.pem of the PKI directory; layout and rules in `certs.revocation`):
    revoke(pki, cert, reason=None, password=None) -> (ca_role, crl_path)   adds cert to its issuer's CRL
    write_crl(pki, ca_role, add=(), password=None) -> crl_path               (re)issues with the next cRLNumber
    check_revocation(chain, RevocationSources(crls=[...], ocsp_responses=[...]), policy="off"|"soft"|"hard",
                     now=None) -> [RevocationStatus]     raises CertificateError (ERR_CERT_REVOKED, ERR_CRL_INVALID,
                     ERR_REVOCATION_STALE / ERR_REVOCATION_UNKNOWN under "hard")

Contract key delivery (CertificateInstallationRes, facts/signatures.md §3):
    encrypt_contract_key(contract_key, contract_cert, oem_public_key, pcid) -> EncryptedContractKey
        (.curve "SECP521"|"X448", .dh_public_key 133/57 bytes, .encrypted_private_key 94/84 bytes)
    decrypt_contract_key(encrypted, oem_private_key, contract_cert, pcid) -> private key   raises KeyDeliveryError
"""
from certs.contract_key import EncryptedContractKey, decrypt_contract_key, encrypt_contract_key
from certs.errors import CertificateError, KeyDeliveryError
from certs.ocsp import build_ocsp_response, verify_ocsp_response, write_secc_ocsp_responses
from certs.pki import Pki, PkiConfig, create_pki
from certs.profiles import ROLES, Algorithm, Profile
from certs.revocation import (RevocationPolicy, RevocationSources, RevocationStatus, check_revocation, revoke,
                              write_crl)
from certs.verify import load_certificates, verify_chain

__all__ = ["Algorithm", "CertificateError", "EncryptedContractKey", "KeyDeliveryError", "Pki", "PkiConfig",
           "Profile", "ROLES", "RevocationPolicy", "RevocationSources", "RevocationStatus", "build_ocsp_response",
           "check_revocation", "create_pki", "decrypt_contract_key", "encrypt_contract_key", "load_certificates",
           "revoke", "verify_chain", "verify_ocsp_response", "write_crl", "write_secc_ocsp_responses"]
