"""Revocation of certificate chains: CRL issuance (`write_crl`, `revoke`) and checking (`check_revocation`).

-20 has the SECC validate the vehicle chain including revocation, by OCSP or CRL as the OEM offers
[V2G20-2432]–[V2G20-2437], and abort TLS on failure [V2G20-2443]. The check runs inside the TLS handshake, so
it reads only local files (`RevocationSources`: CRLs and cached OCSP responses, re-read when their mtime
changes) and never touches the network; fetching CRLs/OCSP responses is a job outside the handshake.

For each certificate of a chain except the root, with its issuer (the next certificate):
* a CRL whose issuer is that issuer, whose signature verifies with the issuer's key and whose issuer has
  cRLSign (RFC 5280 §6.3.3), and/or a cached OCSP response for it (`certs.verify_ocsp_response`);
* the certificate listed in a correctly signed CRL (fresh or not: a revocation is not undone by age) or
  reported REVOKED by OCSP → ERR_CERT_REVOKED (ResponseCode WARNING_CertificateRevoked);
* a CRL with the right issuer name but a signature that does not verify, or a source that does not parse →
  ERR_CRL_INVALID / ERR_OCSP_INVALID under every policy but `off`: a present but broken or forged source
  is not "no information";
* only stale information (nextUpdate passed, thisUpdate in the future) → ERR_REVOCATION_STALE, none at all →
  ERR_REVOCATION_UNKNOWN: `hard` refuses, `soft` accepts and reports it in the returned statuses.

CRL layout in a PKI directory: crl/<ca role>.der and crl/<ca role>.pem (`Pki.crl`), one CRL per CA, each
re-issued with the next cRLNumber; `create_pki` writes empty ones for every CA.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtensionOID

from .errors import PARSE_ERRORS, CertificateError
from .ocsp import verify_ocsp_response
from .pki import Pki, signature_hash
from .profiles import ROLES, Kind, algorithm_of_key

CRL_VALIDITY = dt.timedelta(days=7)  # nextUpdate of the CRLs we issue; re-issue weekly like OCSP [V2G20-1021]
CLOCK_SKEW = dt.timedelta(minutes=5)
#: CRL extensions a checker of complete, direct CRLs processes (RFC 5280 §5.2); any other critical one → invalid
_UNDERSTOOD_CRL_CRITICAL = {ExtensionOID.CRL_NUMBER, ExtensionOID.AUTHORITY_KEY_IDENTIFIER}
REASONS = tuple(flag.name for flag in x509.ReasonFlags if flag is not x509.ReasonFlags.remove_from_crl)


class RevocationPolicy(str, enum.Enum):
    OFF = "off"  # no revocation check
    SOFT = "soft"  # refuse revoked certificates; accept (and report) when no fresh information exists
    HARD = "hard"  # refuse unless every non-root certificate has fresh information saying it is not revoked


@dataclasses.dataclass(frozen=True)
class RevocationStatus:
    """Outcome for one certificate: `good` (with the source that says so) or `unknown` (with why)."""

    certificate: str
    status: str  # "good" | "unknown"
    source: str | None = None  # file that answered
    code: str | None = None  # ERR_REVOCATION_UNKNOWN / ERR_REVOCATION_STALE when unknown

    def to_dict(self) -> dict[str, str | None]:
        return dataclasses.asdict(self)


# ---------------------------------------------------------------------------------------------- issuing


def build_crl(issuer: x509.Certificate, issuer_key, revoked: Iterable[x509.RevokedCertificate] = (), *,
              number: int = 1, now: dt.datetime | None = None,
              validity: dt.timedelta = CRL_VALIDITY) -> x509.CertificateRevocationList:
    """A complete, direct CRL (RFC 5280 §5) of `issuer`, signed with its key: AKI and cRLNumber included."""
    now = now or dt.datetime.now(dt.timezone.utc)
    ski = issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    builder = (x509.CertificateRevocationListBuilder()
               .issuer_name(issuer.subject).last_update(now).next_update(now + validity)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
               .add_extension(x509.CRLNumber(number), critical=False))
    for entry in revoked:
        builder = builder.add_revoked_certificate(entry)
    return builder.sign(issuer_key, signature_hash(algorithm_of_key(issuer_key.public_key())))


def revoked_entry(serial: int, *, at: dt.datetime | None = None,
                  reason: str | None = None) -> x509.RevokedCertificate:
    builder = (x509.RevokedCertificateBuilder().serial_number(serial)
               .revocation_date(at or dt.datetime.now(dt.timezone.utc)))
    if reason and reason != "unspecified":
        builder = builder.add_extension(x509.CRLReason(x509.ReasonFlags[reason]), critical=False)
    return builder.build()


def ca_roles() -> list[str]:
    return [name for name, spec in ROLES.items() if spec.kind is not Kind.LEAF]


def _current_crl(pki: Pki, ca: str, issuer: x509.Certificate) -> x509.CertificateRevocationList | None:
    path = pki.crl(ca)
    if not path.exists():
        return None
    crl = load_crl(path.read_bytes(), str(path))
    if crl.issuer != issuer.subject or not crl.is_signature_valid(issuer.public_key()):
        raise CertificateError("ERR_CRL_INVALID", f"{path} is not a CRL of {ca}; remove it to start a new one",
                               certificate=issuer.subject.rfc4514_string(), rule="crl-signature")
    return crl


def write_crl(pki: Pki, ca: str, *, add: Sequence[x509.RevokedCertificate] = (), password: bytes | None = None,
              now: dt.datetime | None = None, validity: dt.timedelta = CRL_VALIDITY) -> Path:
    """(Re)issue crl/<ca>.der|.pem: the entries already there plus `add`, the next cRLNumber; returns the DER path."""
    if ca not in ca_roles():
        raise CertificateError("ERR_PKI_LAYOUT", f"{ca!r} is not a CA role; CAs: {', '.join(ca_roles())}")
    issuer = pki.load_certificate(ca)
    current = _current_crl(pki, ca, issuer)
    entries = {entry.serial_number: entry for entry in (current or [])}
    for entry in add:
        entries.setdefault(entry.serial_number, entry)  # the first revocation date stands
    number = 1
    if current is not None:
        number = current.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number + 1
    crl = build_crl(issuer, pki.load_private_key(ca, password), entries.values(), number=number, now=now,
                    validity=validity)
    pki.crl(ca).parent.mkdir(exist_ok=True)
    pki.crl(ca, pem=True).write_bytes(crl.public_bytes(serialization.Encoding.PEM))
    pki.crl(ca).write_bytes(crl.public_bytes(serialization.Encoding.DER))
    return pki.crl(ca)


def issuing_ca(pki: Pki, cert: x509.Certificate) -> str:
    """The CA role of `pki` that issued `cert` (name and signature)."""
    for ca in ca_roles():
        candidate = pki.load_certificate(ca)
        if candidate.subject == cert.issuer:
            try:
                cert.verify_directly_issued_by(candidate)
                return ca
            except PARSE_ERRORS:
                continue
    raise CertificateError("ERR_CERT_UNTRUSTED", "no CA of this PKI issued it",
                           certificate=cert.subject.rfc4514_string(), rule="crl-issuer")


def revoke(pki: Pki, cert: x509.Certificate, *, reason: str | None = None, at: dt.datetime | None = None,
           password: bytes | None = None, now: dt.datetime | None = None) -> tuple[str, Path]:
    """Add `cert` to its issuer's CRL and re-sign it; returns (CA role, CRL path)."""
    if reason is not None and reason not in REASONS:
        raise CertificateError("ERR_PKI_CONFIG", f"unknown reason {reason!r}; known: {', '.join(REASONS)}")
    if cert.issuer == cert.subject:
        raise CertificateError("ERR_PKI_CONFIG", "a root is not revoked by a CRL: remove it from the trust stores",
                               certificate=cert.subject.rfc4514_string(), rule="crl-root")
    ca = issuing_ca(pki, cert)
    return ca, write_crl(pki, ca, add=[revoked_entry(cert.serial_number, at=at, reason=reason)],
                         password=password, now=now)


# ---------------------------------------------------------------------------------------------- checking


def load_crl(data: bytes, origin: str = "CRL") -> x509.CertificateRevocationList:
    """PEM or DER; anything else → ERR_CRL_INVALID (cryptography parses lazily: touch what the checker uses)."""
    try:
        crl = (x509.load_pem_x509_crl(data) if data.lstrip().startswith(b"-----BEGIN")
               else x509.load_der_x509_crl(data))
        crl.issuer.rfc4514_string(), crl.last_update_utc, crl.next_update_utc, list(crl.extensions)
        return crl
    except PARSE_ERRORS as exc:
        raise CertificateError("ERR_CRL_INVALID", f"{origin}: not a CRL: {exc}", rule="crl-format") from exc


def _name(cert: x509.Certificate) -> str:
    try:
        return cert.subject.rfc4514_string()
    except PARSE_ERRORS:
        return f"serial {cert.serial_number:X}"


class RevocationSources:
    """CRL and OCSP response files (or directories of them), re-read when a file's mtime or size changes."""

    def __init__(self, crls: Iterable[str | os.PathLike] = (), ocsp_responses: Iterable[str | os.PathLike] = ()):
        self.crl_paths = tuple(Path(p) for p in crls)
        self.ocsp_paths = tuple(Path(p) for p in ocsp_responses)
        self._cache: dict[Path, tuple[tuple[int, int], object]] = {}
        self._signatures: dict[tuple[bytes, bytes], bool] = {}

    def signature_valid(self, crl: x509.CertificateRevocationList, issuer: x509.Certificate) -> bool:
        """Whether `issuer` signed `crl`; remembered per (CRL, issuer) so a handshake costs no signature check."""
        key = (crl.fingerprint(hashes.SHA256()), issuer.fingerprint(hashes.SHA256()))
        if key not in self._signatures:
            if len(self._signatures) > 1024:
                self._signatures.clear()
            try:
                self._signatures[key] = crl.is_signature_valid(issuer.public_key())
            except PARSE_ERRORS:
                self._signatures[key] = False
        return self._signatures[key]

    def __bool__(self) -> bool:
        return bool(self.crl_paths or self.ocsp_paths)

    @staticmethod
    def _files(paths: Sequence[Path]) -> list[Path]:
        """Files as given, and a directory's .der/.crl/.pem files (a .pem only without a .der twin)."""
        files = []
        for path in paths:
            if path.is_dir():
                found = {p.name: p for p in path.iterdir() if p.suffix in (".der", ".pem", ".crl")}
                files += sorted(p for p in found.values()
                                if not (p.suffix == ".pem" and f"{p.stem}.der" in found) and p.is_file())
            elif path.exists():
                files.append(path)
        return files

    def _load(self, path: Path, parse):
        stat = path.stat()
        stamp = (stat.st_mtime_ns, stat.st_size)
        cached = self._cache.get(path)
        if cached is None or cached[0] != stamp:
            try:
                value: object = parse(path.read_bytes(), str(path))
            except CertificateError as exc:
                value = exc  # remembered until the file changes, raised on every use
            cached = self._cache[path] = (stamp, value)
        if isinstance(cached[1], CertificateError):
            raise cached[1]
        return cached[1]

    def crls(self) -> list[tuple[Path, x509.CertificateRevocationList, bytes]]:
        """(path, CRL, DER issuer name) of every CRL file; a file that does not parse raises ERR_CRL_INVALID."""
        return [(path, *self._load(path, _load_crl_and_issuer)) for path in self._files(self.crl_paths)]

    def ocsp_responses(self) -> list[tuple[Path, bytes, ocsp.OCSPResponse]]:
        return [(path, *self._load(path, _load_ocsp)) for path in self._files(self.ocsp_paths)]


def _load_crl_and_issuer(data: bytes, origin: str) -> tuple[x509.CertificateRevocationList, bytes]:
    crl = load_crl(data, origin)
    return crl, crl.issuer.public_bytes()  # names are rebuilt on every access: match on DER once per file


def _load_ocsp(data: bytes, origin: str) -> tuple[bytes, ocsp.OCSPResponse]:
    try:
        response = ocsp.load_der_ocsp_response(data)
        if response.response_status is ocsp.OCSPResponseStatus.SUCCESSFUL:
            response.serial_number, response.issuer_name_hash, response.hash_algorithm
        return data, response
    except PARSE_ERRORS as exc:
        raise CertificateError("ERR_OCSP_INVALID", f"{origin}: not an OCSP response: {exc}",
                               rule="ocsp-format") from exc


def _crl_status(cert, issuer, sources, crls, now) -> tuple[str, Path | None]:
    """'good' / 'stale' / 'none' from the CRLs of `issuer`; raises for revoked or a forged/unusable CRL."""
    name, best, issuer_name = _name(cert), ("none", None), cert.issuer.public_bytes()
    for path, crl, crl_issuer in crls:
        if crl_issuer != issuer_name:
            continue
        if not sources.signature_valid(crl, issuer):
            raise CertificateError("ERR_CRL_INVALID", f"{path}: CRL signature does not verify with the issuer's key",
                                   certificate=name, rule="crl-signature")
        try:
            crl_sign = issuer.extensions.get_extension_for_class(x509.KeyUsage).value.crl_sign
        except x509.ExtensionNotFound:  # -20 CAs carry keyUsage (verify_chain insists on it)
            crl_sign = False
        if not crl_sign:
            raise CertificateError("ERR_CRL_INVALID", f"{path}: issuer lacks cRLSign", certificate=name,
                                   rule="crl-issuer-key-usage")
        unknown = [e.oid.dotted_string for e in crl.extensions
                   if e.critical and e.oid not in _UNDERSTOOD_CRL_CRITICAL]
        if unknown:  # e.g. a delta CRL or an issuingDistributionPoint we do not process
            raise CertificateError("ERR_CRL_INVALID", f"{path}: unprocessed critical CRL extension(s) {unknown}",
                                   certificate=name, rule="crl-critical-extension")
        entry = crl.get_revoked_certificate_by_serial_number(cert.serial_number)
        if entry is not None:
            since = entry.revocation_date_utc.isoformat()
            raise CertificateError("ERR_CERT_REVOKED", f"listed in {path} since {since}", certificate=name,
                                   rule="crl")
        next_update = crl.next_update_utc
        fresh = crl.last_update_utc <= now + CLOCK_SKEW and next_update is not None and now <= next_update
        if fresh:
            best = ("good", path)
        elif best[0] == "none":
            best = ("stale", path)
    return best


def _ocsp_status(cert, issuer, responses, now) -> tuple[str, Path | None]:
    best = ("none", None)
    for path, der, response in responses:
        if response.response_status is not ocsp.OCSPResponseStatus.SUCCESSFUL:
            continue
        if response.serial_number != cert.serial_number:
            continue
        digest = hashes.Hash(response.hash_algorithm)
        digest.update(cert.issuer.public_bytes())
        if digest.finalize() != response.issuer_name_hash:
            continue
        try:
            verify_ocsp_response(der, cert, issuer, now=now)
            best = ("good", path)
        except CertificateError as exc:
            if exc.rule != "ocsp-freshness":
                raise
            if best[0] == "none":
                best = ("stale", path)
    return best


def check_revocation(chain: Sequence[x509.Certificate], sources: RevocationSources, *,
                     policy: RevocationPolicy | str = RevocationPolicy.HARD,
                     now: dt.datetime | float | None = None) -> list[RevocationStatus]:
    """Check every certificate of `chain` (leaf … root, each issued by the next) except the root.

    Returns one `RevocationStatus` per checked certificate; raises `CertificateError` (ERR_CERT_REVOKED,
    ERR_CRL_INVALID, ERR_OCSP_INVALID, and under `hard` ERR_REVOCATION_STALE / ERR_REVOCATION_UNKNOWN).
    """
    policy = RevocationPolicy(policy)
    if policy is RevocationPolicy.OFF:
        return []
    if now is None:
        now = dt.datetime.now(dt.timezone.utc)
    elif isinstance(now, (int, float)):
        now = dt.datetime.fromtimestamp(now, dt.timezone.utc)
    crls, responses = sources.crls(), sources.ocsp_responses()
    statuses = []
    for cert, issuer in zip(chain, chain[1:]):
        name = _name(cert)
        try:
            found = [_crl_status(cert, issuer, sources, crls, now), _ocsp_status(cert, issuer, responses, now)]
        except PARSE_ERRORS as exc:
            raise CertificateError("ERR_CRL_INVALID", f"unusable revocation information: {exc}", certificate=name,
                                   rule="revocation-format") from exc
        good = next((path for state, path in found if state == "good"), None)
        if good is not None:
            statuses.append(RevocationStatus(name, "good", str(good)))
            continue
        stale = next((path for state, path in found if state == "stale"), None)
        code = "ERR_REVOCATION_STALE" if stale else "ERR_REVOCATION_UNKNOWN"
        if policy is RevocationPolicy.HARD:
            detail = f"only out-of-date revocation information ({stale})" if stale else \
                "no CRL or OCSP response from its issuer"
            raise CertificateError(code, detail, certificate=name, rule="revocation-information")
        statuses.append(RevocationStatus(name, "unknown", str(stale) if stale else None, code))
    return statuses
