"""The control-pilot board's line protocol: round trips, CRC, and bounded fuzzing of the decoder."""
import binascii

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from supervision import PilotFrameCorrupt
from supervision.cp_protocol import Ack, Command, LineSplitter, MeasurementFrame, Nak, decode, encode


def test_crc_is_crc16_ccitt_false_with_its_published_check_value():
    # CRC-16/CCITT-FALSE check value over "123456789" is 0x29B1 (CRC catalogue).
    body = b"123456789"
    assert encode(Command("D", 50)).endswith(b"*" + f"{binascii.crc_hqx(b'D,50', 0xFFFF):04X}".encode() + b"\r\n")
    assert binascii.crc_hqx(body, 0xFFFF) == 0x29B1


@pytest.mark.parametrize("frame", [
    MeasurementFrame(7, 9000, -12000, 50), MeasurementFrame(65535, -12000, -12000, 0),
    Command("D", 1000), Command("F", 1), Command("K", 0), Ack("K", 1), Nak("K", "pilot_fault"),
])
def test_every_frame_type_round_trips(frame):
    assert decode(encode(frame)) == frame


def test_measurement_line_is_readable_ascii():
    assert encode(MeasurementFrame(1, 9000, -12000, 50)).startswith(b"$M,1,9000,-12000,50*")


def test_a_flipped_bit_is_caught_by_the_crc():
    line = bytearray(encode(MeasurementFrame(1, 9000, -12000, 50)))
    line[5] ^= 0x01
    with pytest.raises(PilotFrameCorrupt) as info:
        decode(bytes(line))
    assert info.value.code == "ERR_CP_FRAME_CORRUPT"


@pytest.mark.parametrize("body", [b"M,1,9000,-12000,1001", b"M,1,99999,0,5", b"D,2000", b"M,1,2", b"X,1", b"K,x"])
def test_values_outside_their_ranges_are_rejected_even_with_a_good_crc(body):
    line = b"$" + body + b"*" + f"{binascii.crc_hqx(body, 0xFFFF):04X}".encode()
    with pytest.raises(PilotFrameCorrupt):
        decode(line)


def test_splitter_drops_an_overlong_run_and_resynchronises_on_the_next_line():
    splitter = LineSplitter()
    good = encode(Command("K", 1))
    assert splitter.feed(b"x" * 200) == []
    assert splitter.feed(b"tail of garbage\r\n" + good[:5]) == []
    assert splitter.feed(good[5:]) == [good]


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=80))
def test_decoder_raises_only_its_typed_error_on_random_bytes(data):
    try:
        decode(data)
    except PilotFrameCorrupt:
        pass


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="MDFKAN,-0123456789x", max_size=40))
def test_decoder_raises_only_its_typed_error_on_well_framed_random_bodies(text):
    body = text.encode()
    try:
        decode(b"$" + body + b"*" + f"{binascii.crc_hqx(body, 0xFFFF):04X}".encode())
    except PilotFrameCorrupt:
        pass


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=100), max_size=10))
def test_splitter_returns_only_complete_lines_and_finds_a_frame_after_any_garbage(chunks):
    splitter = LineSplitter()
    for chunk in chunks:
        assert all(line.endswith(b"\n") for line in splitter.feed(chunk))
    good = encode(Command("K", 1))
    lines = splitter.feed(b"\r\n" + good)
    assert lines[-1] == good
