"""V2GTP framing: byte layout from the standard's header table (facts §1), reassembly, refusals."""
import pytest

from iso15118.transport import PayloadType, V2gtpConfig, V2gtpError, V2gtpMessage, V2gtpReader, encode_message
from iso15118.transport.v2gtp import (DEFAULT_MAX_PAYLOAD_LENGTH, ISO20_STREAM_PAYLOAD_TYPES, V2GTP_INCORRECT_VERSION,
                                      V2GTP_PAYLOAD_TOO_LONG, V2GTP_TRAILING_DATA, V2GTP_TRUNCATED,
                                      V2GTP_UNKNOWN_PAYLOAD_TYPE, decode_header, decode_message, encode_header)


def frame(payload_type: int, payload: bytes) -> bytes:
    """Header written out by hand from the table: 0x01, 0xFE, type (2 bytes BE), length (4 bytes BE)."""
    n = len(payload)
    return bytes([0x01, 0xFE, payload_type >> 8, payload_type & 0xFF,
                  n >> 24, (n >> 16) & 0xFF, (n >> 8) & 0xFF, n & 0xFF]) + payload


def drain(reader: V2gtpReader) -> list[V2gtpMessage]:
    out = []
    while (message := reader.next_message()) is not None:
        out.append(message)
    return out


def test_sdp_request_encodes_to_the_ten_bytes_of_the_standard_layout():
    assert encode_message(0x9000, b"\x00\x00") == bytes.fromhex("01fe900000000002" "0000")


def test_header_fields_are_big_endian():
    assert encode_header(0x8004, 0x01020304) == bytes.fromhex("01fe800401020304")


def test_payload_type_values_match_the_iso20_table():
    expected = {"SAP": 0x8001, "MAINSTREAM": 0x8002, "AC_MAINSTREAM": 0x8003, "DC_MAINSTREAM": 0x8004,
                "ACDP_MAINSTREAM": 0x8005, "WPT_MAINSTREAM": 0x8006, "SCHEDULE_RENEGOTIATION": 0x8101,
                "METERING_CONFIRMATION": 0x8102, "ACD_SYSTEM_STATUS": 0x8103, "PARKING_STATUS": 0x8104,
                "SDP_REQUEST": 0x9000, "SDP_RESPONSE": 0x9001, "SDP_REQUEST_WITH_PPD": 0x9002,
                "SDP_RESPONSE_WITH_PPD": 0x9003}
    assert {t.name: t.value for t in PayloadType} == expected
    assert [t for t in PayloadType if t.is_side_stream] == [0x8101, 0x8102, 0x8103, 0x8104]
    assert ISO20_STREAM_PAYLOAD_TYPES == {0x8001, 0x8002, 0x8003, 0x8004, 0x8005, 0x8006,
                                          0x8101, 0x8102, 0x8103, 0x8104}


def test_decode_header_reads_type_and_length():
    header = decode_header(bytes.fromhex("01fe8102000004d2"))
    assert header.payload_type is PayloadType.METERING_CONFIRMATION
    assert header.payload_length == 1234


def test_encoder_output_is_accepted_by_the_hand_written_frame_decoder_and_vice_versa():
    body = bytes(range(256)) * 3
    assert encode_message(PayloadType.DC_MAINSTREAM, body) == frame(0x8004, body)
    assert decode_message(frame(0x8002, body), V2gtpConfig()) == V2gtpMessage(PayloadType.MAINSTREAM, body)


def test_reader_reassembles_a_message_delivered_byte_by_byte():
    reader = V2gtpReader()
    data = frame(0x8002, b"\x80\x8c\x04\x18") + frame(0x8101, b"\x80\x01")
    seen = []
    for i in range(len(data)):
        reader.feed(data[i:i + 1])
        seen += drain(reader)
        if i < 11:
            assert seen == []
    assert seen == [V2gtpMessage(0x8002, b"\x80\x8c\x04\x18"), V2gtpMessage(0x8101, b"\x80\x01")]
    assert reader.at_message_boundary


def test_reader_returns_every_message_of_one_read_in_order():
    bodies = [b"", b"a", b"bb" * 100, b"\x00" * 4000]
    types = [0x8001, 0x8002, 0x8004, 0x8102]
    reader = V2gtpReader()
    reader.feed(b"".join(frame(t, b) for t, b in zip(types, bodies)))
    assert drain(reader) == [V2gtpMessage(t, b) for t, b in zip(types, bodies)]


def test_reader_gives_the_same_messages_for_every_split_point_of_two_reads():
    data = frame(0x8003, b"hello") + frame(0x8004, b"world!")
    for cut in range(len(data) + 1):
        reader = V2gtpReader()
        reader.feed(data[:cut])
        first = drain(reader)
        reader.feed(data[cut:])
        assert first + drain(reader) == [V2gtpMessage(0x8003, b"hello"), V2gtpMessage(0x8004, b"world!")], cut


def test_default_maximum_holds_at_least_16_kib_certificate_messages():
    assert DEFAULT_MAX_PAYLOAD_LENGTH >= 16 * 1024
    reader = V2gtpReader()
    reader.feed(frame(0x8002, b"\x55" * 16 * 1024))
    assert drain(reader)[0].payload == b"\x55" * 16 * 1024


def test_reader_refuses_an_oversize_header_before_the_payload_arrives():
    reader = V2gtpReader(V2gtpConfig(max_payload_length=1000))
    reader.feed(bytes.fromhex("01fe8002000003e9"))  # 1001 bytes announced, none sent
    with pytest.raises(V2gtpError) as err:
        reader.next_message()
    assert err.value.code == V2GTP_PAYLOAD_TOO_LONG and err.value.fatal
    assert "1001" in err.value.detail and "1000" in err.value.detail


def test_payload_of_exactly_the_maximum_is_accepted():
    reader = V2gtpReader(V2gtpConfig(max_payload_length=1000))
    reader.feed(frame(0x8002, b"x" * 1000))
    assert len(drain(reader)[0].payload) == 1000


@pytest.mark.parametrize("header, byte_named", [("02fd8002", "byte 0"), ("01fd8002", "byte 1"),
                                                 ("01ff8002", "byte 1"), ("00ff8002", "byte 0")])
def test_reader_rejects_a_wrong_version_pair_naming_the_byte(header, byte_named):
    reader = V2gtpReader()
    reader.feed(bytes.fromhex(header + "00000000"))
    with pytest.raises(V2gtpError) as err:
        reader.next_message()
    assert err.value.code == V2GTP_INCORRECT_VERSION and err.value.fatal
    assert byte_named in err.value.detail


def test_reader_stays_failed_after_lost_framing():
    reader = V2gtpReader()
    reader.feed(b"GET / HTTP/1.1\r\n")
    with pytest.raises(V2gtpError):
        reader.next_message()
    reader.feed(frame(0x8002, b"ok"))
    with pytest.raises(V2gtpError) as err:
        reader.next_message()
    assert err.value.code == V2GTP_INCORRECT_VERSION


def test_message_of_a_type_not_accepted_here_is_skipped_and_the_stream_stays_in_sync():
    reader = V2gtpReader()
    reader.feed(frame(0xA000, b"vendor data") + frame(0x9000, b"\x00\x00")[:5])
    with pytest.raises(V2gtpError) as err:
        reader.next_message()
    assert err.value.code == V2GTP_UNKNOWN_PAYLOAD_TYPE and not err.value.fatal
    assert "0xa000" in err.value.detail
    reader.feed(frame(0x9000, b"\x00\x00")[5:] + frame(0x8002, b"next"))
    with pytest.raises(V2gtpError) as err:  # SDP belongs on UDP, never on the session stream
        reader.next_message()
    assert err.value.code == V2GTP_UNKNOWN_PAYLOAD_TYPE
    assert drain(reader) == [V2gtpMessage(0x8002, b"next")]


def test_configured_payload_types_replace_the_default_set():
    reader = V2gtpReader(V2gtpConfig(accepted_payload_types={0x8001}))
    reader.feed(frame(0x8002, b"") + frame(0x8001, b"sap"))
    with pytest.raises(V2gtpError):
        reader.next_message()
    assert drain(reader) == [V2gtpMessage(0x8001, b"sap")]


def test_close_between_messages_is_clean_and_inside_one_is_truncated():
    reader = V2gtpReader()
    reader.feed(frame(0x8002, b"whole"))
    drain(reader)
    reader.end_of_stream()
    reader = V2gtpReader()
    reader.feed(frame(0x8002, b"whole")[:-1])
    assert drain(reader) == []
    with pytest.raises(V2gtpError) as err:
        reader.end_of_stream()
    assert err.value.code == V2GTP_TRUNCATED


@pytest.mark.parametrize("datagram, code", [(frame(0x9000, b"\x00\x00")[:-1], V2GTP_TRUNCATED),
                                            (frame(0x9000, b"\x00\x00") + b"\x00", V2GTP_TRAILING_DATA),
                                            (b"\x01\xfe\x90", V2GTP_TRUNCATED)])
def test_a_datagram_must_hold_exactly_one_message(datagram, code):
    with pytest.raises(V2gtpError) as err:
        decode_message(datagram, V2gtpConfig(accepted_payload_types={0x9000}))
    assert err.value.code == code


def test_config_loads_from_a_toml_file(tmp_path):
    path = tmp_path / "v2gtp.toml"
    path.write_text("max_payload_length = 32768\naccepted_payload_types = [0x8001, 0x8002]\n")
    assert V2gtpConfig.from_file(path) == V2gtpConfig(32768, frozenset({0x8001, 0x8002}))
    path.write_text("max_payload = 1\n")
    with pytest.raises(ValueError, match="max_payload"):
        V2gtpConfig.from_file(path)
