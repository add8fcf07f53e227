"""Bad input gives a typed ExiError (code, bit offset, grammar state), never another exception; values are
checked against the XSD facets when encoding (facts/exi.md §1, §4.3, §5)."""
import pytest

import exi
from exi import errors
from exi._bits import BitWriter
from exi.generated.iso20 import (ChargingSession, ServiceIDList, SessionSetupReq, SessionStopReq)
from exi.generated.iso20_dc import DC_ChargeLoopReq, Scheduled_DC_CLReqControlMode
from exi.generated.iso20_types import DisplayParameters, MessageHeader, RationalNumber

# josev SessionStopReq_terminate (facts/exi.md §8.4)
SESSION_STOP = bytes.fromhex("8094040081018202830384080e2cfaa06228")
HEADER = MessageHeader(SessionID=bytes.fromhex("0102030405060708"), TimeStamp=1700000000)


def _session_stop_prefix(w: BitWriter) -> None:
    """Bits 0..135 of SESSION_STOP: header, SE(SessionStopReq), Header, SE(ChargingSession)."""
    w.write(0x80, 8)
    w.write(37, 6)
    w.write(0, 3)
    w.write_uint(8)
    w.write(0x0102030405060708, 64)
    w.write(0, 3)
    w.write_uint(1700000000)
    w.write(0, 1)
    w.write(0b01, 2)
    w.write(0, 1)  # SE(ChargingSession)


def test_every_truncation_of_a_stream_is_a_truncated_error():
    for n in range(len(SESSION_STOP) - 1):
        with pytest.raises(exi.ExiError) as e:
            exi.decode(SESSION_STOP[:n], schema="iso20")
        assert e.value.code in (errors.TRUNCATED, errors.BAD_HEADER)
        if n > 1:
            assert e.value.bit_offset is not None and e.value.state


def test_header_other_than_0x80_is_refused():
    with pytest.raises(exi.ExiError) as e:
        exi.decode(b"\x81" + SESSION_STOP[1:], schema="iso20")
    assert e.value.code == errors.BAD_HEADER and e.value.bit_offset == 0


def test_document_code_beyond_the_global_elements_is_an_invalid_event_code():
    # -20 CommonMessages: 54 globals, SE(*) = 54, 55..63 do not exist (6-bit code)
    with pytest.raises(exi.ExiError) as e:
        exi.decode(bytes([0x80, 0b11111100]), schema="iso20")
    assert e.value.code == errors.INVALID_EVENT_CODE and e.value.bit_offset == 8
    with pytest.raises(exi.ExiError) as e:
        exi.decode(bytes([0x80, 54 << 2]), schema="iso20")
    assert e.value.code == errors.UNSUPPORTED_EVENT


def test_stream_of_another_schema_set_is_refused():
    # 0x8c under the AppProtocol 2-bit document code is 2 = SE(*)
    with pytest.raises(exi.ExiError) as e:
        exi.decode(SESSION_STOP, schema="apphand")
    assert e.value.code == errors.UNSUPPORTED_EVENT
    with pytest.raises(exi.ExiError) as e:
        exi.decode(SESSION_STOP, schema="nonsense")
    assert e.value.code == errors.UNKNOWN_SCHEMA


def test_trailing_octets_after_the_document_are_refused():
    with pytest.raises(exi.ExiError) as e:
        exi.decode(SESSION_STOP + b"\x00", schema="iso20")
    assert e.value.code == errors.TRAILING_DATA


def test_lax_encoder_untyped_value_is_reported_with_the_value():
    # facts §4.3: chargingSessionType "Stop" sent as escape 1 + 110 (CH[untyped]), literal, escape 1 + 00 (EE)
    w = BitWriter()
    _session_stop_prefix(w)
    w.write(1, 1)
    w.write(0b110, 3)
    w.write_uint(len("Stop") + 2)
    w.write(int.from_bytes(b"Stop", "big"), 32)
    w.write(1, 1)
    w.write(0b00, 2)
    w.write(0b10, 2)
    with pytest.raises(exi.ExiError) as e:
        exi.decode(w.getvalue(), schema="iso20")
    assert e.value.code == errors.UNTYPED_VALUE and e.value.value == "Stop"
    assert e.value.bit_offset == 136 and e.value.path == ["SessionStopReq", "ChargingSession"]


def test_enumeration_index_beyond_the_values_is_out_of_range():
    w = BitWriter()
    _session_stop_prefix(w)
    w.write(0, 1)
    w.write(3, 2)  # 3 of (Pause, Terminate, ServiceRenegotiation)
    w.write(0, 1)
    w.write(0b10, 2)
    with pytest.raises(exi.ExiError) as e:
        exi.decode(w.getvalue(), schema="iso20")
    assert e.value.code == errors.VALUE_OUT_OF_RANGE


def test_string_value_table_hit_is_refused():
    w = BitWriter()
    w.write(0x80, 8)
    w.write(35, 6)  # SessionSetupReq
    w.write(0, 3)
    w.write_uint(8)
    w.write(0, 64)
    w.write(0, 3)
    w.write_uint(0)
    w.write(0, 1)
    w.write(0b01, 2)
    w.write(0, 2)  # SE(EVCCID), CH
    w.write_uint(0)  # L = 0: local value hit
    with pytest.raises(exi.ExiError) as e:
        exi.decode(w.getvalue() + bytes(4), schema="iso20")
    assert e.value.code == errors.VALUE_TABLE_HIT


def test_encoding_refuses_values_outside_their_xsd_facets():
    cases = [
        (RationalNumber(Exponent=128, Value=1), errors.VALUE_OUT_OF_RANGE),  # xs:byte
        (RationalNumber(Exponent=0, Value=40000), errors.VALUE_OUT_OF_RANGE),  # xs:short
        (RationalNumber(Exponent=0, Value="4"), errors.INVALID_VALUE),
    ]
    for value, code in cases:
        msg = DC_ChargeLoopReq(Header=HEADER, MeterInfoRequested=False, EVPresentVoltage=value,
                               Scheduled_DC_CLReqControlMode=Scheduled_DC_CLReqControlMode(
                                   EVTargetCurrent=RationalNumber(Exponent=0, Value=1),
                                   EVTargetVoltage=RationalNumber(Exponent=0, Value=1)))
        with pytest.raises(exi.ExiError) as e:
            exi.encode(msg)
        assert e.value.code == code
    soc = DC_ChargeLoopReq(Header=HEADER, MeterInfoRequested=False, EVPresentVoltage=RationalNumber(Exponent=0, Value=1),
                           DisplayParameters=DisplayParameters(PresentSOC=120),  # percentValueType 0..100
                           Scheduled_DC_CLReqControlMode=Scheduled_DC_CLReqControlMode(
                               EVTargetCurrent=RationalNumber(Exponent=0, Value=1),
                               EVTargetVoltage=RationalNumber(Exponent=0, Value=1)))
    with pytest.raises(exi.ExiError) as e:
        exi.encode(soc)
    assert e.value.code == errors.VALUE_OUT_OF_RANGE


def test_encoding_refuses_over_long_strings_unknown_enums_and_too_many_occurrences():
    with pytest.raises(exi.ExiError) as e:
        exi.encode(SessionSetupReq(Header=HEADER, EVCCID="x" * 256))  # identifierType maxLength 255
    assert e.value.code == errors.LENGTH_VIOLATION
    assert exi.encode(SessionSetupReq(Header=HEADER, EVCCID="x" * 255))
    with pytest.raises(exi.ExiError) as e:
        exi.encode(SessionStopReq(Header=HEADER, ChargingSession="Stop"))
    assert e.value.code == errors.VALUE_OUT_OF_RANGE
    assert exi.encode(SessionStopReq(Header=HEADER, ChargingSession="Terminate")) == SESSION_STOP
    assert exi.encode(SessionStopReq(Header=HEADER, ChargingSession=ChargingSession.Terminate)) == SESSION_STOP
    with pytest.raises(exi.ExiError) as e:
        exi.encode(ServiceIDList(ServiceID=list(range(1, 18))), schema="iso20", fragment=True)  # maxOccurs 16
    assert e.value.code == errors.INVALID_CONTENT


def test_encoding_refuses_missing_mandatory_content_and_wrong_classes():
    msg = SessionSetupReq(Header=HEADER, EVCCID="A")
    msg.EVCCID = None
    with pytest.raises(exi.ExiError) as e:
        exi.encode(msg)
    assert e.value.code == errors.INVALID_CONTENT and "EVCCID" in str(e.value)
    msg = SessionSetupReq(Header=RationalNumber(Exponent=0, Value=0), EVCCID="A")
    with pytest.raises(exi.ExiError) as e:
        exi.encode(msg)
    assert e.value.code == errors.INVALID_VALUE


def test_xml_that_violates_the_schema_is_refused():
    bad = ('<cm:SessionSetupReq xmlns:cm="urn:iso:std:iso:15118:-20:CommonMessages" '
           'xmlns:ct="urn:iso:std:iso:15118:-20:CommonTypes"><cm:EVCCID>A</cm:EVCCID></cm:SessionSetupReq>')
    with pytest.raises(exi.ExiError) as e:
        exi.encode(bad)
    assert e.value.code == errors.INVALID_CONTENT
    with pytest.raises(exi.ExiError) as e:
        exi.encode("<not xml")
    assert e.value.code == errors.INVALID_XML
    with pytest.raises(exi.ExiError) as e:
        exi.encode('<x xmlns="urn:unknown"/>')
    assert e.value.code == errors.UNKNOWN_SCHEMA


def test_percentage_sent_untyped_by_a_lax_encoder_is_an_untyped_value_error():
    # facts §4.3: PresentSOC 150 does not fit percentValueType (0..100), so EXIficient sends CH[untyped]
    w = BitWriter()
    w.write(0x80, 8)
    w.write(13, 6)  # SE(DC_ChargeLoopReq)
    w.write(0, 3)
    w.write_uint(8)
    w.write(0x0102030405060708, 64)
    w.write(0, 3)
    w.write_uint(1700000000)
    w.write(0, 1)
    w.write(0b01, 2)  # Header: EE
    w.write(0b00, 2)  # SE(DisplayParameters)
    w.write(0b0000, 4)  # SE(PresentSOC), first of 10 optional children + EE (+ escape): 4 bits
    w.write(1, 1)
    w.write(0b110, 3)  # escape, CH[untyped]
    w.write_uint(len("150") + 2)
    w.write(int.from_bytes(b"150", "big"), 24)
    w.write(1, 1)
    w.write(0b00, 2)  # escape, EE (content2 of a simple type)
    with pytest.raises(exi.ExiError) as e:
        exi.decode(w.getvalue() + bytes(8), schema="iso20-dc")
    assert e.value.code == errors.UNTYPED_VALUE and e.value.value == "150"
    assert e.value.path == ["DC_ChargeLoopReq", "DisplayParameters", "PresentSOC"]


def test_xsi_nil_from_a_lax_encoder_is_a_typed_nil_error():
    # SE(ChargingSession) state 0 {CH}: escape 1, then FirstStartTag second level without a declared EE
    # (EE, xsi:type, xsi:nil, AT(*), AT[untyped], SE(*), CH[untyped]): xsi:nil = 2, then its boolean value
    w = BitWriter()
    _session_stop_prefix(w)
    w.write(1, 1)
    w.write(0b010, 3)
    w.write(1, 1)  # true
    w.write(0, 8)
    with pytest.raises(exi.ExiError) as e:
        exi.decode(w.getvalue(), schema="iso20")
    assert e.value.code == errors.NIL and e.value.value is True
    assert e.value.bit_offset == 136 and e.value.path == ["SessionStopReq", "ChargingSession"]


@pytest.mark.parametrize("in_simple", [True, False])
def test_undeclared_attribute_is_a_typed_error_naming_it(in_simple):
    # facts/exi.md §4.3: an unqualified Id where cm:Id is expected travels as AT(*) with qname ("", Id).
    # URI partition of -20 CommonMessages: "", xml, xsi, xsd, xmldsig, CM, CT (7 -> 3 bits); local names of "":
    # Algorithm, Encoding, Id, MimeType, Target, Type, URI (7 -> 3 bits), Id = 2
    w = BitWriter()
    if in_simple:
        _session_stop_prefix(w)  # inside ChargingSession, state 0 {CH}
    else:
        w.write(0x80, 8)
        w.write(37, 6)  # SE(SessionStopReq), state 0 {SE(Header)}
    w.write(1, 1)
    w.write(0b011, 3)  # AT(*)
    w.write(0 + 1, 3)
    w.write_uint(0)
    w.write(2, 3)
    w.write_uint(len("id1") + 2)
    w.write(int.from_bytes(b"id1", "big"), 24)
    w.write(0, 8)
    with pytest.raises(exi.ExiError) as e:
        exi.decode(w.getvalue(), schema="iso20")
    assert e.value.code == errors.UNKNOWN_ATTRIBUTE and e.value.value == ("Id", "id1")
    assert e.value.path == (["SessionStopReq", "ChargingSession"] if in_simple else ["SessionStopReq"])
