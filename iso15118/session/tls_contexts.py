"""TLS 1.3 contexts for the session daemons, from a PKI directory made by `v2g pki create` (certs.create_pki).

SECC: its SECC chain, trusting the OEM and V2G roots for the vehicle certificate, stapling its OCSP response,
checking the vehicle chain against the directory's CRLs (crl/, re-read when they change) with `revocation`
"soft" by default (a revoked certificate is refused, a chain without CRLs accepted and logged) [V2G20-2432].
EV: its vehicle chain, trusting the V2G root (plus any `--trust` PEM files).
`keylog`: append the TLS secrets in SSLKEYLOGFILE format, so Wireshark can decrypt a capture.
"""
from __future__ import annotations

import os
from pathlib import Path


def key_password() -> bytes | None:
    """$V2G_PKI_KEY_PASSWORD unlocks password-protected PKI keys (the TLS contexts use the same convention)."""
    password = os.environ.get("V2G_PKI_KEY_PASSWORD")
    return password.encode() if password else None


def secc_context(pki_dir: str | Path, profile: str = "iso20", extra_roots: tuple[str, ...] = (),
                 keylog: str | None = None, revocation: str = "soft"):
    from certs import Pki
    from iso15118.transport.tls import TlsConfig, server_context

    pki = Pki.load(pki_dir)
    ocsp = pki.ocsp_response("secc")
    return server_context(TlsConfig(
        certificate_chain=pki.chain("secc"), private_key=pki.key("secc"),
        trusted_roots=[pki.cert("oem_root"), pki.cert("v2g_root"), *map(Path, extra_roots)],
        profile=profile, ocsp_response=ocsp if ocsp.exists() else None, keylog_file=keylog,
        revocation=revocation, crl_sources=[pki.crl_dir]))


def ev_context(pki_dir: str | Path, trust: tuple[str, ...] = (), profile: str = "iso20",
               keylog: str | None = None):
    from certs import Pki
    from iso15118.transport.tls import TlsConfig, client_context

    pki = Pki.load(pki_dir)
    return client_context(TlsConfig(
        certificate_chain=pki.chain("vehicle"), private_key=pki.key("vehicle"),
        trusted_roots=[pki.cert("v2g_root"), *map(Path, trust)], profile=profile, keylog_file=keylog))
