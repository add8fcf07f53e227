"""W3C XML signatures over EXI as ISO 15118-20 uses them (facts/signatures.md §1, iso15118-20.md §3.2).

Signing: for each referenced element, digest = H(EXI fragment of the element in its message's grammar set,
header byte 0x80 and padding included); Reference{URI="#Id", Transforms=[canonical-exi], DigestMethod,
DigestValue}; SignedInfo{CanonicalizationMethod=canonical-exi, SignatureMethod, Reference...} is encoded as a
fragment of the xmldsig-only grammar [V2G20-1449] and those bytes are signed.

Verification also enforces the -20 restrictions on header signatures [V2G20-771]: no Id on SignedInfo or
SignatureValue, no HMACOutputLength, no Type on Reference, one canonical-exi Transform without XPath, no
KeyInfo or Object; and the References must name exactly the expected elements, each once.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import exi
from exi.generated import iso20
from exi.generated.xmldsig import (CanonicalizationMethod, DigestMethod, Reference, Signature, SignatureMethod,
                                   SignatureValue, SignedInfo, Transform, Transforms)

from .errors import SignatureError
from .suites import CANONICAL_EXI, SUITES, SignatureSuite, as_signer, public_key_of, suite_for_key

#: element names of the -20 types that carry an Id, where the class name is not the element name
#: (cbv2g's -20 fragment union: facts/iso15118-20.md §3.3)
_ELEMENT_OF = {iso20.SignedCertificateChain: "OEMProvisioningCertificateChain"}

Elements = Sequence[tuple[str, Any]]


def element_fragment(element: Any, schema: str = "iso20") -> bytes:
    """EXI fragment of a referenced element (header byte 0x80 ‖ SE ‖ content ‖ ED ‖ padding)."""
    name = _ELEMENT_OF.get(type(element), type(element).__name__)
    return exi.encode(element, schema=schema, fragment=True, element=name)


def signed_info_fragment(signed_info: SignedInfo) -> bytes:
    """The signed bytes: SignedInfo as a fragment of the xmldsig-only grammar (SE 32 / ED 46, 6-bit codes)."""
    return exi.encode(signed_info, schema="xmldsig", fragment=True)


def _checked_id(ident: str, element: Any) -> str:
    own = getattr(element, "Id", None)
    if own is not None and own != ident:
        raise ValueError(f"element {type(element).__name__} has Id {own!r}, referenced as {ident!r}")
    return ident


def reference_digest(element: Any, suite: SignatureSuite, schema: str = "iso20") -> bytes:
    """DigestValue of a referenced element: the suite's digest of its EXI fragment."""
    return suite.digest(element_fragment(element, schema))


def build_signed_info(digests: Sequence[tuple[str, bytes]], suite: SignatureSuite) -> SignedInfo:
    """SignedInfo for [(Id, DigestValue), ...] with the suite's algorithm URIs."""
    references = [Reference(URI="#" + ident, Transforms=Transforms(Transform=[Transform(Algorithm=CANONICAL_EXI)]),
                            DigestMethod=DigestMethod(Algorithm=suite.digest_method), DigestValue=digest)
                  for ident, digest in digests]
    return SignedInfo(CanonicalizationMethod=CanonicalizationMethod(Algorithm=CANONICAL_EXI),
                      SignatureMethod=SignatureMethod(Algorithm=suite.signature_method), Reference=references)


def sign_elements(elements: Elements, private_key, schema: str = "iso20") -> Signature:
    """Signature (for the message Header) over `elements` = [(Id, typed element object), ...].

    `private_key`: a `cryptography` secp521r1 / Ed448 (/ compat secp256r1) private key, or any `Signer`.
    """
    if not elements:
        raise ValueError("a signature needs at least one referenced element")
    signer = as_signer(private_key)
    suite = suite_for_key(signer.public_key())
    signed_info = build_signed_info([(_checked_id(ident, element), reference_digest(element, suite, schema))
                                     for ident, element in elements], suite)
    return Signature(SignedInfo=signed_info, SignatureValue=SignatureValue(value=signer.sign(
        signed_info_fragment(signed_info))))


def _fail(rule: str, message: str) -> SignatureError:
    return SignatureError(message, rule=rule)


def _suite_named(signature_method: str) -> SignatureSuite:
    for suite in SUITES:
        if suite.signature_method == signature_method:
            return suite
    raise _fail("signature-method", f"SignatureMethod {signature_method!r} is not a -20 algorithm "
                "[V2G20-2473/2474]")


def _check_shape(signature: Any) -> SignedInfo:
    if not isinstance(signature, Signature):
        raise _fail("missing", "no ds:Signature in the message header" if signature is None
                    else f"expected a ds:Signature, got {type(signature).__name__}")
    info = signature.SignedInfo
    if signature.KeyInfo is not None or signature.Object or signature.Id is not None:
        raise _fail("forbidden-content", "KeyInfo, Object and Signature/@Id are not allowed [V2G20-771]")
    if info.Id is not None or signature.SignatureValue.Id is not None:
        raise _fail("forbidden-content", "Id on SignedInfo / SignatureValue is not allowed [V2G20-771]")
    if info.CanonicalizationMethod.Algorithm != CANONICAL_EXI:
        raise _fail("canonicalization", f"CanonicalizationMethod must be {CANONICAL_EXI} [V2G20-766]")
    if info.SignatureMethod.HMACOutputLength is not None:
        raise _fail("forbidden-content", "HMACOutputLength is not allowed [V2G20-771]")
    for ref in info.Reference:
        if ref.Type is not None:
            raise _fail("forbidden-content", "Reference/@Type is not allowed [V2G20-771]")
        transforms = ref.Transforms.Transform if ref.Transforms is not None else []
        if len(transforms) != 1 or transforms[0].Algorithm != CANONICAL_EXI or transforms[0].XPath:
            raise _fail("transform", f"each Reference needs exactly one {CANONICAL_EXI} Transform [V2G20-767]")
    return info


def verify_signature(signature: Signature | None, elements: Elements, public_key_or_cert,
                     schema: str = "iso20") -> None:
    """Check `signature` over exactly `elements` = [(Id, typed element object), ...]; raise SignatureError.

    `public_key_or_cert`: the signer's certificate (its subjectPublicKeyInfo is used [V2G20-2313]) or key.
    """
    if not elements:
        raise ValueError("a signature is verified over at least one referenced element")
    info = _check_shape(signature)
    suite = _suite_named(info.SignatureMethod.Algorithm)
    if not suite.fits(public_key_of(public_key_or_cert)):
        raise _fail("key-type", f"SignatureMethod {suite.name} does not match the signer's key "
                    f"{type(public_key_of(public_key_or_cert)).__name__}")
    expected = {"#" + _checked_id(ident, element): element for ident, element in elements}
    uris = [ref.URI for ref in info.Reference]
    if len(expected) != len(elements) or sorted(uris) != sorted(expected):
        raise _fail("reference-set", f"References {uris} must name exactly {sorted(expected)}, each once")
    for ref in info.Reference:
        if ref.DigestMethod.Algorithm != suite.digest_method:
            raise _fail("digest-method", f"DigestMethod must be {suite.digest_method} with {suite.name}")
        try:
            fragment = element_fragment(expected[ref.URI], schema)
        except exi.ExiError as exc:
            raise _fail("fragment", f"{ref.URI} cannot be encoded as a {schema} fragment: {exc}") from exc
        if ref.DigestValue != suite.digest(fragment):
            raise _fail("digest", f"DigestValue of {ref.URI} does not match its EXI fragment")
    try:
        signed = signed_info_fragment(info)
    except exi.ExiError as exc:
        raise _fail("signed-info", f"SignedInfo cannot be encoded as an xmldsig fragment: {exc}") from exc
    suite.verify(public_key_of(public_key_or_cert), signature.SignatureValue.value, signed)
