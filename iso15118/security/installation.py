"""CertificateInstallation (facts/iso15118-20.md §7.4, signatures.md §2–§3).

EV:   sign_certificate_installation_req(req, oem_prov_key) -> req with Header.Signature over
      OEMProvisioningCertificateChain [V2G20-1548].
SECC: verify_certificate_installation_req(req, oem_roots, now) -> the verified OEM provisioning certificate.
CPS:  build_certificate_installation_res(...) -> CertificateInstallationRes whose SignedInstallationData holds
      the contract chain and the contract private key encrypted for the EV's OEM provisioning key
      (`certs.encrypt_contract_key`), signed with the CPS leaf key [V2G20-1077/2648]. In production the
      secondary actor produces this; the SECC only relays it. The emulated backend of the tests/demo uses it.
EV:   accept_certificate_installation_res(res, oem_prov_key, v2g_roots, now, pcid) -> InstalledContract:
      CPS chain to a trusted root without revocation check [V2G20-1078], signature over SignedInstallationData,
      then decrypt and match the contract key (certs); any failure rejects the Res [V2G20-2649/2504].

Only SECP521 delivery works end to end: the XSD fixes DHPublicKey at 133 bytes (an X448 key is 57) and an
Ed448 contract key has no defined encoding (certs raises ERR_KEY_UNSUPPORTED).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence

from cryptography import x509

from certs import EncryptedContractKey, Profile, decrypt_contract_key, encrypt_contract_key, verify_chain
from exi.generated.iso20 import (CertificateChain, CertificateInstallationReq, CertificateInstallationRes,
                                 ContractCertificateChain, EcdhCurve, SignedInstallationData, SubCertificates)
from exi.generated.iso20_types import MessageHeader, Processing

from ._certificates import as_datetime, chain_of, common_name, der_chain
from .xmldsig import sign_elements, verify_signature

SIGNED_INSTALLATION_DATA_ID = "SignedInstallationData"


@dataclasses.dataclass(frozen=True)
class InstalledContract:
    """What the EV stores after a successful CertificateInstallation."""

    private_key: object
    certificate: x509.Certificate
    sub_certificates: list[x509.Certificate]
    emaid: str


def sign_certificate_installation_req(req: CertificateInstallationReq, oem_prov_key) -> CertificateInstallationReq:
    chain = req.OEMProvisioningCertificateChain
    signature = sign_elements([(chain.Id, chain)], oem_prov_key, "iso20")
    return dataclasses.replace(req, Header=dataclasses.replace(req.Header, Signature=signature))


def verify_certificate_installation_req(req: CertificateInstallationReq, oem_roots: Sequence[x509.Certificate],
                                        now: float | dt.datetime | None = None, *,
                                        profile: Profile | str = Profile.ISO20) -> x509.Certificate:
    """The OEM provisioning leaf, after its chain and the request signature check out.

    Raises certs.CertificateError (chain; `.response_code` WARNING_Certificate*) or SignatureError
    (FAILED_SignatureError).
    """
    chain = req.OEMProvisioningCertificateChain
    leaf, sub_cas = chain_of(chain)
    verify_chain(leaf, sub_cas, oem_roots, role="oem_prov", now=as_datetime(now), profile=profile)
    verify_signature(req.Header.Signature, [(chain.Id, chain)], leaf, "iso20")
    return leaf


def _delivery_fields(encrypted: EncryptedContractKey) -> dict:
    field = {"SECP521": "SECP521_EncryptedPrivateKey", "X448": "X448_EncryptedPrivateKey"}[encrypted.curve]
    return {"ECDHCurve": EcdhCurve(encrypted.curve), "DHPublicKey": encrypted.dh_public_key,
            field: encrypted.encrypted_private_key}


def build_certificate_installation_res(header: MessageHeader, oem_certificate: x509.Certificate, contract_key,
                                       contract_chain: Sequence[x509.Certificate], cps_key,
                                       cps_chain: Sequence[x509.Certificate], *,
                                       remaining_chains: int = 0) -> CertificateInstallationRes:
    """`contract_chain` / `cps_chain`: leaf first, Sub-CAs after, root excluded. The PCID for the key
    delivery AAD is the OEM provisioning certificate's CN."""
    encrypted = encrypt_contract_key(contract_key, contract_chain[0], oem_certificate.public_key(),
                                     common_name(oem_certificate))
    contract_leaf, contract_subs = der_chain(list(contract_chain))
    data = SignedInstallationData(
        Id=SIGNED_INSTALLATION_DATA_ID,
        ContractCertificateChain=ContractCertificateChain(
            Certificate=contract_leaf, SubCertificates=SubCertificates(Certificate=contract_subs)),
        **_delivery_fields(encrypted))
    cps_leaf, cps_subs = der_chain(list(cps_chain))
    signature = sign_elements([(data.Id, data)], cps_key, "iso20")
    return CertificateInstallationRes(
        Header=dataclasses.replace(header, Signature=signature), ResponseCode="OK",
        EVSEProcessing=Processing.Finished,
        CPSCertificateChain=CertificateChain(Certificate=cps_leaf,
                                             SubCertificates=SubCertificates(Certificate=cps_subs) if cps_subs else None),
        SignedInstallationData=data, RemainingContractCertificateChains=remaining_chains)


def accept_certificate_installation_res(res: CertificateInstallationRes, oem_prov_key,
                                        v2g_roots: Sequence[x509.Certificate], now: float | dt.datetime | None,
                                        pcid: str, *, profile: Profile | str = Profile.ISO20) -> InstalledContract:
    """Raises certs.CertificateError / certs.KeyDeliveryError / SignatureError; the EV then rejects the Res."""
    cps_leaf, cps_subs = chain_of(res.CPSCertificateChain)
    verify_chain(cps_leaf, cps_subs, v2g_roots, role="cps", now=as_datetime(now), profile=profile)
    data = res.SignedInstallationData
    verify_signature(res.Header.Signature, [(data.Id, data)], cps_leaf, "iso20")
    encrypted_key = data.SECP521_EncryptedPrivateKey or data.X448_EncryptedPrivateKey or b""
    contract_leaf, contract_subs = chain_of(data.ContractCertificateChain)
    key = decrypt_contract_key(EncryptedContractKey(EcdhCurve(data.ECDHCurve).value, data.DHPublicKey,
                                                    encrypted_key), oem_prov_key, contract_leaf, pcid)
    return InstalledContract(key, contract_leaf, contract_subs, common_name(contract_leaf))
