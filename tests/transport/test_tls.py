"""The -20 TLS profile proven against Debian `openssl s_client` / `s_server` as the independent peer.

Each refusal test has a positive twin that differs in exactly the property under test, so a refusal for
an unrelated reason cannot make a test pass.
"""
import asyncio
import contextlib
import logging
import re
import dataclasses
import datetime as dt
import ssl
import subprocess

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID

from certs import PkiConfig, build_ocsp_response
from certs.pki import generate_key, issue_certificate, subject_for
from certs.profiles import ROLES
from iso15118.transport.tls import TlsConfig, client_context, server_context

pytestmark = pytest.mark.interop
GREETING = b"V2G-OK"
TIMEOUT = 20


def _write_vehicle(pki, directory, name, spec=ROLES["vehicle"], not_before=None, days=None):
    """A vehicle certificate under the PKI's OEM Sub-CA 2 with one property changed; returns (chain, key)."""
    key = generate_key(pki.algorithm)
    cert = issue_certificate(spec, key.public_key(), subject_for(spec, PkiConfig(evccid=pki.evccid)),
                             pki.load_certificate("oem_sub_ca2"), pki.load_private_key("oem_sub_ca2"),
                             not_before=not_before or dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1),
                             validity_days=days)
    chain, key_path = directory / f"{name}.pem", directory / f"{name}.key"
    subs = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in pki.load_chain("vehicle")[1:])
    chain.write_bytes(cert.public_bytes(serialization.Encoding.PEM) + subs)
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return chain, key_path


@pytest.fixture(scope="module")
def bad_vehicles(pki, tmp_path_factory):
    directory = tmp_path_factory.mktemp("bad-vehicles")
    return {
        "expired": _write_vehicle(pki, directory, "expired",
                                  not_before=dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=10), days=1),
        "server_eku": _write_vehicle(pki, directory, "server_eku", dataclasses.replace(
            ROLES["vehicle"], extended_key_usage=(ExtendedKeyUsageOID.SERVER_AUTH,))),
    }


def secc_config(pki, **kwargs):
    kwargs.setdefault("ocsp_response", pki.ocsp_response("secc"))
    return TlsConfig(pki.chain("secc"), pki.key("secc"), [pki.cert("oem_root")], **kwargs)


def ev_config(pki, **kwargs):
    return TlsConfig(pki.chain("vehicle"), pki.key("vehicle"), [pki.cert("v2g_root")], **kwargs)


class _Reasons(logging.Handler):
    """Why the Python server dropped a handshake: asyncio logs the SSLError only in debug mode, and it closes
    the socket without flushing OpenSSL's alert, so the peer's output alone cannot tell refusals apart."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.text = []

    def emit(self, record):
        self.text.append(record.getMessage() + (f" {record.exc_info[1]}" if record.exc_info else ""))

    def __str__(self):
        return "\n".join(self.text)


@contextlib.asynccontextmanager
async def python_server(context):
    async def greet(reader, writer):
        writer.write(GREETING + b"\n")
        await writer.drain()
        writer.close()

    loop = asyncio.get_running_loop()
    reasons = _Reasons()
    loggers = [logging.getLogger("asyncio"), logging.getLogger("iso15118.transport.tls")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(reasons)
        logger.setLevel(logging.DEBUG)
    debug = loop.get_debug()
    loop.set_debug(True)
    server = await asyncio.start_server(greet, "127.0.0.1", 0, ssl=context)
    try:
        yield server.sockets[0].getsockname()[1], reasons
    finally:
        server.close()
        loop.set_debug(debug)
        for logger, level in zip(loggers, levels):
            logger.removeHandler(reasons)
            logger.setLevel(level)


async def s_client(port, pki, *extra, cert="vehicle", chain=None, key=None, ca=None) -> str:
    args = ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-CAfile", str(ca or pki.cert("v2g_root")),
            "-ign_eof"]
    if cert:
        args += ["-cert", str(chain or pki.chain(cert)), "-key", str(key or pki.key(cert)),
                 "-cert_chain", str(chain or pki.chain(cert))]
    process = await asyncio.create_subprocess_exec(*args, *extra, stdin=subprocess.DEVNULL,
                                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output, _ = await asyncio.wait_for(process.communicate(), TIMEOUT)
    return output.decode(errors="replace")


async def run_client(port, pki, *extra, **kwargs) -> tuple[bool, str]:
    output = await s_client(port, pki, *extra, **kwargs)
    return GREETING.decode() in output, output


# --- SECC (Python server) against s_client -----------------------------------------------------------------

@pytest.mark.parametrize("group, shown", [("P-521", "ECDH, secp521r1, 521 bits"), ("X448", "X448, 448 bits")])
async def test_strict_server_accepts_p521_and_x448(pki, group, shown):
    async with python_server(server_context(secc_config(pki))) as (port, why):
        accepted, output = await run_client(port, pki, "-groups", group)
    assert accepted, output
    assert f"Server Temp Key: {shown}" in output
    assert "New, TLSv1.3, Cipher is TLS_AES_256_GCM_SHA384" in output


@pytest.mark.parametrize("groups", ["P-256", "X25519", "P-384:P-256"])
async def test_strict_server_refuses_clients_without_a_profile_group(pki, groups):
    async with python_server(server_context(secc_config(pki))) as (port, why):
        accepted, output = await run_client(port, pki, "-groups", groups)
    assert not accepted
    assert "no suitable key share" in str(why), output
    assert '"alert": "handshake failure"' in str(why)  # our structured log names the refusal


async def test_server_issues_no_session_tickets(pki):
    async with python_server(server_context(secc_config(pki))) as (port, why):
        accepted, output = await run_client(port, pki)
    assert accepted
    assert "New Session Ticket" not in output


async def test_tls12_is_refused(pki):
    async with python_server(server_context(secc_config(pki))) as (port, why):
        accepted, output = await run_client(port, pki, "-tls1_2")
        accepted13, _ = await run_client(port, pki, "-tls1_3")
    assert not accepted and accepted13
    assert "unsupported protocol" in str(why)
    assert '"alert": "protocol version", "alert_number": 70, "code": "TLS_HANDSHAKE_FAILED"' in str(why)


async def test_cipher_suites_follow_the_profile_and_server_order(pki):
    async with python_server(server_context(secc_config(pki))) as (port, why):
        chacha, chacha_out = await run_client(port, pki, "-ciphersuites", "TLS_CHACHA20_POLY1305_SHA256")
        aes128, _ = await run_client(port, pki, "-ciphersuites", "TLS_AES_128_GCM_SHA256")
        _, both = await run_client(port, pki, "-ciphersuites",
                                   "TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384")
    assert chacha and "Cipher is TLS_CHACHA20_POLY1305_SHA256" in chacha_out
    assert not aes128  # not in Table 6
    assert "Cipher is TLS_AES_256_GCM_SHA384" in both  # [V2G20-2458] order, server preference


async def test_strict_server_refuses_sha256_signature_algorithms(pki):
    async with python_server(server_context(secc_config(pki))) as (port, why):
        accepted, _ = await run_client(port, pki, "-sigalgs", "ECDSA+SHA256:ECDSA+SHA384")
        accepted_p521, _ = await run_client(port, pki, "-sigalgs", "ECDSA+SHA512")
    assert not accepted and accepted_p521


async def test_client_without_certificate_is_refused(pki):
    async with python_server(server_context(secc_config(pki))) as (port, why):
        accepted, output = await run_client(port, pki, cert=None)
    assert not accepted
    assert "peer did not return a certificate" in str(why)
    assert '"alert": "certificate required"' in str(why)


async def test_server_asks_for_certificates_from_its_trusted_oem_roots(pki):
    async with python_server(server_context(secc_config(pki))) as (port, why):
        _, output = await run_client(port, pki)
    listed = output.split("Acceptable client certificate CA names", 1)[1].split("Requested Signature", 1)[0]
    assert "CN = OEM Root CA" in listed and "V2G Root" not in listed


@pytest.mark.parametrize("which, reason", [("expired", "certificate has expired"),
                                           ("server_eku", "unsuitable certificate purpose")])
async def test_bad_vehicle_certificates_are_refused(pki, bad_vehicles, which, reason):
    chain, key = bad_vehicles[which]
    async with python_server(server_context(secc_config(pki))) as (port, why):
        accepted, output = await run_client(port, pki, chain=chain, key=key)
    assert not accepted, output
    assert reason in str(why)
    assert f'"verify_error": "{reason}"' in str(why)


async def test_vehicle_from_another_oem_root_is_refused(pki, other_pki):
    async with python_server(server_context(secc_config(pki))) as (port, why):
        accepted, output = await run_client(port, pki, chain=other_pki.chain("vehicle"),
                                            key=other_pki.key("vehicle"))
    assert not accepted
    assert "unable to get local issuer certificate" in str(why)


async def test_provisioning_chain_is_refused_strict_but_accepted_by_compat(pki):
    strict = server_context(secc_config(pki))
    compat = server_context(secc_config(pki, profile="compat"))
    async with python_server(strict) as (strict_port, strict_why), python_server(compat) as (compat_port, _):
        refused, _ = await run_client(strict_port, pki, cert="oem_prov")
        accepted, _ = await run_client(compat_port, pki, cert="oem_prov")
    assert not refused and accepted
    assert "ERR_CERT_EKU" in str(strict_why) and "application verification failure" in str(strict_why)


async def test_ocsp_response_is_stapled(pki):
    async with python_server(server_context(secc_config(pki))) as (port, why):
        _, output = await run_client(port, pki, "-status")
    assert "OCSP Response Status: successful (0x0)" in output
    assert "Cert Status: good" in output
    stapled_serial = re.search(r"Serial Number: ([0-9A-F]+)", output).group(1)
    assert int(stapled_serial, 16) == pki.load_certificate("secc").serial_number


async def test_staple_follows_the_file_and_runtime_updates(pki, tmp_path):
    staple = tmp_path / "staple.der"
    context = server_context(secc_config(pki, ocsp_response=staple))
    async with python_server(context) as (port, why):
        _, missing = await run_client(port, pki, "-status")
        staple.write_bytes(pki.ocsp_response("secc").read_bytes())
        _, present = await run_client(port, pki, "-status")
        context.set_ocsp_response(build_ocsp_response(
            pki.load_certificate("secc"), pki.load_certificate("cpo_sub_ca2"), pki.load_certificate("ocsp_signer"),
            pki.load_private_key("ocsp_signer"), revoked_at=dt.datetime.now(dt.timezone.utc)))
        _, revoked = await run_client(port, pki, "-status")
    assert "no response sent" in missing
    assert "Cert Status: good" in present
    assert "Cert Status: revoked" in revoked


async def test_ed448_pki_handshakes_with_ed448_signatures(pki_ed448):
    async with python_server(server_context(secc_config(pki_ed448))) as (port, why):
        accepted, output = await run_client(port, pki_ed448, "-groups", "X448")
    assert accepted, output
    assert "Peer signature type: ed448" in output


async def test_compat_profile_works_with_p256_and_strict_refuses_it_in_the_same_process(pki_compat):
    strict = server_context(secc_config(pki_compat, profile="iso20"))
    compat = server_context(secc_config(pki_compat, profile="compat"))
    async with python_server(compat) as (compat_port, _), python_server(strict) as (strict_port, strict_why):
        accepted, output = await run_client(compat_port, pki_compat, "-groups", "P-256")
        refused, _ = await run_client(strict_port, pki_compat, "-groups", "P-256:P-521")
    assert accepted, output
    assert "Server Temp Key: ECDH, prime256v1" in output
    assert not refused


async def test_keylog_only_when_configured(pki, tmp_path, monkeypatch):
    monkeypatch.setenv("SSLKEYLOGFILE", str(tmp_path / "from-env.log"))
    keylog = tmp_path / "keys.log"
    async with python_server(server_context(secc_config(pki))) as (port, why):
        await run_client(port, pki)
    async with python_server(server_context(secc_config(pki, keylog_file=keylog))) as (port, why):
        await run_client(port, pki)
    assert not (tmp_path / "from-env.log").exists()
    assert "SERVER_TRAFFIC_SECRET_0" in keylog.read_text()


# --- EV (Python client) against s_server -------------------------------------------------------------------

@contextlib.asynccontextmanager
async def s_server(pki, *extra, cert="secc"):
    args = ["openssl", "s_server", "-accept", "127.0.0.1:0", "-naccept", "1", "-cert", str(pki.cert(cert)),
            "-key", str(pki.key(cert)), "-cert_chain", str(pki.chain(cert)), "-CAfile", str(pki.cert("oem_root")),
            "-Verify", "3", "-verify_return_error", "-trace", *extra]
    process = await asyncio.create_subprocess_exec(*args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                                   stderr=subprocess.STDOUT)
    seen = []
    try:
        while not seen or not seen[-1].startswith("ACCEPT"):
            line = (await asyncio.wait_for(process.stdout.readline(), TIMEOUT)).decode()
            assert line, "".join(seen)
            seen.append(line)
        port = int(seen[-1].strip().rsplit(":", 1)[1])
        transcript = []
        yield port, transcript
    finally:
        process.stdin.close()
        output, _ = await asyncio.wait_for(process.communicate(), TIMEOUT)
        transcript.append(output.decode(errors="replace"))


async def ev_connect(port, config):
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection("127.0.0.1", port, ssl=client_context(config)), TIMEOUT)
    ssl_object = writer.get_extra_info("ssl_object")
    writer.write(b"EV-HELLO\n")
    await writer.drain()
    writer.close()
    with contextlib.suppress(ConnectionError, ssl.SSLError, asyncio.TimeoutError):
        await asyncio.wait_for(writer.wait_closed(), 5)
    return ssl_object.version(), ssl_object.cipher()[0]


async def test_ev_completes_mutual_tls_with_s_server_and_checks_the_staple(pki):
    async with s_server(pki, "-status_file", str(pki.ocsp_response("secc"))) as (port, transcript):
        version, cipher = await ev_connect(port, ev_config(pki, require_ocsp_staple=True))
    assert (version, cipher) == ("TLSv1.3", "TLS_AES_256_GCM_SHA384")
    trace = transcript[0]
    client_hello = trace.split("ClientHello", 1)[1].split("ServerHello", 1)[0]
    assert "extension_type=status_request(5)" in client_hello  # [V2G20-2372]
    assert "extension_type=certificate_authorities(47)" in client_hello  # [V2G20-1006]
    assert "EV-HELLO" in trace
    # profile order: groups secp521r1, x448 [V2G20-2460]; sigalgs P-521, Ed448 [V2G20-2461]; key share P-521
    groups = client_hello.split("supported_groups(10)", 1)[1].split("extension_type", 1)[0]
    assert groups.index("secp521r1") < groups.index("x448") and "x25519" not in groups.lower()
    sigalgs = client_hello.split("signature_algorithms(13)", 1)[1].split("extension_type", 1)[0]
    assert [line.split()[0] for line in sigalgs.strip().splitlines()[1:]] == ["ecdsa_secp521r1_sha512", "ed448"]
    assert "NamedGroup: secp521r1" in client_hello.split("key_share(51)", 1)[1]


@pytest.mark.parametrize("server_args", [["-tls1_2"], ["-groups", "P-256"], ["-ciphersuites",
                                                                             "TLS_AES_128_GCM_SHA256"]])
async def test_ev_refuses_servers_outside_the_profile(pki, server_args):
    async with s_server(pki, *server_args) as (port, _):
        with pytest.raises((ssl.SSLError, ConnectionError)):
            await ev_connect(port, ev_config(pki))


async def test_ev_refuses_a_secc_chain_from_an_untrusted_root(pki, other_pki):
    async with s_server(other_pki) as (port, _):
        with pytest.raises(ssl.SSLCertVerificationError):
            await ev_connect(port, ev_config(pki))


async def test_ev_refuses_a_server_presenting_a_non_secc_certificate(pki):
    async with s_server(pki, cert="cps") as (port, _):  # valid chain to the V2G root, but not an SECC
        with pytest.raises(ssl.SSLCertVerificationError):
            await ev_connect(port, ev_config(pki))


async def test_ev_requiring_a_staple_refuses_missing_or_revoked_ones(pki, tmp_path):
    revoked = tmp_path / "revoked.der"
    revoked.write_bytes(build_ocsp_response(
        pki.load_certificate("secc"), pki.load_certificate("cpo_sub_ca2"), pki.load_certificate("ocsp_signer"),
        pki.load_private_key("ocsp_signer"), revoked_at=dt.datetime.now(dt.timezone.utc)))
    async with s_server(pki) as (port, _):
        with pytest.raises(ssl.SSLError):
            await ev_connect(port, ev_config(pki, require_ocsp_staple=True))
    async with s_server(pki, "-status_file", str(revoked)) as (port, _):
        with pytest.raises(ssl.SSLError):
            await ev_connect(port, ev_config(pki))
    async with s_server(pki) as (port, _):  # without the requirement a missing staple is allowed [V2G20-2411]
        assert (await ev_connect(port, ev_config(pki)))[0] == "TLSv1.3"


async def test_python_ev_and_python_secc_talk_strict_profile(pki_ed448):
    async with python_server(server_context(secc_config(pki_ed448))) as (port, why):
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", port, ssl=client_context(ev_config(pki_ed448, require_ocsp_staple=True)))
        assert await reader.readline() == GREETING + b"\n"
        writer.close()


async def test_ev_in_compat_profile_connects_to_a_p256_secc(pki_compat):
    async with s_server(pki_compat, "-groups", "P-256") as (port, _):
        version, _cipher = await ev_connect(port, ev_config(pki_compat, profile="compat"))
    assert version == "TLSv1.3"
    async with s_server(pki_compat, "-groups", "P-256") as (port, _):
        with pytest.raises((ssl.SSLError, ConnectionError)):
            await ev_connect(port, ev_config(pki_compat, profile="iso20"))


async def test_handshake_verifies_each_peer_signature_once_in_openssl_only(pki, monkeypatch):
    """The -20 chain rules run on OpenSSL's verified chain without a second ECDSA verification (it doubled
    the handshake's CPU); the refusal tests above show the rules themselves still hold."""
    import certs.verify
    rechecked = []
    issued_by = certs.verify._issued_by
    monkeypatch.setattr(certs.verify, "_issued_by", lambda cert, issuer: rechecked.append(cert) or issued_by(
        cert, issuer))
    async with python_server(server_context(secc_config(pki))) as (port, why):
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=client_context(ev_config(pki)))
        assert await reader.readline() == GREETING + b"\n", str(why)
        writer.close()
    assert rechecked == []
