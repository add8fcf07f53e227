"""Typed certificate errors: a stable `code` plus the ISO 15118-20 ResponseCode it maps to.

-20 has no FAILED_Cert* codes (those are -2 names); its responseCodeType offers WARNING_CertificateExpired,
WARNING_CertificateNotYetValid, WARNING_CertificateRevoked and WARNING_CertificateValidationError
(V2G_CI_CommonTypes.xsd), so every chain failure maps onto one of these four.
"""
from __future__ import annotations

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm

#: what cryptography raises from lazily parsed certificate / OCSP fields that are corrupt
PARSE_ERRORS = (ValueError, TypeError, KeyError, x509.DuplicateExtension, x509.ExtensionNotFound,
                x509.UnsupportedGeneralNameType, x509.InvalidVersion, InvalidSignature, UnsupportedAlgorithm)

_VALIDATION = "WARNING_CertificateValidationError"

RESPONSE_CODES: dict[str, str] = {
    "ERR_CERT_EXPIRED": "WARNING_CertificateExpired",
    "ERR_CERT_NOT_YET_VALID": "WARNING_CertificateNotYetValid",
    "ERR_CERT_REVOKED": "WARNING_CertificateRevoked",
    "ERR_CERT_UNTRUSTED": _VALIDATION,
    "ERR_CERT_SIGNATURE": _VALIDATION,
    "ERR_CERT_ALGORITHM": _VALIDATION,
    "ERR_CERT_CHAIN_TOO_LONG": _VALIDATION,
    "ERR_CERT_PATH_LENGTH": _VALIDATION,
    "ERR_CERT_NOT_CA": _VALIDATION,
    "ERR_CERT_KEY_USAGE": _VALIDATION,
    "ERR_CERT_EKU": _VALIDATION,
    "ERR_CERT_PROFILE": _VALIDATION,
    "ERR_CERT_MALFORMED": _VALIDATION,
    "ERR_OCSP_INVALID": _VALIDATION,
    "ERR_CRL_INVALID": _VALIDATION,  # a CRL that does not parse or whose signature does not verify
    "ERR_REVOCATION_STALE": _VALIDATION,  # only out-of-date CRL/OCSP information (policy hard)
    "ERR_REVOCATION_UNKNOWN": _VALIDATION,  # no CRL/OCSP information at all (policy hard)
    "ERR_KEY_UNWRAP": "FAILED",
    "ERR_KEY_UNSUPPORTED": "FAILED",
    "ERR_PKI_KEY_MISMATCH": "FAILED",
    "ERR_PKI_LAYOUT": "FAILED",
    "ERR_PKI_CONFIG": "FAILED",
}


class CertificateError(Exception):
    """A certificate, chain, OCSP response or key operation was rejected.

    `code` is stable (ERR_CERT_...), `response_code` is the ISO 15118-20 ResponseCode to answer with,
    `certificate` names the offending certificate (its subject) and `rule` the check that failed.
    """

    def __init__(self, code: str, message: str, *, certificate: str | None = None, rule: str | None = None):
        self.code = code
        self.response_code = RESPONSE_CODES.get(code, _VALIDATION)
        self.certificate = certificate
        self.rule = rule
        where = f" [{certificate}]" if certificate else ""
        super().__init__(f"{code}{where}: {message}")
        self.detail = message

    def to_dict(self) -> dict[str, str | None]:
        return {"code": self.code, "response_code": self.response_code, "certificate": self.certificate,
                "rule": self.rule, "message": self.detail}


class KeyDeliveryError(CertificateError):
    """Contract key delivery failed: bad length, wrong curve, tampered ciphertext or a key that does not match."""
