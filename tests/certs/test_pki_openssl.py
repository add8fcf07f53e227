"""The PKI as an independent implementation (Debian `openssl`) sees it."""
import hashlib
import re
import subprocess

import pytest
from cryptography.hazmat.primitives import serialization

from certs import ROLES
from certs.profiles import LEAVES

pytestmark = pytest.mark.interop


def openssl(*args, check=False):
    return subprocess.run(["openssl", *map(str, args)], capture_output=True, text=True, timeout=30, check=check)


def x509_text(path):
    return openssl("x509", "-in", path, "-noout", "-text", check=True).stdout


@pytest.mark.parametrize("fixture", ["pki", "pki_ed448", "pki_compat"])
@pytest.mark.parametrize("leaf", LEAVES)
def test_every_chain_verifies_with_openssl(request, fixture, leaf):
    pki = request.getfixturevalue(fixture)
    result = openssl("verify", "-x509_strict", "-CAfile", pki.root_of(leaf), "-untrusted", pki.chain(leaf),
                     pki.cert(leaf))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("leaf, purpose", [("secc", "sslserver"), ("vehicle", "sslclient"),
                                           ("ocsp_signer", "ocsphelper")])
def test_tls_leaves_fit_their_openssl_purpose(pki, leaf, purpose):
    result = openssl("verify", "-purpose", purpose, "-CAfile", pki.root_of(leaf), "-untrusted", pki.chain(leaf),
                     pki.cert(leaf))
    assert result.returncode == 0, result.stdout + result.stderr


def test_vehicle_certificate_is_not_a_server_certificate(pki):
    result = openssl("verify", "-purpose", "sslserver", "-CAfile", pki.root_of("vehicle"), "-untrusted",
                     pki.chain("vehicle"), pki.cert("vehicle"))
    assert result.returncode != 0


@pytest.mark.parametrize("leaf", ["secc", "vehicle", "contract"])
def test_openssl_verify_fails_for_a_wrong_root(pki, other_pki, leaf):
    lookalike = openssl("verify", "-CAfile", other_pki.root_of(leaf), "-untrusted", pki.chain(leaf), pki.cert(leaf))
    assert lookalike.returncode != 0
    other_hierarchy = openssl("verify", "-CAfile", pki.cert("mo_root" if leaf != "contract" else "oem_root"),
                              "-untrusted", pki.chain(leaf), pki.cert(leaf))
    assert other_hierarchy.returncode != 0


@pytest.mark.parametrize("fixture, key_text, signature", [
    ("pki", "Public-Key: (521 bit)", "ecdsa-with-SHA512"),
    ("pki_ed448", "ED448 Public-Key", "ED448"),
    ("pki_compat", "Public-Key: (256 bit)", "ecdsa-with-SHA256"),
])
def test_every_certificate_uses_the_profile_algorithm(request, fixture, key_text, signature):
    pki = request.getfixturevalue(fixture)
    for role in ROLES:
        text = x509_text(pki.cert(role))
        assert key_text in text, role
        assert f"Signature Algorithm: {signature}" in text, role


@pytest.mark.parametrize("role, constraint", [("v2g_root", "CA:TRUE\n"), ("cpo_sub_ca1", "CA:TRUE, pathlen:1"),
                                              ("cpo_sub_ca2", "CA:TRUE, pathlen:0"), ("mo_sub_ca1", "pathlen:1"),
                                              ("oem_sub_ca2", "pathlen:0"), ("cps_sub_ca2", "pathlen:0"),
                                              ("secc", "CA:FALSE")])
def test_basic_constraints_are_critical_with_the_sub_ca_path_lengths(pki, role, constraint):
    text = x509_text(pki.cert(role))
    assert "X509v3 Basic Constraints: critical" in text
    assert constraint in text


@pytest.mark.parametrize("role, usage", [("v2g_root", "Certificate Sign, CRL Sign"),
                                         ("cpo_sub_ca2", "Certificate Sign, CRL Sign"),
                                         ("secc", "Digital Signature, Key Agreement"),
                                         ("vehicle", "Digital Signature, Key Agreement"),
                                         ("oem_prov", "Digital Signature, Key Agreement"),
                                         ("cps", "Digital Signature")])
def test_key_usage_is_critical_per_role(pki, role, usage):
    text = x509_text(pki.cert(role))
    assert re.search(r"X509v3 Key Usage: critical\n\s+" + re.escape(usage) + r"\n", text), text


def test_identifiers_are_the_common_names(pki):
    def subject(role):
        return openssl("x509", "-in", pki.cert(role), "-noout", "-subject", "-nameopt", "RFC2253").stdout.strip()
    assert subject("secc").startswith(f"subject=DC=CPO,C=DE,O=V2G Test,CN={pki.evseid}")
    assert subject("contract").endswith(f"CN={pki.emaid}")
    assert subject("oem_prov").endswith(f"CN={pki.pcid}")
    # the vehicle certificate: CN = EVCCID, O = OEM, no other RDNs [V2G20-2598]
    assert subject("vehicle") == f"subject=O=V2G Test OEM,CN={pki.evccid}"


def _ski_rfc5280_method2(cert_path):
    spki = openssl("x509", "-in", cert_path, "-noout", "-pubkey", check=True).stdout
    der = serialization.load_pem_public_key(spki.encode()).public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    digest = bytearray(hashlib.sha1(der).digest()[-8:])
    digest[0] = 0x40 | (digest[0] & 0x0F)
    return ":".join(f"{b:02X}" for b in digest)


@pytest.mark.parametrize("role", ["v2g_root", "cpo_sub_ca1", "secc", "contract"])
def test_ski_is_64_bit_rfc5280_method_2_and_aki_names_the_issuer(pki, role):
    text = x509_text(pki.cert(role))
    ski = re.search(r"Subject Key Identifier: \n\s+([0-9A-F:]+)", text).group(1)
    assert ski == _ski_rfc5280_method2(pki.cert(role))
    issuer = ROLES[role].issuer
    if issuer:
        aki = re.search(r"Authority Key Identifier: \n\s+(?:keyid:)?([0-9A-F:]+)", text).group(1)
        assert aki == _ski_rfc5280_method2(pki.cert(issuer))
