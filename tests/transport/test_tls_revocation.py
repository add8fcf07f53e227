"""Revocation of the peer chain inside the TLS handshake ([V2G20-2432]–[V2G20-2437], abort [V2G20-2443]).

Real sockets: Debian `openssl s_client` or our EV context present the vehicle chain to our SECC context; the
refusal reason is read from the SECC's structured log. Every refusal has an accepted twin on the same server.
"""
import asyncio
import json
import shutil
import ssl

import pytest

from certs import Pki, revoke
from iso15118.transport.tls import client_context, server_context
from tests.transport.test_tls import GREETING, TIMEOUT, ev_config, python_server, run_client, secc_config

pytestmark = pytest.mark.interop


@pytest.fixture
def own_pki(pki, tmp_path):
    """A copy of the session PKI whose CRLs a test may change."""
    shutil.copytree(pki.directory, tmp_path / "pki")
    return Pki.load(tmp_path / "pki")


def events(why, name):
    return [json.loads(line) for line in why.text if line.startswith("{") and f'"event": "{name}"' in line]


def vehicle_subject(pki):
    return pki.load_certificate("vehicle").subject.rfc4514_string()


@pytest.mark.parametrize("policy", ["soft", "hard"])
async def test_secc_refuses_a_vehicle_certificate_once_its_crl_lists_it(own_pki, policy):
    context = server_context(secc_config(own_pki, revocation=policy, crl_sources=[own_pki.crl_dir]))
    async with python_server(context) as (port, why):
        accepted, output = await run_client(port, own_pki)
        assert accepted, output + str(why)
        revoke(own_pki, own_pki.load_certificate("vehicle"), reason="key_compromise")
        refused, output = await run_client(port, own_pki)  # same context: the changed CRL file is re-read
    assert not refused, output
    [rejected] = events(why, "tls_peer_rejected")
    assert rejected["code"] == "ERR_CERT_REVOKED" and rejected["response_code"] == "WARNING_CertificateRevoked"
    assert rejected["certificate"] == vehicle_subject(own_pki) and rejected["side"] == "secc"


async def test_our_ev_context_is_refused_with_a_revoked_vehicle_certificate(own_pki):
    revoke(own_pki, own_pki.load_certificate("vehicle"))
    context = server_context(secc_config(own_pki, revocation="soft", crl_sources=[own_pki.crl_dir]))
    async with python_server(context) as (port, why):
        with pytest.raises((ssl.SSLError, ConnectionError, asyncio.IncompleteReadError)):
            reader, writer = await asyncio.wait_for(asyncio.open_connection(
                "127.0.0.1", port, ssl=client_context(ev_config(own_pki))), TIMEOUT)
            line = await asyncio.wait_for(reader.readline(), TIMEOUT)  # TLS 1.3: refusal after the client's Finished
            writer.close()
            if not line:
                raise ConnectionError("closed without a greeting")
    assert [e["code"] for e in events(why, "tls_peer_rejected")] == ["ERR_CERT_REVOKED"]


async def test_hard_policy_refuses_without_crls_and_soft_accepts_and_logs_it(own_pki, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    async with python_server(server_context(secc_config(own_pki, revocation="hard", crl_sources=[empty]))) \
            as (port, hard_why):
        hard, _ = await run_client(port, own_pki)
    async with python_server(server_context(secc_config(own_pki, revocation="soft", crl_sources=[empty]))) \
            as (port, soft_why):
        soft, output = await run_client(port, own_pki)
    assert not hard and soft, output
    [rejected] = events(hard_why, "tls_peer_rejected")
    assert rejected["code"] == "ERR_REVOCATION_UNKNOWN" and rejected["certificate"] == vehicle_subject(own_pki)
    [unknown] = events(soft_why, "tls_peer_revocation_unknown")
    assert unknown["policy"] == "soft" and len(unknown["certificates"]) == 3  # vehicle, OEM Sub-CA 2, Sub-CA 1


@pytest.mark.parametrize("policy", ["soft", "hard"])
async def test_a_crl_signed_by_the_wrong_key_is_refused_not_ignored(own_pki, other_pki, policy):
    genuine = own_pki.crl("oem_sub_ca2").read_bytes()
    context = server_context(secc_config(own_pki, revocation=policy, crl_sources=[own_pki.crl_dir]))
    async with python_server(context) as (port, why):
        # other_pki: same CA names, other keys, so its OEM Sub-CA 2 CRL claims the right issuer
        own_pki.crl("oem_sub_ca2", pem=True).unlink()
        own_pki.crl("oem_sub_ca2").write_bytes(other_pki.crl("oem_sub_ca2").read_bytes())
        forged, _ = await run_client(port, own_pki)
        own_pki.crl("oem_sub_ca2").write_bytes(genuine)  # the genuine CRL back: accepted again
        restored, output = await run_client(port, own_pki)
    assert not forged and restored, output
    [rejected] = events(why, "tls_peer_rejected")
    assert (rejected["code"], rejected["rule"]) == ("ERR_CRL_INVALID", "crl-signature")


@pytest.mark.parametrize("garbage", [b"", b"not a crl", b"\x30\x82\xff\xff" + bytes(64), b"-----BEGIN X509 CRL-----\n"])
async def test_a_garbage_crl_file_refuses_with_a_typed_error_and_the_server_keeps_serving(own_pki, garbage):
    context = server_context(secc_config(own_pki, revocation="soft", crl_sources=[own_pki.crl_dir]))
    junk = own_pki.crl_dir / "dropped-in.der"
    async with python_server(context) as (port, why):
        junk.write_bytes(garbage)
        refused, _ = await run_client(port, own_pki)
        junk.unlink()
        accepted, output = await run_client(port, own_pki)
    assert not refused and accepted, output
    [rejected] = events(why, "tls_peer_rejected")
    assert rejected["code"] == "ERR_CRL_INVALID" and "dropped-in.der" in rejected["message"]


async def test_ev_refuses_an_secc_whose_certificate_its_crls_list(own_pki):
    revoke(own_pki, own_pki.load_certificate("secc"))
    async with python_server(server_context(secc_config(own_pki))) as (port, _):
        for policy, expect_ok in (("off", True), ("soft", False)):
            config = ev_config(own_pki, revocation=policy, crl_sources=[own_pki.crl_dir])
            try:
                reader, writer = await asyncio.wait_for(asyncio.open_connection(
                    "127.0.0.1", port, ssl=client_context(config)), TIMEOUT)
                ok = await asyncio.wait_for(reader.readline(), TIMEOUT) == GREETING + b"\n"
                writer.close()
            except (ssl.SSLError, ConnectionError):
                ok = False
            assert ok is expect_ok, policy
