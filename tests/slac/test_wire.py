"""WireModem without sockets: the frames one modem puts on the wire reach the other modems' hosts as a real
HomePlug network would pass them (AVLN isolation, fragmentation, beacons, M-sound → attenuation profile)."""
from __future__ import annotations

import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from slac.frames import (
    BROADCAST,
    LOCAL_MODEM,
    CmAttenProfileInd,
    CmMnbcSoundInd,
    CmSetKeyCnf,
    CmSetKeyReq,
    build_frame,
    message_of,
    parse_frame,
)
from slac.keys import nid_from_nmk
from slac.vendor import VsPlLinkStatusCnf, VsPlLinkStatusReq
from slac.wire import WIRE_ETHERTYPE, ModemEvent, ToHost, ToWire, WireModem, WireModemConfig

HOST_A, HOST_B, HOST_C = "02:00:00:00:00:0a", "02:00:00:00:00:0b", "02:00:00:00:00:0c"
NMK = bytes(range(16))


def _modems(**config) -> list[WireModem]:
    return [WireModem(f"02:b0:52:00:00:0{i}", WireModemConfig(seed=i, **config)) for i in (1, 2, 3)]


def _wire(out: list) -> list[bytes]:
    return [o.frame for o in out if isinstance(o, ToWire)]


def _host(out: list) -> list[ToHost]:
    return [o for o in out if isinstance(o, ToHost)]


def _events(out: list, name: str) -> list[dict]:
    return [o.to_dict() for o in out if isinstance(o, ModemEvent) and o.event == name]


def _carry(sender_out: list, receivers: list[WireModem], now: float) -> list[list]:
    """Every receiver hears every wire frame of the sender (the bridge floods broadcasts)."""
    return [[o for f in _wire(sender_out) for o in r.from_wire(f, now)] for r in receivers]


def _set_key(modem: WireModem, host: str, nmk: bytes, now: float) -> list:
    return modem.from_host(build_frame(CmSetKeyReq(nid=nid_from_nmk(nmk), new_key=nmk, my_nonce=b"\x01\x02\x03\x04"),
                                       host, LOCAL_MODEM), now)


def _ipv6(src: str, dst: str, size: int) -> bytes:
    mac = bytes.fromhex(dst.replace(":", "")) + bytes.fromhex(src.replace(":", ""))
    return mac + b"\x86\xdd" + bytes(i % 251 for i in range(size))


def test_set_key_is_confirmed_with_the_qca_success_code_and_announced_on_the_wire():
    a, b, _ = _modems()
    out = _set_key(a, HOST_A, NMK, 1.0)
    (reply,) = _host(out)
    cnf = message_of(parse_frame(reply.frame))
    # facts/slac.md §7: QCA firmware answers 0x01 for success; the nonce comes back as YourNonce
    assert isinstance(cnf, CmSetKeyCnf) and cnf.result == 0x01 and bytes(cnf.your_nonce) == b"\x01\x02\x03\x04"
    assert reply.frame[0:6] == bytes.fromhex(HOST_A.replace(":", ""))
    assert _events(out, "KeySet") == [{"event": "KeySet", "nid": nid_from_nmk(NMK).hex()}]
    (beacon,) = _wire(out)  # an immediate beacon with the new NID
    assert int.from_bytes(beacon[12:14], "big") == WIRE_ETHERTYPE and beacon[0:6] == b"\xff" * 6
    assert nid_from_nmk(NMK) in beacon
    # b holds another key: a is no station of b's AVLN yet
    assert _carry(out, [b], 1.0) == [[]]


def test_stations_with_the_same_key_join_and_leave_when_beacons_stop():
    a, b, _ = _modems()
    _set_key(a, HOST_A, NMK, 0.0)
    (heard,) = _carry(_set_key(b, HOST_B, NMK, 0.0), [a], 0.0)
    assert _events(heard, "StationJoined") == [{"event": "StationJoined", "modem_mac": b.modem_mac,
                                                "host_mac": HOST_B, "nid": nid_from_nmk(NMK).hex()}]
    status = _host(a.from_host(build_frame(VsPlLinkStatusReq(), HOST_A, LOCAL_MODEM), 0.1))
    assert message_of(parse_frame(status[0].frame)).link_status == 1
    later = a.config.peer_timeout + 0.01
    assert _events(a.timer_expired(later), "StationLeft")[0]["modem_mac"] == b.modem_mac
    status = _host(a.from_host(build_frame(VsPlLinkStatusReq(), HOST_A, LOCAL_MODEM), later))
    assert isinstance(message_of(parse_frame(status[0].frame)), VsPlLinkStatusCnf)
    assert message_of(parse_frame(status[0].frame)).link_status == 0


def test_a_large_data_frame_crosses_in_fragments_only_within_the_avln():
    a, b, c = _modems()
    for modem, host in ((a, HOST_A), (b, HOST_B)):
        _set_key(modem, host, NMK, 0.0)
    _set_key(c, HOST_C, bytes(16), 0.0)  # another AVLN
    frame = _ipv6(HOST_A, "33:33:00:00:00:01", 9000)  # a host's TCP stack hands over segments this large
    offload = struct.pack("<BBHHHH", 1, 0, 0, 0, 54, 16)  # NEEDS_CSUM, csum_start 54, csum_offset 16
    out = a.from_host(frame, 0.1, offload)
    assert len(_wire(out)) == -(-(10 + len(frame)) // 1487) and all(len(f) <= 1514 for f in _wire(out))
    at_b, at_c = _carry(out, [b, c], 0.1)
    assert [(d.frame, d.offload) for d in _host(at_b)] == [(frame, offload)]
    assert _host(at_c) == []  # the modem of another AVLN cannot decrypt it
    # a lost fragment loses the whole frame, and the next frame still arrives
    wire = _wire(out)
    assert [o for f in wire[:1] + wire[2:] for o in b.from_wire(f, 0.2)] == []
    assert len(_host(_carry(a.from_host(frame, 0.3), [b], 0.3)[0])) == 1


def test_a_remote_m_sound_reaches_the_host_followed_by_one_attenuation_profile():
    a, b, c = _modems(attenuation_db=12.0)
    b.from_host(build_frame(CmSetKeyReq(), HOST_B, LOCAL_MODEM), 0.0)  # b learns its host's MAC
    sound = build_frame(CmMnbcSoundInd(cnt=9), HOST_A, BROADCAST)
    at_b, = _carry(a.from_host(sound, 0.1), [b], 0.1)
    first, second = _host(at_b)
    assert first.frame == sound and isinstance(message_of(parse_frame(first.frame)), CmMnbcSoundInd)
    profile = message_of(parse_frame(second.frame))
    assert isinstance(profile, CmAttenProfileInd) and profile.pev_mac == HOST_A and len(profile.aag) == 58
    assert second.frame[0:6] == bytes.fromhex(HOST_B.replace(":", ""))  # unicast to b's own host
    assert abs(sum(profile.aag) / 58 - 12.0) <= 1.0
    (event,) = _events(at_b, "AttenProfile")
    assert event["pev_mac"] == HOST_A and event["attenuation_db"] == round(sum(profile.aag) / 58, 2)


def test_dropped_sounds_lose_their_profiles_at_the_configured_rate():
    a, b, _ = _modems(drop=0.5, drop_scope="sounding")
    heard = [o for i in range(200) for o in
             _carry(a.from_host(build_frame(CmMnbcSoundInd(cnt=i % 10), HOST_A, BROADCAST), i), [b], i)[0]]
    profiles = [h for h in _host(heard) if isinstance(message_of(parse_frame(h.frame)), CmAttenProfileInd)]
    assert 50 < len(profiles) < 150 and b.modem.counters["dropped"] > 0


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=120))
def test_any_bytes_from_the_wire_give_events_never_an_exception(data):
    modem = WireModem("02:b0:52:00:00:01")
    frame = b"\xff" * 6 + b"\x02" * 6 + WIRE_ETHERTYPE.to_bytes(2, "big") + data
    for out in (modem.from_wire(data, 0.0), modem.from_wire(frame, 0.0)):
        for o in out:
            assert isinstance(o, (ModemEvent, ToHost))
            if isinstance(o, ModemEvent):
                assert o.event in ("WireFrameRejected", "StationJoined") or o.event == "StationLeft"
