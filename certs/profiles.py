"""Certificate profiles of the ISO 15118-20 PKI: roles, hierarchy, key usages, naming and validity.

Everything that decides what a certificate of a given role looks like lives in this file; `pki.py` only
issues what is declared here and `verify.py` checks chains against the same declarations.

Sources (facts/iso15118-20.md §7): hierarchies §7.2, chain rules §7.3 ([V2G20-1003] at most 3 certificates
below the root, Sub-CA 1 pathLen 1, Sub-CA 2 pathLen 0), algorithms §7.1 (secp521r1 + ECDSA-SHA512
[V2G20-2673/2674], Ed448 [V2G20-2319]). Validity periods follow the EVerest reference test PKI (Annex B
tables were not available as text): roots 10 y, Sub-CA 1 4 y, Sub-CA 2 1-2 y, SECC leaf 60 d.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed448
from cryptography.x509.oid import ExtendedKeyUsageOID


class Algorithm(str, enum.Enum):
    """Key and signature algorithm of a whole PKI."""

    SECP521R1 = "secp521r1"  # ECDSA with SHA-512, the -20 default
    ED448 = "ed448"  # pure Ed448 (RFC 8032)
    SECP256R1 = "secp256r1"  # ECDSA with SHA-256: only the compat profile (-2 era deployments)


class Profile(str, enum.Enum):
    ISO20 = "iso20"
    COMPAT = "compat"


def allowed_algorithms(profile: Profile) -> frozenset[Algorithm]:
    """Signature algorithms a chain may use under a profile (compat also accepts the strict ones)."""
    if profile is Profile.COMPAT:
        return frozenset(Algorithm)
    return frozenset({Algorithm.SECP521R1, Algorithm.ED448})


def algorithm_of_key(public_key) -> Algorithm | None:
    if isinstance(public_key, ed448.Ed448PublicKey):
        return Algorithm.ED448
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return {"secp521r1": Algorithm.SECP521R1, "secp256r1": Algorithm.SECP256R1}.get(public_key.curve.name)
    return None


class Kind(str, enum.Enum):
    ROOT = "root"
    SUB_CA_1 = "sub_ca_1"
    SUB_CA_2 = "sub_ca_2"
    LEAF = "leaf"


#: pathLenConstraint per CA kind; roots carry none (the depth limit is checked separately).
PATH_LENGTH = {Kind.ROOT: None, Kind.SUB_CA_1: 1, Kind.SUB_CA_2: 0}

#: at most leaf + 2 Sub-CAs below the root [V2G20-1003]
MAX_CHAIN_LENGTH = 3

CA_KEY_USAGE = frozenset({"key_cert_sign", "crl_sign"})


@dataclass(frozen=True)
class RoleSpec:
    """What one certificate of the PKI looks like."""

    name: str  # file stem in the PKI directory, also the role name used by verify
    kind: Kind
    issuer: str | None  # name of the issuing role; None for a self-signed root
    common_name: str  # default CN; leaves with identifiers take it from PkiConfig
    domain_component: str | None  # DC RDN (-20 Annex B names the domain: V2G, CPO, MO, OEM, CPS)
    validity_days: int
    key_usage: frozenset[str] = CA_KEY_USAGE
    extended_key_usage: tuple[x509.ObjectIdentifier, ...] = ()
    #: leaf EKUs a verifier insists on (absence is an error, not "any purpose")
    required_eku: tuple[x509.ObjectIdentifier, ...] = ()
    only_cn_and_o: bool = False  # vehicle certificate: CN = EVCCID, O = OEM, no other RDNs [V2G20-2598]
    extras: tuple[str, ...] = field(default=())  # "ocsp_nocheck", "ocsp_url"


_LEAF_KU = frozenset({"digital_signature", "key_agreement"})
_SERVER = (ExtendedKeyUsageOID.SERVER_AUTH,)
_CLIENT = (ExtendedKeyUsageOID.CLIENT_AUTH,)
_OCSP = (ExtendedKeyUsageOID.OCSP_SIGNING,)

ROLES: dict[str, RoleSpec] = {spec.name: spec for spec in [
    # CPO chain: the SECC's TLS server certificate
    RoleSpec("v2g_root", Kind.ROOT, None, "V2G Root CA", "V2G", 3650),
    RoleSpec("cpo_sub_ca1", Kind.SUB_CA_1, "v2g_root", "CPO Sub-CA 1", "V2G", 1460),
    RoleSpec("cpo_sub_ca2", Kind.SUB_CA_2, "cpo_sub_ca1", "CPO Sub-CA 2", "V2G", 365),
    RoleSpec("secc", Kind.LEAF, "cpo_sub_ca2", "SECC", "CPO", 60, _LEAF_KU, _SERVER, _SERVER,
             extras=("ocsp_url",)),
    # delegated OCSP responder for the certificates CPO Sub-CA 2 issues (RFC 6960 §4.2.2.2)
    RoleSpec("ocsp_signer", Kind.LEAF, "cpo_sub_ca2", "CPO OCSP Signer", "CPO", 60,
             frozenset({"digital_signature"}), _OCSP, _OCSP, extras=("ocsp_nocheck",)),
    # MO chain: contract certificate, delivered by CertificateInstallation
    RoleSpec("mo_root", Kind.ROOT, None, "MO Root CA", "MO", 3650),
    RoleSpec("mo_sub_ca1", Kind.SUB_CA_1, "mo_root", "MO Sub-CA 1", "MO", 1460),
    RoleSpec("mo_sub_ca2", Kind.SUB_CA_2, "mo_sub_ca1", "MO Sub-CA 2", "MO", 730),
    RoleSpec("contract", Kind.LEAF, "mo_sub_ca2", "EMAID", "MO", 730,
             frozenset({"digital_signature", "key_agreement"})),
    # OEM chain: provisioning certificate (static ECDH key, signs CertificateInstallationReq) and the
    # vehicle certificate the EV presents in TLS [V2G20-2339]
    RoleSpec("oem_root", Kind.ROOT, None, "OEM Root CA", "OEM", 3650),
    RoleSpec("oem_sub_ca1", Kind.SUB_CA_1, "oem_root", "OEM Sub-CA 1", "OEM", 1460),
    RoleSpec("oem_sub_ca2", Kind.SUB_CA_2, "oem_sub_ca1", "OEM Sub-CA 2", "OEM", 1460),
    RoleSpec("oem_prov", Kind.LEAF, "oem_sub_ca2", "PCID", "OEM", 1460, _LEAF_KU),
    RoleSpec("vehicle", Kind.LEAF, "oem_sub_ca2", "EVCCID", None, 1460, _LEAF_KU, _CLIENT, _CLIENT,
             only_cn_and_o=True),
    # CPS chain (under the V2G root): signs SignedInstallationData [V2G20-1077]
    RoleSpec("cps_sub_ca1", Kind.SUB_CA_1, "v2g_root", "CPS Sub-CA 1", "V2G", 1460),
    RoleSpec("cps_sub_ca2", Kind.SUB_CA_2, "cps_sub_ca1", "CPS Sub-CA 2", "V2G", 730),
    RoleSpec("cps", Kind.LEAF, "cps_sub_ca2", "CPS", "CPS", 365, frozenset({"digital_signature"})),
]}

LEAVES = tuple(name for name, spec in ROLES.items() if spec.kind is Kind.LEAF)


def issuers_of(name: str) -> list[str]:
    """Issuing roles from the direct issuer up to and including the root."""
    chain = []
    issuer = ROLES[name].issuer
    while issuer is not None:
        chain.append(issuer)
        issuer = ROLES[issuer].issuer
    return chain
