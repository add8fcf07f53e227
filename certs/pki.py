"""Create an ISO 15118-20 PKI on disk (`create_pki`) and find its files again (`Pki`).

Layout of a PKI directory (all names are role names from `certs.profiles.ROLES`):

    pki.json                 manifest: profile, algorithm, identifiers, per-role subject/serial/expiry
    certs/<role>.pem|.der    every certificate, PEM and DER
    chains/<leaf>.pem        leaf followed by its Sub-CA 2 and Sub-CA 1, root excluded: what TLS sends and
                             what SubCertificates carry
    private/<role>.key       PKCS#8 PEM private key, mode 0600 (directory 0700), encrypted when a password is set
    private/oem_prov_x448.key  Ed448 profile only: the OEM provisioning X448 key-agreement key (§7.1: an Ed448
                             provisioning certificate carries an alternate X448 key for ECDH)
    ocsp/<role>.der          OCSP responses for the SECC chain (secc, cpo_sub_ca2, cpo_sub_ca1), ≤ 7 days
    crl/<ca>.der|.pem        one CRL per CA role (empty at creation, nextUpdate 7 days; `certs.revocation`)

Re-running on an existing directory re-issues the certificates with the keys already there; new keys are only
generated with `force=True`.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, x448
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID

from .errors import CertificateError
from .profiles import PATH_LENGTH, ROLES, Algorithm, Kind, Profile, RoleSpec, algorithm_of_key, issuers_of

X448_KEY_NAME = "oem_prov_x448"
PASSWORD_ENV = "V2G_PKI_KEY_PASSWORD"


@dataclass
class PkiConfig:
    """Everything `create_pki` needs; loadable from a JSON file with the same field names."""

    profile: Profile = Profile.ISO20
    algorithm: Algorithm = Algorithm.SECP521R1
    evseid: str = "DE*V2G*E0000001*1"
    emaid: str = "DEV2GC000000001"
    evccid: str = "WV2ZZZ7HZPH000001"
    pcid: str = "V2GTESTPCID0000001"  # 18 uppercase letters/digits: the AAD of contract key delivery
    organization: str = "V2G Test"
    oem_organization: str = "V2G Test OEM"
    country: str = "DE"
    ocsp_url: str | None = "http://127.0.0.1:8080/ocsp"
    validity_days: dict[str, int] = field(default_factory=dict)  # per-role overrides
    not_before: dt.datetime | None = None  # default: now minus one hour (clock skew)
    key_password: bytes | None = None
    force: bool = False  # generate new keys even when key files exist

    def __post_init__(self) -> None:
        try:
            self.profile = Profile(self.profile)
            self.algorithm = Algorithm(self.algorithm)
        except ValueError as exc:
            raise CertificateError("ERR_PKI_CONFIG", str(exc), rule="config") from exc
        if not re.fullmatch(r"[A-Z0-9]{18}", self.pcid):
            # the PCID goes into the contract key AAD as 18 upper-case letters/digits [V2G20-2492]
            raise CertificateError("ERR_PKI_CONFIG", f"PCID {self.pcid!r} must be 18 upper-case letters/digits",
                                   rule="config")
        if self.profile is Profile.COMPAT:
            self.algorithm = Algorithm.SECP256R1
        elif self.algorithm is Algorithm.SECP256R1:
            raise CertificateError("ERR_CERT_ALGORITHM", "secp256r1 is only allowed in the compat profile",
                                   rule="profile")
        unknown = set(self.validity_days) - set(ROLES)
        if unknown:
            raise CertificateError("ERR_PKI_CONFIG", f"unknown roles in validity_days: {sorted(unknown)}",
                                   rule="config")

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> "PkiConfig":
        try:
            data = json.loads(Path(path).read_text())
            if isinstance(data.get("key_password"), str):
                data["key_password"] = data["key_password"].encode()
            if isinstance(data.get("not_before"), str):
                data["not_before"] = dt.datetime.fromisoformat(data["not_before"])
            return cls(**data)
        except (TypeError, ValueError, AttributeError) as exc:
            raise CertificateError("ERR_PKI_CONFIG", f"{path}: {exc}", rule="config") from exc


@dataclass(frozen=True)
class Pki:
    """Paths of a PKI directory; `Pki.load(dir)` reads pki.json."""

    directory: Path
    profile: Profile
    algorithm: Algorithm
    evseid: str
    emaid: str
    evccid: str
    pcid: str

    def cert(self, role: str) -> Path:
        return self.directory / "certs" / f"{_known(role)}.pem"

    def cert_der(self, role: str) -> Path:
        return self.directory / "certs" / f"{_known(role)}.der"

    def key(self, role: str) -> Path:
        return self.directory / "private" / f"{_known(role)}.key"

    def chain(self, leaf: str) -> Path:
        """Leaf + Sub-CAs (no root), PEM: the certfile for `ssl.SSLContext.load_cert_chain`."""
        return self.directory / "chains" / f"{_known(leaf)}.pem"

    def root_of(self, role: str) -> Path:
        return self.cert(issuers_of(role)[-1] if ROLES[role].issuer else role)

    def ocsp_response(self, role: str) -> Path:
        return self.directory / "ocsp" / f"{_known(role)}.der"

    @property
    def crl_dir(self) -> Path:
        return self.directory / "crl"

    def crl(self, ca: str, *, pem: bool = False) -> Path:
        """The CRL CA role `ca` issues: crl/<ca>.der (or .pem)."""
        return self.crl_dir / f"{_known(ca)}.{'pem' if pem else 'der'}"

    @property
    def x448_key(self) -> Path | None:
        """OEM provisioning X448 key (Ed448 profile only)."""
        return self.directory / "private" / f"{X448_KEY_NAME}.key" if self.algorithm is Algorithm.ED448 else None

    def load_certificate(self, role: str) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.cert(role).read_bytes())

    def load_chain(self, leaf: str) -> list[x509.Certificate]:
        return x509.load_pem_x509_certificates(self.chain(leaf).read_bytes())

    def load_private_key(self, role: str, password: bytes | None = None):
        return _load_key(self.key(role), password)

    @classmethod
    def load(cls, directory: str | os.PathLike) -> "Pki":
        directory = Path(directory)
        try:
            manifest = json.loads((directory / "pki.json").read_text())
            return cls(directory, Profile(manifest["profile"]), Algorithm(manifest["algorithm"]),
                       **{k: manifest["identifiers"][k] for k in ("evseid", "emaid", "evccid", "pcid")})
        except (OSError, ValueError, KeyError) as exc:
            raise CertificateError("ERR_PKI_LAYOUT", f"{directory} is not a PKI directory: {exc}") from exc


def _known(role: str) -> str:
    if role not in ROLES:
        raise CertificateError("ERR_PKI_LAYOUT", f"unknown role {role!r}; known: {', '.join(ROLES)}")
    return role


def subject_key_identifier(public_key) -> x509.SubjectKeyIdentifier:
    """64-bit SKI, RFC 5280 §4.2.1.2 method (2): 0b0100 followed by the low 60 bits of SHA-1(subjectPublicKey).

    -20 puts the SKI into the contract key AAD as 16 upper-case hex characters [V2G20-2492], which a 64-bit
    identifier fits exactly (facts/signatures.md §3).
    """
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        raw = public_key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    else:
        raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    digest = bytearray(hashlib.sha1(raw).digest()[-8:])
    digest[0] = 0x40 | (digest[0] & 0x0F)
    return x509.SubjectKeyIdentifier(bytes(digest))


def signature_hash(algorithm: Algorithm):
    return {Algorithm.SECP521R1: hashes.SHA512(), Algorithm.SECP256R1: hashes.SHA256(), Algorithm.ED448: None}[
        algorithm]


def generate_key(algorithm: Algorithm):
    if algorithm is Algorithm.ED448:
        return ed448.Ed448PrivateKey.generate()
    curve = ec.SECP521R1() if algorithm is Algorithm.SECP521R1 else ec.SECP256R1()
    return ec.generate_private_key(curve)


def subject_for(spec: RoleSpec, config: PkiConfig) -> x509.Name:
    common_name = {"secc": config.evseid, "contract": config.emaid, "vehicle": config.evccid,
                   "oem_prov": config.pcid}.get(spec.name, spec.common_name)
    if spec.only_cn_and_o:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                          x509.NameAttribute(NameOID.ORGANIZATION_NAME, config.oem_organization)])
    organization = config.oem_organization if spec.name.startswith("oem") else config.organization
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                  x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
                  x509.NameAttribute(NameOID.COUNTRY_NAME, config.country)]
    if spec.domain_component:
        attributes.append(x509.NameAttribute(NameOID.DOMAIN_COMPONENT, spec.domain_component))
    return x509.Name(attributes)


def _key_usage(bits: frozenset[str]) -> x509.KeyUsage:
    names = ("digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
             "key_agreement", "key_cert_sign", "crl_sign")
    return x509.KeyUsage(**{n: n in bits for n in names}, encipher_only=False, decipher_only=False)


def issue_certificate(spec: RoleSpec, public_key, subject: x509.Name, issuer_cert: x509.Certificate | None,
                      issuer_key, *, not_before: dt.datetime, validity_days: int | None = None,
                      ocsp_url: str | None = None) -> x509.Certificate:
    """Issue one certificate of `spec`'s profile (self-signed when `issuer_cert` is None)."""
    days = spec.validity_days if validity_days is None else validity_days
    issuer_name = subject if issuer_cert is None else issuer_cert.subject
    ca = spec.kind is not Kind.LEAF
    builder = (x509.CertificateBuilder()
               .subject_name(subject).issuer_name(issuer_name).public_key(public_key)
               .serial_number(x509.random_serial_number())
               .not_valid_before(not_before).not_valid_after(not_before + dt.timedelta(days=days))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=PATH_LENGTH.get(spec.kind) if ca else None),
                              critical=True)
               .add_extension(_key_usage(spec.key_usage), critical=True)
               .add_extension(subject_key_identifier(public_key), critical=False))
    if issuer_cert is not None:
        ski = issuer_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        builder = builder.add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski),
                                        critical=False)
    if spec.extended_key_usage:
        builder = builder.add_extension(x509.ExtendedKeyUsage(list(spec.extended_key_usage)), critical=False)
    if "ocsp_nocheck" in spec.extras:
        builder = builder.add_extension(x509.OCSPNoCheck(), critical=False)
    if "ocsp_url" in spec.extras and ocsp_url:
        builder = builder.add_extension(x509.AuthorityInformationAccess([x509.AccessDescription(
            AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(ocsp_url))]), critical=False)
    algorithm = algorithm_of_key(issuer_key.public_key())
    return builder.sign(issuer_key, signature_hash(algorithm))


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # also when the file existed with looser permissions
        os.write(fd, data)
    finally:
        os.close(fd)


def _load_key(path: Path, password: bytes | None):
    try:
        return serialization.load_pem_private_key(path.read_bytes(), password)
    except (TypeError, ValueError) as exc:
        raise CertificateError("ERR_PKI_KEY_MISMATCH", f"cannot read {path} (wrong or missing password?): {exc}",
                               rule="key") from exc


def _key_bytes(key, password: bytes | None) -> bytes:
    encryption = (serialization.BestAvailableEncryption(password) if password
                  else serialization.NoEncryption())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)


def _obtain_key(path: Path, config: PkiConfig, make, fits) -> object:
    if path.exists() and not config.force:
        key = _load_key(path, config.key_password)
        if not fits(key):
            raise CertificateError("ERR_PKI_KEY_MISMATCH", f"{path} holds a key of another algorithm; "
                                   "use --force to replace the keys", rule="key")
        return key
    key = make()
    _write_private(path, _key_bytes(key, config.key_password))
    return key


def create_pki(directory: str | os.PathLike, config: PkiConfig | None = None) -> Pki:
    """Create (or re-issue) the complete -20 PKI in `directory`; returns its paths."""
    from .ocsp import write_secc_ocsp_responses  # ocsp needs Pki; import here to keep modules one-way
    from .revocation import ca_roles, write_crl

    config = config or PkiConfig()
    directory = Path(directory)
    for sub in ("certs", "chains", "ocsp"):
        (directory / sub).mkdir(parents=True, exist_ok=True)
    (directory / "private").mkdir(mode=0o700, exist_ok=True)
    os.chmod(directory / "private", 0o700)
    pki = Pki(directory, config.profile, config.algorithm, config.evseid, config.emaid, config.evccid,
              config.pcid)
    not_before = config.not_before or (dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1))

    keys, certs, manifest = {}, {}, {}
    for name, spec in ROLES.items():  # declaration order puts every issuer before what it issues
        keys[name] = _obtain_key(pki.key(name), config, lambda: generate_key(config.algorithm),
                                 lambda key: algorithm_of_key(key.public_key()) is config.algorithm)
        issuer = spec.issuer
        cert = issue_certificate(spec, keys[name].public_key(), subject_for(spec, config),
                                 certs.get(issuer), keys[issuer] if issuer else keys[name],
                                 not_before=not_before, validity_days=config.validity_days.get(name),
                                 ocsp_url=config.ocsp_url)
        certs[name] = cert
        pki.cert(name).write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        pki.cert_der(name).write_bytes(cert.public_bytes(serialization.Encoding.DER))
        manifest[name] = {"subject": cert.subject.rfc4514_string(), "serial": f"{cert.serial_number:x}",
                          "not_after": cert.not_valid_after_utc.isoformat(), "kind": spec.kind.value}
        if spec.kind is Kind.LEAF:
            chain = [cert] + [certs[i] for i in issuers_of(name)[:-1]]
            pki.chain(name).write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in chain))
    if config.algorithm is Algorithm.ED448:
        _obtain_key(pki.x448_key, config, x448.X448PrivateKey.generate,
                    lambda key: isinstance(key, x448.X448PrivateKey))

    identifiers = {k: getattr(config, k) for k in ("evseid", "emaid", "evccid", "pcid")}
    (directory / "pki.json").write_text(json.dumps(
        {"profile": config.profile.value, "algorithm": config.algorithm.value, "identifiers": identifiers,
         "key_password_protected": bool(config.key_password), "certificates": manifest}, indent=2) + "\n")
    write_secc_ocsp_responses(pki, password=config.key_password)
    for ca in ca_roles():
        if config.force:  # new keys: the old CRLs no longer verify
            pki.crl(ca).unlink(missing_ok=True)
        if not pki.crl(ca).exists():  # kept keys: an existing CRL (and its entries) stays valid
            write_crl(pki, ca, password=config.key_password)
    return pki

