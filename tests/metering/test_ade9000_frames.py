import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metering import ade9000 as reg
from metering.emulator import ChipEmulator
from metering.errors import DataCorrupt, MeteringError


def test_crc16_matches_the_ccitt_false_catalogue_check_value():
    # CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF) check value from the CRC catalogue.
    assert reg.crc16(b"123456789") == 0x29B1


def test_read_command_word_sets_bit_3_like_the_trm_example():
    # facts §4.1: reading 0x4FE sends command word 0x4FE8.
    request, answer_len = reg.read_request(0x4FE)
    assert request == bytes([0x4F, 0xE8])
    assert answer_len == 2 + 2  # 16-bit register + CRC


def test_write_command_word_clears_bit_3_and_carries_32_bit_data():
    frame = reg.write_request(reg.AIGAIN + reg.PHASE_STEP, 0x01020304)
    assert frame == bytes([0x02, 0x00, 0x01, 0x02, 0x03, 0x04])


@pytest.mark.parametrize("address,bits", [(0x47F, 32), (0x480, 16), (0x4FE, 16), (0x4FF, 32), (0x2E7, 32)])
def test_register_width_follows_the_address_range(address, bits):
    assert reg.register_bits(address) == bits


def test_read_answer_with_flipped_bit_is_rejected_as_corrupt():
    answer = bytearray(reg.read_response(reg.AVRMS, 0x12345678))
    assert reg.parse_read_response(reg.AVRMS, bytes(answer)) == 0x12345678
    answer[1] ^= 0x10
    with pytest.raises(DataCorrupt) as err:
        reg.parse_read_response(reg.AVRMS, bytes(answer))
    assert err.value.code == "ERR_MET_DATA_CORRUPT"


def test_gain_register_round_trips_through_twos_complement():
    for multiplier in (0.97, 1.0, 1.023):
        assert reg.gain_multiplier(reg.gain_register(multiplier)) == pytest.approx(multiplier, abs=1e-8)


def test_emulator_answers_reads_with_data_and_crc_over_the_data():
    emulator = ChipEmulator(clock=lambda: 0.0)
    answer = emulator.handle_frame(bytes([0x4A, 0x48]))  # read CONFIG5 (0x4A4)
    data, crc = answer[:2], int.from_bytes(answer[2:], "big")
    assert int.from_bytes(data, "big") == 0x63  # reset value per the TRM / no-OS driver
    assert crc == reg.crc16(data)


@settings(max_examples=300, deadline=None)
@given(address=st.integers(0, 0xFFF), answer=st.binary(max_size=8))
def test_fuzzed_read_answers_raise_only_data_corrupt(address, answer):
    try:
        reg.parse_read_response(address, answer)
    except DataCorrupt:
        pass


@settings(max_examples=300, deadline=None)
@given(frame=st.binary(max_size=8))
def test_fuzzed_frames_to_the_emulator_raise_only_typed_errors(frame):
    emulator = ChipEmulator(clock=lambda: 0.0)
    try:
        emulator.handle_frame(frame)
    except MeteringError:
        pass
