"""The public API as DESIGN.md states it: exi.encode / decode / to_xml / from_xml, schema names and URIs."""
import pytest

import exi
from exi.generated import apphand, din, iso20, iso20_dc
from exi.generated.iso20_types import MessageHeader, RationalNumber, ResponseCode

HEADER = MessageHeader(SessionID=bytes.fromhex("0102030405060708"), TimeStamp=1700000000)


def test_every_schema_name_and_its_namespace_uri_select_the_same_grammar_set():
    names = ["apphand", "iso20", "iso20-dc", "iso20-ac", "iso20-wpt", "iso20-acdp", "xmldsig", "iso2", "din"]
    assert list(exi.SCHEMAS) == names
    stop = iso20.SessionStopReq(Header=HEADER, ChargingSession="Terminate")
    data = exi.encode(stop)
    assert exi.decode(data, schema="iso20") == exi.decode(data, schema=exi.SCHEMAS["iso20"]) == stop


def test_decode_gives_typed_objects_with_enums_and_bytes():
    res = iso20_dc.DC_ChargeLoopRes(
        Header=HEADER, ResponseCode=ResponseCode.OK, EVSEPresentCurrent=RationalNumber(Exponent=-1, Value=-5),
        EVSEPresentVoltage=RationalNumber(Exponent=0, Value=400), EVSEPowerLimitAchieved=True,
        EVSECurrentLimitAchieved=False, EVSEVoltageLimitAchieved=False,
        Dynamic_DC_CLResControlMode=iso20_dc.Dynamic_DC_CLResControlMode(
            EVSEMaximumChargePower=RationalNumber(Exponent=3, Value=50),
            EVSEMinimumChargePower=RationalNumber(Exponent=0, Value=0),
            EVSEMaximumChargeCurrent=RationalNumber(Exponent=0, Value=125),
            EVSEMaximumVoltage=RationalNumber(Exponent=0, Value=500)))
    back = exi.decode(exi.encode(res), schema="iso20-dc")
    assert back == res and back.ResponseCode is ResponseCode.OK and isinstance(back.Header.SessionID, bytes)
    assert isinstance(back, iso20_dc.DC_ChargeLoopRes) and back.Dynamic_DC_CLResControlMode is not None


def test_xml_text_and_objects_encode_identically_and_convert_both_ways():
    req = apphand.SupportedAppProtocolReq(AppProtocol=[apphand.AppProtocol(
        ProtocolNamespace="urn:iso:std:iso:15118:-20:DC", VersionNumberMajor=1, VersionNumberMinor=0, SchemaID=1,
        Priority=1)])
    xml = exi.to_xml(req)
    assert exi.from_xml(xml) == req
    # facts/exi.md §8.1: josev sap_req_iso20_dc_single
    expected = "8000f3ab9371d34b9b79d39ba321d34b9b79d189a98989c1d1699181d22218010000040040"
    assert exi.encode(xml).hex() == exi.encode(req).hex() == expected
    assert exi.encode(xml.encode()).hex() == expected


def test_din_body_members_are_fields_of_body():
    msg = din.V2G_Message(Header=din.MessageHeader(SessionID=bytes(8)),
                          Body=din.Body(SessionSetupReq=din.SessionSetupReq(EVCCID=bytes.fromhex("84877260f358"))))
    assert exi.decode(exi.encode(msg), schema="din") == msg


def test_message_classes_are_importable_from_iso15118_messages():
    from iso15118.messages import iso20 as msgs
    assert msgs.SessionSetupReq is iso20.SessionSetupReq and msgs.MessageHeader is MessageHeader


def test_object_of_another_schema_set_is_refused():
    stop = iso20.SessionStopReq(Header=HEADER, ChargingSession="Terminate")
    with pytest.raises(exi.ExiError):
        exi.encode(stop, schema="iso20-dc")
