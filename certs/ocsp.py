"""OCSP responses for the SECC chain, for the SECC to staple, and their verification on the EV side.

-20 uses `status_request` stapling [V2G20-2372/2373]; responses are at most one week old [V2G20-1021]. The
SECC leaf's response is signed by the delegated OCSP signer that CPO Sub-CA 2 issued (RFC 6960 §4.2.2.2);
the Sub-CA responses are signed by their issuing CA directly, which RFC 6960 allows without delegation.
"""
from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID

from .errors import PARSE_ERRORS, CertificateError
from .pki import Pki, signature_hash
from .profiles import algorithm_of_key

MAX_AGE = dt.timedelta(days=7)  # [V2G20-1021]


def build_ocsp_response(cert: x509.Certificate, issuer: x509.Certificate, responder_cert: x509.Certificate,
                        responder_key, *, now: dt.datetime | None = None, revoked_at: dt.datetime | None = None,
                        validity: dt.timedelta = MAX_AGE) -> bytes:
    """DER OCSPResponse saying `cert` is good (or revoked at `revoked_at`), signed by the responder."""
    now = now or dt.datetime.now(dt.timezone.utc)
    status = ocsp.OCSPCertStatus.REVOKED if revoked_at else ocsp.OCSPCertStatus.GOOD
    builder = (ocsp.OCSPResponseBuilder()
               # SHA-1 CertID: only an identifier, and the default OpenSSL-based verifiers match against
               # (OCSP_cert_to_id with no digest), so an EV can find the status in the staple
               .add_response(cert=cert, issuer=issuer, algorithm=hashes.SHA1(), cert_status=status,
                             this_update=now, next_update=now + validity, revocation_time=revoked_at,
                             revocation_reason=x509.ReasonFlags.key_compromise if revoked_at else None)
               .responder_id(ocsp.OCSPResponderEncoding.HASH, responder_cert))
    if responder_cert.subject != issuer.subject:
        builder = builder.certificates([responder_cert])
    response = builder.sign(responder_key, signature_hash(algorithm_of_key(responder_key.public_key())))
    return response.public_bytes(serialization.Encoding.DER)


#: (certificate, its issuer, who signs the response) for every certificate the SECC sends
SECC_CHAIN_RESPONDERS = (("secc", "cpo_sub_ca2", "ocsp_signer"),
                         ("cpo_sub_ca2", "cpo_sub_ca1", "cpo_sub_ca1"),
                         ("cpo_sub_ca1", "v2g_root", "v2g_root"))


def write_secc_ocsp_responses(pki: Pki, *, password: bytes | None = None,
                              now: dt.datetime | None = None) -> dict[str, bytes]:
    """(Re)write ocsp/<role>.der for the SECC chain; run at least weekly on a live station."""
    responses = {}
    for role, issuer, responder in SECC_CHAIN_RESPONDERS:
        der = build_ocsp_response(pki.load_certificate(role), pki.load_certificate(issuer),
                                  pki.load_certificate(responder), pki.load_private_key(responder, password),
                                  now=now)
        pki.ocsp_response(role).write_bytes(der)
        responses[role] = der
    return responses


def _verify_signature(signer: x509.Certificate, response: ocsp.OCSPResponse) -> None:
    key = signer.public_key()
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(response.signature, response.tbs_response_bytes, ec.ECDSA(response.signature_hash_algorithm))
        else:
            key.verify(response.signature, response.tbs_response_bytes)
    except InvalidSignature as exc:
        raise CertificateError("ERR_OCSP_INVALID", "OCSP response signature does not verify",
                               certificate=signer.subject.rfc4514_string(), rule="ocsp-signature") from exc


def verify_ocsp_response(der: bytes, cert: x509.Certificate, issuer: x509.Certificate, *,
                         now: dt.datetime | None = None) -> ocsp.OCSPResponse:
    """Check a stapled response for `cert`: signed by its issuer or a delegated signer, fresh, and GOOD."""
    try:
        return _verify(der, cert, issuer, now or dt.datetime.now(dt.timezone.utc))
    except PARSE_ERRORS as exc:  # cryptography parses lazily: corrupt fields raise on first access
        raise CertificateError("ERR_OCSP_INVALID", f"malformed or unauthorised OCSP response: {exc}",
                               certificate=cert.subject.rfc4514_string(), rule="ocsp-format") from exc


def _verify(der: bytes, cert: x509.Certificate, issuer: x509.Certificate, now: dt.datetime) -> ocsp.OCSPResponse:
    name = cert.subject.rfc4514_string()
    response = ocsp.load_der_ocsp_response(der)
    if response.response_status is not ocsp.OCSPResponseStatus.SUCCESSFUL:
        raise CertificateError("ERR_OCSP_INVALID", f"responder status {response.response_status.name}",
                               certificate=name, rule="ocsp-status")
    signer = issuer
    if response.certificates:  # delegated responder: issued by the same CA, with id-kp-OCSPSigning
        signer = response.certificates[0]
        usage = signer.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        if ExtendedKeyUsageOID.OCSP_SIGNING not in usage or signer.issuer != issuer.subject:
            raise CertificateError("ERR_OCSP_INVALID", "delegated responder not authorised by the issuer",
                                   certificate=signer.subject.rfc4514_string(), rule="ocsp-delegation")
        signer.verify_directly_issued_by(issuer)
    _verify_signature(signer, response)
    if response.serial_number != cert.serial_number:
        raise CertificateError("ERR_OCSP_INVALID", "response is for another certificate", certificate=name,
                               rule="ocsp-serial")
    this_update, next_update = response.this_update_utc, response.next_update_utc
    if this_update > now + dt.timedelta(minutes=5) or now - this_update > MAX_AGE or (
            next_update is not None and next_update < now):
        raise CertificateError("ERR_OCSP_INVALID", "response older than one week or not yet valid",
                               certificate=name, rule="ocsp-freshness")
    if response.certificate_status is not ocsp.OCSPCertStatus.GOOD:
        code = "ERR_CERT_REVOKED" if response.certificate_status is ocsp.OCSPCertStatus.REVOKED \
            else "ERR_OCSP_INVALID"
        raise CertificateError(code, f"certificate status {response.certificate_status.name}", certificate=name,
                               rule="ocsp-status")
    return response
