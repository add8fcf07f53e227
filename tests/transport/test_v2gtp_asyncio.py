"""V2GTP over real TCP and TLS sockets through the asyncio adapter."""
import asyncio
import datetime
import socket
import ssl

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from scapy.layers.inet import TCP
from scapy.layers.l2 import Ether

from iso15118.transport import (PayloadType, V2gtpError, V2gtpMessage, V2gtpStream, encode_message,
                                open_v2gtp_connection, start_v2gtp_server)
from iso15118.transport.v2gtp import V2GTP_INCORRECT_VERSION, V2GTP_TRUNCATED, V2GTP_UNKNOWN_PAYLOAD_TYPE
from tests.netns import topology
from tests.transport.netns_loop import run_in_netns

REQUESTS = [(PayloadType.SAP, b"\x80\x00\xdb\xab"), (PayloadType.MAINSTREAM, b"\x80" + bytes(300)),
            (PayloadType.DC_MAINSTREAM, bytes(range(256)) * 12), (PayloadType.METERING_CONFIRMATION, b"\x80\x02")]


async def echo(stream: V2gtpStream) -> None:
    async for message in stream:
        await stream.send(message.payload_type, message.payload[::-1])


async def test_messages_round_trip_over_a_tcp_connection():
    server = await start_v2gtp_server(echo, "::1", 0)
    async with server:
        stream = await open_v2gtp_connection("::1", server.sockets[0].getsockname()[1])
        for payload_type, payload in REQUESTS:
            await stream.send(payload_type, payload)
            assert await stream.receive() == V2gtpMessage(payload_type, payload[::-1])
        await stream.close()


def _self_signed(tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now - datetime.timedelta(minutes=1))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .sign(key, hashes.SHA256()))
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                         serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption()))
    return tmp_path / "cert.pem", tmp_path / "key.pem"


async def test_messages_round_trip_over_a_tls_connection(tmp_path):
    cert, key = _self_signed(tmp_path)
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert, key)
    client_ctx = ssl.create_default_context(cafile=cert)
    server = await start_v2gtp_server(echo, "::1", 0, ssl_context=server_ctx)
    async with server:
        stream = await open_v2gtp_connection("::1", server.sockets[0].getsockname()[1], ssl_context=client_ctx,
                                             server_hostname="localhost")
        for payload_type, payload in REQUESTS:
            await stream.send(payload_type, payload)
            assert await stream.receive() == V2gtpMessage(payload_type, payload[::-1])
        await stream.close()


async def raw_peer_sends(data: bytes, *, close: bool) -> V2gtpStream:
    """A V2GTP stream whose peer is a plain socket that sends `data` (and closes)."""
    listener = socket.create_server(("::1", 0), family=socket.AF_INET6)
    peer = socket.create_connection(("::1", listener.getsockname()[1]))
    accepted, _ = listener.accept()
    listener.close()
    peer.sendall(data)
    if close:
        peer.close()
    reader, writer = await asyncio.open_connection(sock=accepted)
    return V2gtpStream(reader, writer)


async def test_clean_close_between_messages_ends_iteration():
    stream = await raw_peer_sends(encode_message(0x8002, b"a") + encode_message(0x8004, b"b"), close=True)
    assert [m async for m in stream] == [V2gtpMessage(0x8002, b"a"), V2gtpMessage(0x8004, b"b")]
    await stream.close()


async def test_close_inside_a_message_is_a_truncation_error():
    stream = await raw_peer_sends(encode_message(0x8002, b"abcdef")[:-2], close=True)
    with pytest.raises(V2gtpError) as err:
        await stream.receive()
    assert err.value.code == V2GTP_TRUNCATED
    await stream.close()


async def test_garbage_from_the_peer_is_a_fatal_typed_error():
    stream = await raw_peer_sends(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", close=False)  # a TLS ClientHello
    with pytest.raises(V2gtpError) as err:
        await stream.receive()
    assert err.value.code == V2GTP_INCORRECT_VERSION and err.value.fatal
    await stream.close()


async def test_stream_skips_a_foreign_payload_type_and_delivers_the_next_message():
    stream = await raw_peer_sends(encode_message(0xA123, b"vendor") + encode_message(0x8002, b"ok"), close=True)
    with pytest.raises(V2gtpError) as err:
        await stream.receive()
    assert err.value.code == V2GTP_UNKNOWN_PAYLOAD_TYPE and not err.value.fatal
    assert await stream.receive() == V2gtpMessage(0x8002, b"ok")
    await stream.close()


@pytest.mark.netns
def test_each_message_leaves_in_one_tcp_segment():
    """Captured on the loopback of a private namespace: every response is exactly one segment carrying header and
    payload together, as peers that do one read per message need."""
    with topology("v2gtp") as topo:
        netns = topo.namespace("seg")

        async def program():
            capture = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
            capture.bind(("lo", 0))
            capture.setblocking(False)
            server = await start_v2gtp_server(echo, "::1", 0)
            port = server.sockets[0].getsockname()[1]
            async with server:
                stream = await open_v2gtp_connection("::1", port)
                for payload_type, payload in REQUESTS:
                    await stream.send(payload_type, payload)
                    await stream.receive()
                await stream.close()
            segments = []
            while True:
                try:
                    frame, (_, _, pkttype, *_) = capture.recvfrom(70000)
                except BlockingIOError:
                    break
                packet = Ether(frame)
                if pkttype == socket.PACKET_HOST and TCP in packet and packet[TCP].sport == port:
                    if payload := bytes(packet[TCP].payload):
                        segments.append(payload)
            capture.close()
            return segments

        segments = run_in_netns(netns, program).result(timeout=20)
    assert segments == [encode_message(t, p[::-1]) for t, p in REQUESTS]
