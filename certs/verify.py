"""Chain validation with the ISO 15118-20 rules (facts/iso15118-20.md §7.3).

Checks, in the order a failure is reported: path building to a trusted root with signature verification
(RFC 5280 style, by name and signature), chain length ≤ 3 below the root [V2G20-1003], one signature algorithm
family per chain that the profile allows (§7.1), validity period of every certificate, CA certificates with
critical basicConstraints CA:true, keyCertSign and a respected pathLenConstraint, SKI everywhere and AKI below
the root, the leaf's key usage / extended key usage for its role (`certs.profiles.ROLES`), no unknown critical
extension, DER size ≤ 1600 bytes (certificateType). Every failure is a `CertificateError` naming the
certificate and the rule.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtensionOID, NameOID, SignatureAlgorithmOID

from .errors import PARSE_ERRORS, CertificateError
from .profiles import MAX_CHAIN_LENGTH, ROLES, Algorithm, Profile, algorithm_of_key, allowed_algorithms

MAX_CERTIFICATE_SIZE = 1600  # certificateType maxLength in V2G_CI_CommonTypes.xsd

#: signature algorithm each key family must be signed with; P-521 goes with SHA-512 [V2G20-2673]
_SIGNATURE_OIDS = {Algorithm.SECP521R1: SignatureAlgorithmOID.ECDSA_WITH_SHA512,
                   Algorithm.ED448: SignatureAlgorithmOID.ED448,
                   Algorithm.SECP256R1: SignatureAlgorithmOID.ECDSA_WITH_SHA256}
_UNDERSTOOD_CRITICAL = {ExtensionOID.BASIC_CONSTRAINTS, ExtensionOID.KEY_USAGE, ExtensionOID.EXTENDED_KEY_USAGE,
                        ExtensionOID.SUBJECT_ALTERNATIVE_NAME}
_KEY_USAGE_BITS = ("digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
                   "key_agreement", "key_cert_sign", "crl_sign")


def load_certificates(data: bytes) -> list[x509.Certificate]:
    """PEM (one or more certificates) or a single DER certificate."""
    try:
        if b"-----BEGIN" in data:
            return x509.load_pem_x509_certificates(data)
        return [x509.load_der_x509_certificate(data)]
    except PARSE_ERRORS as exc:
        raise CertificateError("ERR_CERT_MALFORMED", f"not a certificate: {exc}", rule="format") from exc


def _name(cert: x509.Certificate) -> str:
    try:
        return cert.subject.rfc4514_string()
    except PARSE_ERRORS:  # cryptography parses names lazily; a corrupt one raises here
        return f"serial {cert.serial_number:X} (unparsable subject)"


def _fail(code: str, cert: x509.Certificate, rule: str, message: str) -> CertificateError:
    return CertificateError(code, message, certificate=_name(cert), rule=rule)


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
        return True
    except PARSE_ERRORS:  # includes InvalidSignature and unsupported signature algorithms
        return False


def _build_path(leaf, intermediates, roots) -> list[x509.Certificate]:
    path = [leaf]
    current = leaf
    while True:
        if any(current == root for root in roots):
            return path  # the leaf itself is a trusted root (self-issued root check)
        for root in roots:
            if root.subject == current.issuer and _issued_by(current, root):
                return path + [root]
        candidates = [c for c in intermediates if c.subject == current.issuer and c not in path]
        if not candidates:
            raise _fail("ERR_CERT_UNTRUSTED", current, "trusted-root",
                        f"issuer {current.issuer.rfc4514_string()} is neither a given Sub-CA nor a trusted root")
        if len(path) >= MAX_CHAIN_LENGTH:
            raise _fail("ERR_CERT_CHAIN_TOO_LONG", current, "max-chain-length",
                        f"more than {MAX_CHAIN_LENGTH} certificates below the root [V2G20-1003]")
        issuer = next((c for c in candidates if _issued_by(current, c)), None)
        if issuer is None:
            raise _fail("ERR_CERT_SIGNATURE", current, "signature",
                        f"signature does not verify with the key of {candidates[0].subject.rfc4514_string()}")
        path.append(issuer)
        current = issuer


def _given_path(leaf, intermediates, roots) -> list[x509.Certificate]:
    """The path exactly as given (leaf, intermediates in order, the root they end in), linked by name only:
    for a path another validator has just built and whose signatures it verified (OpenSSL in the handshake)."""
    path = [leaf, *intermediates]
    if not any(path[-1] == root for root in roots):
        root = next((r for r in roots if r.subject == path[-1].issuer), None)
        if root is None:
            raise _fail("ERR_CERT_UNTRUSTED", path[-1], "trusted-root",
                        f"issuer {path[-1].issuer.rfc4514_string()} is not a trusted root")
        path.append(root)
    for cert, issuer in zip(path, path[1:]):
        if cert.issuer != issuer.subject:
            raise _fail("ERR_CERT_UNTRUSTED", cert, "issuer-name",
                        f"issuer {cert.issuer.rfc4514_string()} is not the next certificate of the path")
    if len(path) - 1 > MAX_CHAIN_LENGTH:
        raise _fail("ERR_CERT_CHAIN_TOO_LONG", path[MAX_CHAIN_LENGTH - 1], "max-chain-length",
                    f"more than {MAX_CHAIN_LENGTH} certificates below the root [V2G20-1003]")
    return path


def _check_algorithms(path, profile: Profile) -> None:
    allowed = allowed_algorithms(profile)
    families = set()
    for cert in path:
        family = algorithm_of_key(cert.public_key())
        if family not in allowed:
            raise _fail("ERR_CERT_ALGORITHM", cert, "key-algorithm",
                        f"key algorithm not allowed in the {profile.value} profile")
        families.add(family)
    if len(families) > 1:
        raise _fail("ERR_CERT_ALGORITHM", path[0], "one-algorithm-per-chain",
                    f"chain mixes {sorted(f.value for f in families)}")
    for cert, issuer in zip(path, path[1:] + path[-1:]):
        expected = _SIGNATURE_OIDS[algorithm_of_key(issuer.public_key())]
        if cert.signature_algorithm_oid != expected:
            raise _fail("ERR_CERT_ALGORITHM", cert, "signature-algorithm",
                        f"signed with {cert.signature_algorithm_oid.dotted_string}, expected {expected._name}")


def _check_validity(path, now: dt.datetime) -> None:
    for cert in path:
        if now < cert.not_valid_before_utc:
            raise _fail("ERR_CERT_NOT_YET_VALID", cert, "validity",
                        f"not valid before {cert.not_valid_before_utc.isoformat()}")
        if now > cert.not_valid_after_utc:
            raise _fail("ERR_CERT_EXPIRED", cert, "validity", f"expired {cert.not_valid_after_utc.isoformat()}")


def _extension(cert, cls):
    try:
        return cert.extensions.get_extension_for_class(cls)
    except x509.ExtensionNotFound:
        return None


def _key_usage_bits(cert) -> set[str] | None:
    ext = _extension(cert, x509.KeyUsage)
    return None if ext is None else {bit for bit in _KEY_USAGE_BITS if getattr(ext.value, bit)}


def _check_structure(path) -> None:
    for index, cert in enumerate(path):
        if len(cert.public_bytes(serialization.Encoding.DER)) > MAX_CERTIFICATE_SIZE:
            raise _fail("ERR_CERT_PROFILE", cert, "certificate-size", f"larger than {MAX_CERTIFICATE_SIZE} bytes")
        for ext in cert.extensions:
            if ext.critical and ext.oid not in _UNDERSTOOD_CRITICAL:
                raise _fail("ERR_CERT_PROFILE", cert, "critical-extension",
                            f"unprocessed critical extension {ext.oid.dotted_string}")
        if _extension(cert, x509.SubjectKeyIdentifier) is None:
            raise _fail("ERR_CERT_PROFILE", cert, "subject-key-identifier", "no SubjectKeyIdentifier")
        is_root = index == len(path) - 1 and len(path) > 1
        if not is_root and _extension(cert, x509.AuthorityKeyIdentifier) is None:
            raise _fail("ERR_CERT_PROFILE", cert, "authority-key-identifier", "no AuthorityKeyIdentifier")
        if index == 0:
            continue
        constraints = _extension(cert, x509.BasicConstraints)
        if constraints is None or not constraints.critical or not constraints.value.ca:
            raise _fail("ERR_CERT_NOT_CA", cert, "basic-constraints", "issuer lacks critical CA:true")
        if "key_cert_sign" not in (_key_usage_bits(cert) or set()):
            raise _fail("ERR_CERT_KEY_USAGE", cert, "ca-key-usage", "issuer lacks keyCertSign")
        path_length = constraints.value.path_length
        if path_length is not None and index - 1 > path_length:
            raise _fail("ERR_CERT_PATH_LENGTH", cert, "path-length",
                        f"pathLenConstraint {path_length} but {index - 1} Sub-CA(s) below it")


def _check_leaf(leaf, role: str) -> None:
    spec = ROLES[role]
    constraints = _extension(leaf, x509.BasicConstraints)
    if constraints is not None and constraints.value.ca:
        raise _fail("ERR_CERT_PROFILE", leaf, f"{role}:end-entity", "a CA certificate used as end entity")
    usage = _extension(leaf, x509.KeyUsage)
    if usage is None or not usage.critical:
        raise _fail("ERR_CERT_KEY_USAGE", leaf, f"{role}:key-usage", "keyUsage missing or not critical")
    missing = spec.key_usage - _key_usage_bits(leaf)
    if missing:
        raise _fail("ERR_CERT_KEY_USAGE", leaf, f"{role}:key-usage", f"keyUsage lacks {sorted(missing)}")
    if spec.required_eku:
        eku = _extension(leaf, x509.ExtendedKeyUsage)
        present = set(eku.value) if eku else set()
        absent = [oid._name for oid in spec.required_eku if oid not in present]
        if absent:
            raise _fail("ERR_CERT_EKU", leaf, f"{role}:extended-key-usage", f"extendedKeyUsage lacks {absent}")
    if spec.only_cn_and_o:
        kinds = {attribute.oid for attribute in leaf.subject}
        if kinds != {NameOID.COMMON_NAME, NameOID.ORGANIZATION_NAME}:
            raise _fail("ERR_CERT_PROFILE", leaf, f"{role}:subject", "subject must be exactly CN and O [V2G20-2598]")


def verify_chain(leaf: x509.Certificate, intermediates: Sequence[x509.Certificate] = (),
                 roots: Sequence[x509.Certificate] = (), *, role: str | Iterable[str] | None = None,
                 now: dt.datetime | float | None = None,
                 profile: Profile | str = Profile.ISO20,
                 signatures_verified: bool = False) -> list[x509.Certificate]:
    """Validate `leaf` up to one of `roots`; returns the path leaf … root or raises `CertificateError`.

    `role` names the leaf's role (a key of `certs.profiles.ROLES`, e.g. "secc", "vehicle", "contract"); an
    iterable accepts any of several roles (the compat profile lets a vehicle present "oem_prov").
    `intermediates` may include roots or the leaf; copies of a trusted root among them are ignored.
    `signatures_verified=True` is for a path a validator has just built and verified the signatures of (the
    chain OpenSSL's X509_verify_cert returned in this TLS handshake): `intermediates` are taken as the path in
    order, linked by name, and no signature is verified again; every other rule above still applies.
    """
    profile = Profile(profile)
    if now is None:
        now = dt.datetime.now(dt.timezone.utc)
    elif isinstance(now, (int, float)):
        now = dt.datetime.fromtimestamp(now, dt.timezone.utc)
    roots = list(roots)
    intermediates = [c for c in intermediates if c != leaf and c not in roots]
    if not roots:
        raise _fail("ERR_CERT_UNTRUSTED", leaf, "trusted-root", "no trusted root given")
    try:
        path = (_given_path if signatures_verified else _build_path)(leaf, intermediates, roots)
        _check_algorithms(path, profile)
        _check_validity(path, now)
        _check_structure(path)
        roles = [role] if isinstance(role, str) else list(role or [])
        unknown = [r for r in roles if r not in ROLES]
        if unknown:
            raise CertificateError("ERR_PKI_LAYOUT", f"unknown role(s) {unknown}")
        errors = []
        for candidate in roles:
            try:
                _check_leaf(leaf, candidate)
                return path
            except CertificateError as exc:
                errors.append(exc)
        if errors:
            raise errors[0]
        return path
    except PARSE_ERRORS as exc:  # cryptography parses names and extensions lazily
        raise _fail("ERR_CERT_MALFORMED", leaf, "format", f"malformed certificate: {exc}") from exc
