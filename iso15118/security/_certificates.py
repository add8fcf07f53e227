"""DER certificate chains as -20 messages carry them (Certificate + SubCertificates) <-> x509 objects."""
from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from certs import CertificateError, load_certificates


def chain_of(chain) -> tuple[x509.Certificate, list[x509.Certificate]]:
    """(leaf, Sub-CAs) of a CertificateChain / ContractCertificateChain / SignedCertificateChain object."""
    if chain is None:
        raise CertificateError("ERR_CERT_MALFORMED", "no certificate chain in the message", rule="format")
    subs = chain.SubCertificates.Certificate if chain.SubCertificates is not None else []
    return load_certificates(chain.Certificate)[0], [load_certificates(der)[0] for der in subs]


def der_chain(certificates: list[x509.Certificate]) -> tuple[bytes, list[bytes]]:
    """(leaf DER, Sub-CA DERs) for the message fields; `certificates` is leaf first, root excluded."""
    ders = [c.public_bytes(serialization.Encoding.DER) for c in certificates]
    return ders[0], ders[1:]


def common_name(certificate: x509.Certificate) -> str:
    """CN of the subject (EMAID of a contract certificate, PCID of an OEM provisioning certificate)."""
    try:
        return certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    except (IndexError, ValueError) as exc:
        raise CertificateError("ERR_CERT_PROFILE", "certificate has no subject CN", rule="subject") from exc


def as_datetime(now: float | dt.datetime | None) -> dt.datetime:
    if now is None:
        return dt.datetime.now(dt.timezone.utc)
    if isinstance(now, (int, float)):
        return dt.datetime.fromtimestamp(now, dt.timezone.utc)
    return now
