"""Frame layouts at the byte offsets of facts/slac.md §2/§8, strict dissection, bounded fuzzing."""
from __future__ import annotations

import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slac.errors import FrameError
from slac.frames import (
    BROADCAST,
    LOCAL_MODEM,
    MESSAGES,
    CmAttenCharInd,
    CmSetKeyReq,
    CmSlacMatchCnf,
    CmSlacParmCnf,
    CmSlacParmReq,
    build_frame,
    message_of,
    parse_frame,
)
from slac.vendor import (
    NwInfoNetwork,
    NwInfoStation,
    VsNwInfoCnf,
    VsPlLinkStatusReq,
    VsRxToneMapCharCnf,
    pack_modulations,
    snr_per_group,
)

EV, EVSE = "02:00:00:00:00:01", "02:00:00:00:00:02"
RUN_ID = bytes.fromhex("1122334455667788")


def _mac(text: str) -> bytes:
    return bytes.fromhex(text.replace(":", ""))


def test_slac_parm_req_layout_and_padding():
    frame = build_frame(CmSlacParmReq(run_id=RUN_ID), EV, BROADCAST)
    expected = (b"\xff" * 6 + _mac(EV) + b"\x88\xe1" + b"\x01" + struct.pack("<H", 0x6064) + b"\x00\x00"
                + b"\x00\x00" + RUN_ID)
    assert frame == expected.ljust(60, b"\x00")


def test_slac_parm_cnf_fields_sit_at_their_offsets():
    frame = build_frame(CmSlacParmCnf(num_sounds=10, time_out=6, resp_type=1, forwarding_sta=EV, run_id=RUN_ID),
                        EVSE, EV)
    assert frame[15:17] == b"\x65\x60"
    assert frame[19:25] == b"\xff" * 6 and frame[25] == 10 and frame[26] == 6 and frame[27] == 1
    assert frame[28:34] == _mac(EV) and frame[34:36] == b"\x00\x00" and frame[36:44] == RUN_ID
    assert len(frame) == 60


def test_set_key_req_layout():
    nmk, nid = bytes(range(16)), bytes(range(7))
    frame = build_frame(CmSetKeyReq(nid=nid, new_key=nmk), EV, LOCAL_MODEM)
    assert frame[:6] == _mac(LOCAL_MODEM) and frame[19] == 0x01 and frame[20:24] == b"\xaa" * 4
    assert frame[28] == 0x04 and frame[33:40] == nid and frame[40] == 0x01 and frame[41:57] == nmk
    assert len(frame) == 60


def test_atten_char_ind_is_129_bytes_with_58_groups():
    aag = list(range(58))
    frame = build_frame(CmAttenCharInd(source_address=EV, run_id=RUN_ID, num_sounds=9, aag=aag), EVSE, EV)
    assert len(frame) == 129 and frame[21:27] == _mac(EV) and frame[27:35] == RUN_ID
    assert frame[69] == 9 and frame[70] == 58 and list(frame[71:129]) == aag


def test_slac_match_cnf_is_109_bytes_with_le_mvf_length_nid_and_nmk():
    nid, nmk = bytes(range(7)), bytes(range(16, 32))
    frame = build_frame(CmSlacMatchCnf(pev_mac=EV, evse_mac=EVSE, run_id=RUN_ID, nid=nid, nmk=nmk), EVSE, EV)
    assert len(frame) == 109 and frame[21:23] == b"\x56\x00"
    assert frame[40:46] == _mac(EV) and frame[63:69] == _mac(EVSE) and frame[69:77] == RUN_ID
    assert frame[85:92] == nid and frame[93:109] == nmk


def test_vendor_mmv0_request_has_oui_at_17_and_no_fragment_bytes():
    frame = build_frame(VsPlLinkStatusReq(), EV, LOCAL_MODEM)
    assert frame[14] == 0x00 and frame[15:17] == b"\xb8\xa0" and frame[17:20] == b"\x00\xb0\x52"


def test_nw_info_cnf_networks_are_32_bytes_and_stations_24():
    station = NwInfoStation(mac=EVSE, tei=2, bda=EV, avg_tx_mbps=9, avg_rx_mbps=8)
    frame = build_frame(VsNwInfoCnf(networks=[NwInfoNetwork(nid=bytes(range(7)), stations=[station])]),
                        LOCAL_MODEM, EV)
    assert frame[14] == 0x01 and frame[19:22] == b"\x00\xb0\x52" and frame[27] == 1  # NUMAVLNS
    net = 28
    assert frame[net:net + 7] == bytes(range(7)) and frame[net + 26] == 1  # NUMSTAS
    sta = net + 32
    assert frame[sta:sta + 6] == _mac(EVSE) and frame[sta + 16:sta + 18] == b"\x09\x00"
    assert frame[sta + 20:sta + 22] == b"\x08\x00" and len(frame) == sta + 24


def test_tone_map_snr_uses_the_open_plc_utils_modulation_table():
    # carriers 0..15 (group 0) at index 8 (36 dB), 16..31 (group 1) at index 5 (16 dB)
    mods = [8] * 16 + [5] * 16 + [0] * (917 - 32)
    cnf = VsRxToneMapCharCnf(num_carriers=len(mods), mod_carrier=pack_modulations(mods))
    frame = build_frame(cnf, LOCAL_MODEM, EV)
    assert frame[48] == 0x88 and frame[56] == 0x55  # low nibble = even carrier
    parsed = message_of(parse_frame(frame))
    groups = snr_per_group(bytes(parsed.mod_carrier), parsed.num_carriers)
    assert len(groups) == 58 and groups[:3] == [36.0, 16.0, 0.0]


def test_truncated_frame_error_names_offset_and_field():
    frame = build_frame(CmAttenCharInd(aag=[1] * 58, num_sounds=1), EVSE, EV)
    with pytest.raises(FrameError) as err:
        parse_frame(frame[:100])
    assert err.value.offset == 71 and err.value.field == "aag" and err.value.code == "SLAC_FRAME_MALFORMED"
    with pytest.raises(FrameError) as err:
        parse_frame(frame[:30])
    assert err.value.offset == 27 and err.value.field == "run_id"


def test_not_homeplug_and_bad_mmv_are_rejected_with_offsets():
    with pytest.raises(FrameError) as err:
        parse_frame(b"\x00" * 12 + b"\x86\xdd" + b"\x00" * 46)
    assert err.value.offset == 12
    with pytest.raises(FrameError) as err:
        parse_frame(b"\x00" * 12 + b"\x88\xe1\x07" + b"\x00" * 45)
    assert err.value.offset == 14


def test_unknown_mmtype_dissects_to_raw_payload():
    frame = b"\xff" * 6 + _mac(EV) + b"\x88\xe1\x00\x4e\xa1\x00\xb0\x52" + b"\x11" * 40
    assert message_of(parse_frame(frame)).name == "VS_ATTEN_CHAR_UNSOLICITED.IND"
    frame = b"\xff" * 6 + _mac(EV) + b"\x88\xe1\x01\x34\x12\x00\x00" + b"\x11" * 40
    assert bytes(message_of(parse_frame(frame))) == b"\x11" * 40


@pytest.mark.parametrize("cls", sorted(MESSAGES.values(), key=lambda c: c.mmtype), ids=lambda c: c().name)
def test_every_truncation_of_every_message_is_a_frame_error_or_a_padded_parse(cls):
    frame = build_frame(cls(), EV, EVSE)
    for cut in range(len(frame)):
        try:
            parse_frame(frame[:cut])
        except FrameError as exc:
            assert 0 <= exc.offset <= cut


_mmtypes = st.sampled_from(sorted(MESSAGES))


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(key=_mmtypes, body=st.binary(max_size=400))
def test_fuzzed_payloads_parse_or_raise_frame_error(key, body):
    mmv, mmtype = key
    header = b"\xff" * 6 + _mac(EV) + b"\x88\xe1" + bytes([mmv]) + struct.pack("<H", mmtype)
    frame = header + (b"\x00\x00" if mmv else b"") + body
    try:
        pkt = parse_frame(frame)
    except FrameError as exc:
        assert 14 <= exc.offset <= len(frame)
    else:
        pkt.summary()


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_fuzzed_raw_bytes_never_crash_the_dissector(data):
    try:
        parse_frame(data)
    except FrameError:
        pass
