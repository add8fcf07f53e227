"""Bounded fuzzing of the V2GTP reader: arbitrary bytes in arbitrary chunks yield messages or V2gtpError only."""
from hypothesis import given, settings
from hypothesis import strategies as st

from iso15118.transport import V2gtpConfig, V2gtpError, V2gtpMessage, V2gtpReader, encode_message
from iso15118.transport.v2gtp import decode_message

SETTINGS = settings(max_examples=400, deadline=None, derandomize=True)
STREAM_TYPES = [0x8001, 0x8002, 0x8003, 0x8004, 0x8005, 0x8006, 0x8101, 0x8102, 0x8103, 0x8104]


def feed_in_chunks(reader: V2gtpReader, data: bytes, cuts: list[int]) -> list[V2gtpMessage]:
    """Feeds every chunk; returns the messages, stopping at a fatal error as a session would."""
    out, last = [], 0
    for cut in sorted(c % (len(data) + 1) for c in cuts) + [len(data)]:
        reader.feed(data[last:cut])
        last = cut
        while True:
            try:
                message = reader.next_message()
            except V2gtpError as err:
                assert isinstance(err.code, str) and err.code.startswith("V2GTP_")
                if err.fatal:
                    return out
                continue
            if message is None:
                break
            out.append(message)
    return out


@SETTINGS
@given(st.binary(max_size=300), st.lists(st.integers(0, 400), max_size=8))
def test_reader_turns_random_bytes_into_typed_errors_only(data, cuts):
    feed_in_chunks(V2gtpReader(V2gtpConfig(max_payload_length=256)), data, cuts)


header_like = st.builds(lambda t, n, body: bytes([1, 0xFE]) + t.to_bytes(2, "big") + n.to_bytes(4, "big") + body,
                        st.sampled_from(STREAM_TYPES + [0x9000, 0xA000, 0x0000]),
                        st.integers(0, 300), st.binary(max_size=300))


@SETTINGS
@given(st.lists(header_like, max_size=6), st.lists(st.integers(0, 2000), max_size=8), st.integers(0, 1999),
       st.integers(0, 255))
def test_reader_survives_plausible_headers_with_one_flipped_byte(frames, cuts, position, value):
    data = bytearray(b"".join(frames))
    if data:
        data[position % len(data)] = value
    feed_in_chunks(V2gtpReader(V2gtpConfig(max_payload_length=256)), bytes(data), cuts)


@SETTINGS
@given(st.lists(st.tuples(st.sampled_from(STREAM_TYPES), st.binary(max_size=200)), max_size=6),
       st.lists(st.integers(0, 2000), max_size=10))
def test_valid_messages_come_out_unchanged_however_they_are_split(messages, cuts):
    data = b"".join(encode_message(t, body) for t, body in messages)
    assert feed_in_chunks(V2gtpReader(), data, cuts) == [V2gtpMessage(t, body) for t, body in messages]


@SETTINGS
@given(st.binary(max_size=64))
def test_datagram_decoder_turns_random_bytes_into_typed_errors_only(datagram):
    try:
        decode_message(datagram, V2gtpConfig(accepted_payload_types={0x9000, 0x9001}))
    except V2gtpError as err:
        assert err.code.startswith("V2GTP_")
