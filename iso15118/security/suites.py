"""Signature suites: the algorithm URIs, digest and SignatureValue form for each key type.

-20 [V2G20-2473..2476] (facts/signatures.md §1):
  secp521r1: SignatureMethod xmldsig-more#ecdsa-sha512, DigestMethod xmlenc#sha512, SignatureValue = r‖s,
             each 66 bytes big-endian with leading zeros [V2G20-1000] (132 bytes) over SHA-512(SignedInfo).
  Ed448:     SignatureMethod urn:iso:std:iso:15118:-20:Security:xmldsig#Ed448, DigestMethod
             ...xmlenc#SHAKE256 (64 output bytes: the text names no length, 64 is the usual choice),
             SignatureValue = RFC 8032 Ed448 with an empty context (114 bytes).
  secp256r1: compat profile only (ISO 15118-2 algorithms, used by deployed -20 stacks such as Josev):
             ecdsa-sha256 / xmlenc#sha256, r‖s 64 bytes. Certificates with this key pass `certs.verify_chain`
             only with profile="compat".

A `Signer` hides where the private key lives (file, PKCS#11, TPM): it exposes the public key and returns the
raw SignatureValue bytes. `KeySigner` wraps a `cryptography` private key.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Callable, Protocol

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed448
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from .errors import SignatureError

CANONICAL_EXI = "http://www.w3.org/TR/canonical-exi/"  # CanonicalizationMethod and Transform [V2G20-766/767]


@dataclass(frozen=True)
class SignatureSuite:
    name: str
    signature_method: str
    digest_method: str
    digest: Callable[[bytes], bytes]
    signature_length: int
    curve: type | None  # ec curve class for ECDSA suites, None for Ed448
    ecdsa_hash: type | None  # hash ECDSA applies to the SignedInfo bytes; Ed448 hashes internally

    def fits(self, public_key) -> bool:
        if self.curve is None:
            return isinstance(public_key, ed448.Ed448PublicKey)
        return isinstance(public_key, ec.EllipticCurvePublicKey) and isinstance(public_key.curve, self.curve)

    def sign(self, private_key, data: bytes) -> bytes:
        if self.curve is None:
            return private_key.sign(data)
        r, s = decode_dss_signature(private_key.sign(data, ec.ECDSA(self.ecdsa_hash())))
        width = self.signature_length // 2
        return r.to_bytes(width, "big") + s.to_bytes(width, "big")

    def verify(self, public_key, signature: bytes, data: bytes) -> None:
        if len(signature) != self.signature_length:
            raise SignatureError(f"{self.name} SignatureValue must be {self.signature_length} bytes, got "
                                 f"{len(signature)} [V2G20-1000]", rule="signature-length")
        try:
            if self.curve is None:
                public_key.verify(signature, data)
            else:
                width = self.signature_length // 2
                der = encode_dss_signature(int.from_bytes(signature[:width], "big"),
                                           int.from_bytes(signature[width:], "big"))
                public_key.verify(der, data, ec.ECDSA(self.ecdsa_hash()))
        except (InvalidSignature, ValueError) as exc:
            raise SignatureError("SignatureValue does not verify over the SignedInfo fragment with the signer's "
                                 "public key", rule="signature-value") from exc


P521 = SignatureSuite("ECDSA-P521-SHA512", "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512",
                      "http://www.w3.org/2001/04/xmlenc#sha512", lambda data: hashlib.sha512(data).digest(),
                      132, ec.SECP521R1, hashes.SHA512)
ED448 = SignatureSuite("Ed448-SHAKE256", "urn:iso:std:iso:15118:-20:Security:xmldsig#Ed448",
                       "urn:iso:std:iso:15118:-20:Security:xmlenc#SHAKE256",
                       lambda data: hashlib.shake_256(data).digest(64), 114, None, None)
P256_COMPAT = SignatureSuite("ECDSA-P256-SHA256", "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
                             "http://www.w3.org/2001/04/xmlenc#sha256", lambda data: hashlib.sha256(data).digest(),
                             64, ec.SECP256R1, hashes.SHA256)
SUITES = (P521, ED448, P256_COMPAT)


def public_key_of(key_or_certificate):
    """The public key of a certificate, a private key or a public key (what `verify_*` accept)."""
    if isinstance(key_or_certificate, x509.Certificate):
        return key_or_certificate.public_key()
    if hasattr(key_or_certificate, "public_key"):
        return key_or_certificate.public_key()
    return key_or_certificate


def suite_for_key(public_key) -> SignatureSuite:
    for suite in SUITES:
        if suite.fits(public_key):
            return suite
    raise SignatureError(f"{type(public_key).__name__} is neither secp521r1, Ed448 nor (compat) secp256r1; "
                         "no -20 signature suite [V2G20-2699..2701]", rule="key-type")


class Signer(Protocol):
    """A signing key wherever it lives; `sign` returns the raw SignatureValue of the key's suite."""

    def public_key(self): ...

    def sign(self, data: bytes) -> bytes: ...


class KeySigner:
    """`Signer` over a `cryptography` private key (secp521r1, Ed448 or compat secp256r1)."""

    def __init__(self, private_key) -> None:
        self._key = private_key
        self.suite = suite_for_key(private_key.public_key())

    def public_key(self):
        return self._key.public_key()

    def sign(self, data: bytes) -> bytes:
        return self.suite.sign(self._key, data)


def as_signer(private_key_or_signer) -> Signer:
    if isinstance(private_key_or_signer, (ec.EllipticCurvePrivateKey, ed448.Ed448PrivateKey)):
        return KeySigner(private_key_or_signer)
    return private_key_or_signer
