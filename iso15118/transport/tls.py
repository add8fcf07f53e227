"""TLS 1.3 contexts with the ISO 15118-20 security profile (facts/iso15118-20.md §6, signatures.md §5).

    config = TlsConfig(certificate_chain=pki.chain("secc"), private_key=pki.key("secc"),
                       trusted_roots=[pki.cert("oem_root")], ocsp_response=pki.ocsp_response("secc"))
    server = await asyncio.start_server(handler, host, port, ssl=server_context(config))
    reader, writer = await asyncio.open_connection(host, port, ssl=client_context(ev_config))

What the contexts enforce, per context (so a strict and a compat context coexist in one process):
* TLS 1.3 only [V2G20-1237/2356]; cipher suites TLS_AES_256_GCM_SHA384, TLS_CHACHA20_POLY1305_SHA256 in
  that order [V2G20-2458/2459]; groups secp521r1, x448 [V2G20-1634/1637/2460]; signature algorithms
  ecdsa_secp521r1_sha512, ed448 [V2G20-1667/1668/2461]; the server's preference order wins.
* Mutual authentication: the SECC always requests a certificate [V2G20-2400] and names its trusted roots in
  `certificate_authorities` [V2G20-2401]; the EV names its roots in the ClientHello [V2G20-1006]. Both sides
  check the peer chain with `certs.verify_chain` after OpenSSL's own validation (whose signature checks are not
  repeated): SECC role for the server chain, vehicle role for the client chain [V2G20-2339] (a provisioning
  certificate lacks clientAuth and is refused), failure aborts the handshake [V2G20-2443].
* Revocation of the peer chain [V2G20-2432]–[V2G20-2437]: `revocation` ("off" | "soft" | "hard", see
  `certs.revocation`) with local `crl_sources` / `ocsp_sources` (files or directories, re-read when they
  change; the handshake never does network I/O). A revoked certificate, a forged or unreadable CRL, and
  under "hard" missing or out-of-date information abort the handshake with `tls_peer_rejected`
  (ERR_CERT_REVOKED, ERR_CRL_INVALID, ERR_REVOCATION_UNKNOWN/STALE); "soft" accepts a chain it knows nothing
  about and logs `tls_peer_revocation_unknown`.
* OCSP: the SECC staples `ocsp_response` (re-read when the file changes) [V2G20-2388]; the EV always sends
  status_request [V2G20-2372] and verifies a staple (signer, freshness ≤ 7 days, GOOD) with
  `certs.verify_ocsp_response`; `require_ocsp_staple` makes a missing staple fatal.
* `keylog_file` writes NSS key log lines (SSLKEYLOGFILE format) for Wireshark; off by default (the
  SSLKEYLOGFILE environment variable is deliberately not honoured).
* Logs (one JSON object per line, logger `iso15118.transport.tls`): `tls_peer_rejected` with the ERR_CERT_*
  code, certificate and rule of a refused peer chain; `tls_alert_sent` / `tls_alert_received` (code
  TLS_HANDSHAKE_FAILED for fatal alerts, with OpenSSL's verify error) for every refused handshake.

Known limit: asyncio (3.11) closes a failed server handshake without flushing the alert OpenSSL queued, so a
refused EV sees the TCP connection close rather than the alert; the SECC log above still names the reason.

Profiles are per context, so per connection: the EV passes the context it wants to `open_connection`; an SECC
runs one listener per profile or picks a context per accepted TCP connection with `loop.start_tls`.
The compat profile (`profile="compat"`) is for -2 era peers: additionally P-256/X25519 groups,
ecdsa_secp256r1_sha256/ecdsa_secp384r1_sha384, TLS_AES_128_GCM_SHA256, P-256 chains, and an EV presenting its
OEM provisioning chain (as Josev does). It is still TLS 1.3 only.

Python's `ssl` has no setters for groups, signature algorithms, TLS 1.3 suites, OCSP stapling or CA names;
`_openssl` reaches them per context through a guarded ctypes binding into the libssl `_ssl` itself uses (see
its docstring for why that is safe and why neither OPENSSL_CONF nor pyOpenSSL fits asyncio).
"""
from __future__ import annotations

import dataclasses
import logging
import os
import ssl
from collections.abc import Sequence
from pathlib import Path

from cryptography import x509

from certs import (CertificateError, Profile, RevocationPolicy, RevocationSources, check_revocation, verify_chain,
                   verify_ocsp_response)
from iso15118.transport import _openssl
from v2gbase.config import load_dataclass
from iso15118.transport._log import log_event

_logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class TlsProfile:
    name: str
    groups: tuple[str, ...]
    signature_algorithms: tuple[str, ...]
    ciphersuites: tuple[str, ...]
    client_roles: tuple[str, ...]  # leaf roles (certs.profiles.ROLES) the SECC accepts from an EV
    server_roles: tuple[str, ...]  # leaf roles the EV accepts from an SECC; () = chain rules only, no leaf role


_STRICT_SUITES = ("TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256")
_STRICT_SIGALGS = ("ecdsa_secp521r1_sha512", "ed448")
PROFILES = {
    Profile.ISO20: TlsProfile("iso20", ("secp521r1", "X448"), _STRICT_SIGALGS, _STRICT_SUITES, ("vehicle",),
                              ("secc",)),
    # -2 era peers: EVs that present their OEM provisioning chain (Josev), SECC certificates without the
    # serverAuth EKU our -20 profile requires
    Profile.COMPAT: TlsProfile("compat", ("secp521r1", "X448", "prime256v1", "X25519"),
                               _STRICT_SIGALGS + ("ecdsa_secp256r1_sha256", "ecdsa_secp384r1_sha384"),
                               _STRICT_SUITES + ("TLS_AES_128_GCM_SHA256",), ("vehicle", "oem_prov"), ()),
}


@dataclasses.dataclass
class TlsConfig:
    """One endpoint's TLS settings; the same dataclass configures the SECC (server) and the EV (client)."""

    certificate_chain: Path  # PEM: own leaf, then Sub-CA 2, Sub-CA 1 (certs.Pki.chain(role))
    private_key: Path
    trusted_roots: Sequence[Path]  # roots that may anchor the peer: OEM roots on the SECC, V2G roots on the EV
    profile: str | Profile = Profile.ISO20  # "iso20" / "compat" (value, as in files) or the enum
    key_password: str | None = None  # default: $V2G_PKI_KEY_PASSWORD when set
    ocsp_response: Path | None = None  # server: DER OCSPResponse to staple
    require_ocsp_staple: bool = False  # client: a missing staple aborts the handshake
    keylog_file: Path | None = None
    revocation: str | RevocationPolicy = RevocationPolicy.OFF  # for the peer chain: "off" / "soft" / "hard"
    crl_sources: Sequence[Path] = ()  # CRL files or directories of them (a PKI's crl/)
    ocsp_sources: Sequence[Path] = ()  # cached OCSP responses (DER) for the peer's certificates

    def __post_init__(self) -> None:
        self.certificate_chain = Path(self.certificate_chain)
        self.private_key = Path(self.private_key)
        self.trusted_roots = tuple(Path(p) for p in self.trusted_roots)
        self.profile = Profile(self.profile)
        self.ocsp_response = Path(self.ocsp_response) if self.ocsp_response else None
        self.keylog_file = Path(self.keylog_file) if self.keylog_file else None
        self.revocation = RevocationPolicy(self.revocation)
        self.crl_sources = tuple(Path(p) for p in self.crl_sources)
        self.ocsp_sources = tuple(Path(p) for p in self.ocsp_sources)
        if not self.trusted_roots:
            raise ValueError("TlsConfig.trusted_roots: at least one root is needed for mutual authentication")

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> "TlsConfig":
        return load_dataclass(cls, path)


class V2GContext(ssl.SSLContext):
    """An `ssl.SSLContext` carrying the -20 profile; keeps the OpenSSL callbacks alive with the context."""

    v2g_profile: TlsProfile
    _callbacks: list

    def set_ocsp_response(self, der: bytes | None) -> None:
        """Staple `der` from now on (overrides the configured file)."""
        self._stapled = der


def _chain_checker(roles: Sequence[str], config: TlsConfig, side: str):
    sources = RevocationSources(config.crl_sources, config.ocsp_sources)

    def check(chain_der: list[bytes]) -> bool:
        chain = [x509.load_der_x509_certificate(der) for der in chain_der]
        try:
            # `chain` is the path OpenSSL's X509_verify_cert has just built to a root of this context's store
            # and verified every signature of (same callback, same handshake): only the -20 rules remain.
            verify_chain(chain[0], chain[1:-1], chain[-1:], role=roles, profile=config.profile,
                         signatures_verified=True)
            # local files only: this runs inside the handshake, on the event loop
            unknown = [status.to_dict() for status in check_revocation(chain, sources, policy=config.revocation)
                       if status.status != "good"]
        except CertificateError as exc:
            log_event(_logger, logging.WARNING, "tls_peer_rejected", side=side, **exc.to_dict())
            return False
        if unknown:
            log_event(_logger, logging.WARNING, "tls_peer_revocation_unknown", side=side, code=unknown[0]["code"],
                      policy=config.revocation.value, certificates=unknown)
        return True
    return check


def _base_context(config: TlsConfig, protocol: int) -> V2GContext:
    profile = PROFILES[config.profile]
    context = V2GContext(protocol)
    context.v2g_profile = profile
    context._callbacks = []
    context._stapled = None
    context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1_3
    context.verify_mode = ssl.CERT_REQUIRED
    password = config.key_password if config.key_password is not None else os.environ.get("V2G_PKI_KEY_PASSWORD")
    context.load_cert_chain(config.certificate_chain, config.private_key, password=password)
    for root in config.trusted_roots:
        context.load_verify_locations(cafile=root)
    _openssl.set_tls13_ciphersuites(context, profile.ciphersuites)
    _openssl.set_groups(context, profile.groups)
    _openssl.set_signature_algorithms(context, profile.signature_algorithms)
    if config.keylog_file:
        context.keylog_filename = str(config.keylog_file)
    side = "secc" if protocol == ssl.PROTOCOL_TLS_SERVER else "evcc"

    def report(direction: str, level: str, alert: str, alert_number: int, verify_error: str | None) -> None:
        fatal = level == "fatal"
        log_event(_logger, logging.WARNING if fatal else logging.DEBUG, f"tls_alert_{direction}",
                  code="TLS_HANDSHAKE_FAILED" if fatal else "TLS_ALERT", side=side, severity=level, alert=alert,
                  alert_number=alert_number, verify_error=verify_error)

    context._callbacks.append(_openssl.install_alert_report(context, report))
    return context


def server_context(config: TlsConfig) -> V2GContext:
    """SECC side: pass to `asyncio.start_server(..., ssl=...)`."""
    context = _base_context(config, ssl.PROTOCOL_TLS_SERVER)
    context.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
    # no session tickets: every connection is a full handshake whose vehicle certificate is checked now
    # (-20 has no resumption requirement, facts §6; a resumed session would skip the chain check)
    context.num_tickets = 0
    roots = [str(p) for p in config.trusted_roots]
    _openssl.set_certificate_authorities(context, roots, server=True)
    context._callbacks.append(_openssl.install_chain_check(
        context, _chain_checker(context.v2g_profile.client_roles, config, "secc")))
    cache: dict[str, object] = {}

    def staple() -> bytes | None:
        if context._stapled is not None or config.ocsp_response is None:
            return context._stapled
        try:
            mtime = config.ocsp_response.stat().st_mtime_ns
            if cache.get("mtime") != mtime:
                cache.update(mtime=mtime, der=config.ocsp_response.read_bytes())
            return cache["der"]
        except OSError as exc:
            log_event(_logger, logging.WARNING, "tls_ocsp_staple_unavailable", code="ERR_OCSP_INVALID",
                      path=str(config.ocsp_response), error=str(exc))
            return None

    context._callbacks.append(_openssl.install_ocsp_stapling(context, staple))
    return context


def client_context(config: TlsConfig) -> V2GContext:
    """EV side: pass to `asyncio.open_connection(..., ssl=...)`."""
    context = _base_context(config, ssl.PROTOCOL_TLS_CLIENT)
    # the SECC is reached by the address SDP announced; its identity is its chain to a V2G root, not a name
    context.check_hostname = False
    _openssl.set_certificate_authorities(context, [str(p) for p in config.trusted_roots], server=False)
    context._callbacks.append(_openssl.install_chain_check(
        context, _chain_checker(context.v2g_profile.server_roles, config, "evcc")))

    def check_staple(staple: bytes | None, chain_der: list[bytes]) -> bool:
        if staple is None:
            if config.require_ocsp_staple:
                log_event(_logger, logging.WARNING, "tls_ocsp_staple_missing", code="ERR_OCSP_INVALID")
            return not config.require_ocsp_staple
        if len(chain_der) < 2:
            return False
        leaf, issuer = (x509.load_der_x509_certificate(der) for der in chain_der[:2])
        try:
            verify_ocsp_response(staple, leaf, issuer)
            return True
        except CertificateError as exc:
            log_event(_logger, logging.WARNING, "tls_ocsp_staple_rejected", **exc.to_dict())
            return False

    context._callbacks.append(_openssl.install_ocsp_request(context, check_staple))
    return context
