"""Bounded fuzzing of the SDP decoder and cores: random datagrams are decoded, answered or ignored, never crash."""
import ipaddress

from hypothesis import given, settings
from hypothesis import strategies as st

from iso15118.transport import SdpClient, SdpError, SdpServer, V2gtpError, decode_sdp
from iso15118.transport.sdp import Ignored, SendDatagram

SETTINGS = settings(max_examples=400, deadline=None, derandomize=True)
# Mostly well-formed SDP headers with random payloads, so the fuzzing reaches past the V2GTP header check.
sdp_like = st.one_of(
    st.binary(max_size=40),
    st.builds(lambda t, n, body: bytes([1, 0xFE]) + t.to_bytes(2, "big") + n.to_bytes(4, "big") + body,
              st.sampled_from([0x9000, 0x9001, 0x9002, 0x9003]), st.integers(0, 24), st.binary(max_size=24)),
)


@SETTINGS
@given(sdp_like)
def test_decoder_yields_a_message_or_a_typed_error(datagram):
    try:
        decode_sdp(datagram)
    except (SdpError, V2gtpError) as err:
        assert err.code.startswith(("SDP_", "V2GTP_"))


@SETTINGS
@given(sdp_like)
def test_server_answers_or_ignores_every_datagram(datagram):
    server = SdpServer(ipaddress.IPv6Address("fe80::1"), tls_port=50000)
    actions = server.handle_datagram(datagram, ("fe80::2", 50001, 0, 1))
    assert len(actions) == 1 and isinstance(actions[0], (SendDatagram, Ignored))
    if isinstance(actions[0], SendDatagram):
        assert decode_sdp(actions[0].data).port == 50000


@SETTINGS
@given(st.lists(sdp_like, max_size=5))
def test_client_survives_any_datagram_sequence(datagrams):
    client = SdpClient()
    client.start(0.0)
    for i, datagram in enumerate(datagrams):
        client.handle_datagram(datagram, 0.01 * i)
