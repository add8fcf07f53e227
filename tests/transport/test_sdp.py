"""SDP wire format (facts §2, Table 21) and the sans-I/O SECC and EVCC cores, driven by a hand-held clock."""
import ipaddress
import socket

import pytest

from iso15118.transport import (SdpClient, SdpError, SdpRequest, SdpResponse, SdpServer, Security, TransportProtocol,
                                V2gtpError, decode_sdp)
from iso15118.transport.sdp import (SDP_INVALID_LENGTH, SDP_INVALID_SECURITY, SDP_INVALID_TRANSPORT, SDP_NO_RESPONSE,
                                    SDP_UNEXPECTED_MESSAGE, Discovered, DiscoveryFailed, Ignored, SendDatagram,
                                    StartTimer)
from iso15118.transport.sdp_asyncio import SdpClientConfig, SdpServerConfig
from iso15118.transport.v2gtp import V2GTP_INCORRECT_VERSION, V2GTP_UNKNOWN_PAYLOAD_TYPE

SECC_ADDRESS = "fe80::2a0:c9ff:fe14:8155"
SECC_PACKED = socket.inet_pton(socket.AF_INET6, SECC_ADDRESS)  # independent of ipaddress
EV = ("fe80::1", 50123, 0, 3)


def request_bytes(security: int, transport: int = 0x00) -> bytes:
    return bytes.fromhex("01fe900000000002") + bytes([security, transport])


def response_bytes(port: int, security: int, transport: int = 0x00) -> bytes:
    return bytes.fromhex("01fe900100000014") + SECC_PACKED + port.to_bytes(2, "big") + bytes([security, transport])


def sends(actions):
    return [a for a in actions if isinstance(a, SendDatagram)]


def test_request_bytes_follow_table_21():
    assert SdpRequest(Security.TLS).encode() == request_bytes(0x00)
    assert SdpRequest(Security.NO_TLS).encode() == request_bytes(0x10)


def test_response_carries_address_port_security_transport_big_endian():
    response = SdpResponse(ipaddress.IPv6Address(SECC_ADDRESS), 50000, Security.TLS)
    assert response.encode() == response_bytes(50000, 0x00)
    assert decode_sdp(response_bytes(0xC351, 0x10)) == SdpResponse(ipaddress.IPv6Address(SECC_ADDRESS), 50001,
                                                                   Security.NO_TLS, TransportProtocol.TCP)


@pytest.mark.parametrize("datagram, code", [
    (bytes.fromhex("01fe900000000003") + b"\x00\x00\x00", SDP_INVALID_LENGTH),
    (bytes.fromhex("01fe900100000013") + bytes(19), SDP_INVALID_LENGTH),
    (request_bytes(0x20), SDP_INVALID_SECURITY),
    (request_bytes(0x00, 0x01), SDP_INVALID_TRANSPORT),
    (response_bytes(50000, 0x01), SDP_INVALID_SECURITY),
    (bytes.fromhex("01fe900200000002") + b"\x00\x00", V2GTP_UNKNOWN_PAYLOAD_TYPE),  # PPD SDP is not supported
    (bytes.fromhex("01fe800200000002") + b"\x00\x00", V2GTP_UNKNOWN_PAYLOAD_TYPE),
    (bytes.fromhex("02fd900000000002") + b"\x00\x00", V2GTP_INCORRECT_VERSION),
])
def test_decoder_names_what_is_wrong(datagram, code):
    with pytest.raises((SdpError, V2gtpError)) as err:
        decode_sdp(datagram)
    assert err.value.code == code


def test_server_answers_unicast_to_the_sender_with_its_address_and_tls_port():
    server = SdpServer(ipaddress.IPv6Address(SECC_ADDRESS), tls_port=50000)
    assert server.handle_datagram(request_bytes(0x00), EV) == [SendDatagram(response_bytes(50000, 0x00), EV)]


def test_server_answers_every_request_of_several_evs():
    server = SdpServer(ipaddress.IPv6Address(SECC_ADDRESS), tls_port=50000)
    evs = [("fe80::1", 50001, 0, 3), ("fe80::2", 50002, 0, 3), ("fe80::1", 50001, 0, 3)]
    answers = [a for ev in evs for a in server.handle_datagram(request_bytes(0x00), ev)]
    assert [a.address for a in answers] == evs
    assert server.requests_answered == 3


@pytest.mark.parametrize("asked, tls_port, tcp_port, answer", [
    (0x00, 50000, 50001, (50000, 0x00)),
    (0x10, 50000, 50001, (50001, 0x10)),
    (0x10, 50000, None, (50000, 0x00)),  # a -20-only SECC answers with what it has; the EV decides
    (0x00, None, 50001, (50001, 0x10)),
])
def test_server_offers_the_asked_security_when_it_has_that_port(asked, tls_port, tcp_port, answer):
    server = SdpServer(ipaddress.IPv6Address(SECC_ADDRESS), tls_port=tls_port, tcp_port=tcp_port)
    assert sends(server.handle_datagram(request_bytes(asked), EV))[0].data == response_bytes(*answer)


@pytest.mark.parametrize("datagram, code", [
    (response_bytes(50000, 0x00), SDP_UNEXPECTED_MESSAGE),
    (request_bytes(0x00, 0x10), SDP_INVALID_TRANSPORT),
    (b"\x01\xfe", "V2GTP_TRUNCATED"),
    (b"", "V2GTP_TRUNCATED"),
])
def test_server_ignores_what_is_not_a_valid_request(datagram, code):
    server = SdpServer(ipaddress.IPv6Address(SECC_ADDRESS), tls_port=50000)
    assert [type(a) for a in server.handle_datagram(datagram, EV)] == [Ignored]
    assert server.handle_datagram(datagram, EV)[0].code == code
    assert server.requests_answered == 0


def test_client_sends_a_request_and_arms_250_ms():
    client = SdpClient(Security.TLS)
    assert client.start(now=100.0) == [SendDatagram(request_bytes(0x00)), StartTimer(100.25)]


def test_client_gives_up_after_50_requests_250_ms_apart():
    client = SdpClient(Security.NO_TLS)
    now, sent, failed = 0.0, [], []
    actions = client.start(now)
    while not client.done:
        sent += [now for a in actions if isinstance(a, SendDatagram)]
        failed += [a for a in actions if isinstance(a, DiscoveryFailed)]
        now = next(a.deadline for a in actions if isinstance(a, StartTimer))
        actions = client.timer_expired(now)
    failed += [a for a in actions if isinstance(a, DiscoveryFailed)]
    assert len(sent) == 50
    assert [b - a for a, b in zip(sent, sent[1:])] == pytest.approx([0.25] * 49)
    assert failed == [DiscoveryFailed(SDP_NO_RESPONSE, 50)]
    assert now == pytest.approx(50 * 0.25)


def test_client_timer_woken_early_rearms_without_sending():
    client = SdpClient()
    client.start(0.0)
    assert client.timer_expired(0.2499) == [StartTimer(0.25)]
    assert client.requests_sent == 1


def test_first_valid_response_ends_discovery_and_later_ones_are_ignored():
    client = SdpClient(Security.TLS)
    client.start(0.0)
    client.timer_expired(0.25)
    client.timer_expired(0.5)
    actions = client.handle_datagram(response_bytes(50000, 0x00), 0.6)
    assert actions == [Discovered(SdpResponse(ipaddress.IPv6Address(SECC_ADDRESS), 50000, Security.TLS), 3)]
    assert client.timer_expired(0.75) == []
    duplicate = client.handle_datagram(response_bytes(50000, 0x00), 0.8)
    assert [a.code for a in duplicate] == [SDP_UNEXPECTED_MESSAGE]


@pytest.mark.parametrize("datagram", [request_bytes(0x00), b"garbage", response_bytes(50000, 0x33),
                                      response_bytes(50000, 0x00, 0x10)])
def test_client_ignores_requests_and_invalid_responses_and_keeps_retrying(datagram):
    client = SdpClient()
    client.start(0.0)
    assert [type(a) for a in client.handle_datagram(datagram, 0.1)] == [Ignored]
    assert len(sends(client.timer_expired(0.25))) == 1


def test_client_settings_are_overridable_and_load_from_a_file(tmp_path):
    client = SdpClient(retry_interval=0.5, max_requests=2)
    assert client.start(0.0)[1] == StartTimer(0.5)
    client.timer_expired(0.5)
    assert client.timer_expired(1.0) == [DiscoveryFailed(SDP_NO_RESPONSE, 2)]
    path = tmp_path / "ev.toml"
    path.write_text('interface = "eth1"\nsecurity = "NO_TLS"\nretry_interval = 0.3\nmax_requests = 7\n')
    assert SdpClientConfig.from_file(path) == SdpClientConfig("eth1", security=Security.NO_TLS, retry_interval=0.3,
                                                              max_requests=7)
    path = tmp_path / "secc.json"
    path.write_text('{"interface": "eth0", "port": 15118}')
    assert SdpServerConfig.from_file(path) == SdpServerConfig("eth0", 15118)
