"""wss:// with the station's client certificate (security profile 3) or HTTP Basic auth (profile 2), against a
throwaway CA made here."""
import asyncio
import datetime as dt
import ipaddress
import ssl

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from metering.ocpp import LocalCsms, OcppClient, client_ssl_context
from tests.ocpp.conftest import fast_config


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Test CPO"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _issue(subject: str, issuer_key, issuer_name, key, *, ca=False, eku=None, san=None):
    now = dt.datetime.now(dt.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(issuer_name or _name(subject))
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(minutes=1)).not_valid_after(now + dt.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if eku:
        builder = builder.add_extension(x509.ExtendedKeyUsage([eku]), critical=False)
    if san:
        builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _write(path, cert, key=None):
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    if key is not None:
        key_path = path.with_suffix(".key")
        key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        return str(path), str(key_path)
    return str(path)


@pytest.fixture
def pki(tmp_path):
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _issue("Test CSMS Root", ca_key, None, ca_key, ca=True)
    server_key, client_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    server = _issue("csms.local", ca_key, ca.subject, server_key, eku=ExtendedKeyUsageOID.SERVER_AUTH,
                    san=[x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    client = _issue("CS001", ca_key, ca.subject, client_key, eku=ExtendedKeyUsageOID.CLIENT_AUTH)
    files = {"ca": _write(tmp_path / "ca.pem", ca)}
    files["server"] = _write(tmp_path / "server.pem", server, server_key)
    files["client"] = _write(tmp_path / "client.pem", client, client_key)
    return files


def server_context(pki) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*pki["server"])
    context.load_verify_locations(pki["ca"])
    context.verify_mode = ssl.CERT_REQUIRED  # security profile 3: the station must present its certificate
    return context


async def test_wss_with_a_client_certificate_carries_the_transaction(pki, journal_path, meter):
    async with LocalCsms(ssl_context=server_context(pki)) as csms:
        assert csms.url.startswith("wss://")
        cert, key = pki["client"]
        config = fast_config(csms.url, journal_path, ca_file=pki["ca"], client_cert_file=cert, client_key_file=key)
        shared = client_ssl_context(config)  # built once, as a gateway does for its stations
        async with OcppClient(config, ssl_context=shared) as client:
            await client.wait_online(5)
            tx = await client.start_transaction(meter.at(0, "B"), meter.public_key_der())
            await tx.end(meter.at(60, "E"))
            await client.wait_idle(5)
    assert csms.record.client_certificates == ["organizationName=Test CPO,commonName=CS001"]
    assert [e["eventType"] for e in csms.events(tx.transaction_id)] == ["Started", "Ended"]


async def test_without_a_client_certificate_the_station_stays_offline(pki, journal_path):
    async with LocalCsms(ssl_context=server_context(pki)) as csms:
        async with OcppClient(fast_config(csms.url, journal_path, ca_file=pki["ca"])) as client:
            await asyncio.sleep(0.3)
            assert not client.online
    assert csms.record.boots == 0


async def test_security_profile_2_basic_auth_over_tls(pki, journal_path):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*pki["server"])
    async with LocalCsms(ssl_context=context, basic_auth={"CS001": "s3cret-passw0rd"}) as csms:
        good = fast_config(csms.url, journal_path, ca_file=pki["ca"], basic_auth_password="s3cret-passw0rd")
        async with OcppClient(good) as client:
            await client.wait_online(5)
        bad = fast_config(csms.url, journal_path, ca_file=pki["ca"], basic_auth_password="wrong")
        async with OcppClient(bad) as client:
            await asyncio.sleep(0.3)
            assert not client.online
    assert csms.record.boots == 1
