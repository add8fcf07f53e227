"""Streams from other implementations (EXIficient via Josev, libcbv2g, a captured AC session): each decodes to
the given values and re-encodes to the identical bytes; each given XML encodes to the identical bytes."""
from enum import Enum

import pytest

import exi

from .conftest import PAYLOAD_SCHEMA, load_vectors, need_shared

JOSEV = load_vectors("exi-josev-corpus.jsonl")
CBV2G = load_vectors("exi-cbv2g-unit.jsonl")
SESSION = [v for v in load_vectors("exi-session-ac.jsonl") if v["payload_type"] in PAYLOAD_SCHEMA]


def assert_matches(expected, actual, path="") -> None:
    """Compare a vector's field dump (another implementation's decoding) with our typed object."""
    if isinstance(expected, dict):
        for key, value in expected.items():
            if value is None:
                continue
            assert hasattr(actual, key), f"{path}.{key} missing"
            assert_matches(value, getattr(actual, key), f"{path}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), path
        for i, (e, a) in enumerate(zip(expected, actual)):
            assert_matches(e, a, f"{path}[{i}]")
    elif isinstance(actual, bytes):
        assert actual.hex().upper() == expected.upper(), path
    elif isinstance(actual, Enum):
        assert actual.value == expected, path
    else:
        assert actual == expected and type(actual) is type(expected), path


@pytest.mark.parametrize("v", JOSEV, ids=[v["name"] for v in JOSEV])
def test_josev_stream_decodes_to_its_xml_and_both_encode_to_the_same_bytes(v):
    need_shared()
    data = bytes.fromhex(v["exi_hex"])
    decoded = exi.decode(data, schema=v["namespace"], fragment=v["fragment"])
    assert decoded == exi.from_xml(v["xml"])
    assert exi.encode(v["xml"], fragment=v["fragment"]) == data
    assert exi.encode(decoded, schema=v["namespace"], fragment=v["fragment"], element=v["root"]) == data


@pytest.mark.parametrize("v", CBV2G, ids=[v["name"] for v in CBV2G])
def test_libcbv2g_stream_decodes_to_its_fields_and_reencodes_identically(v):
    need_shared()
    data = bytes.fromhex(v["exi_hex"])
    element, decoded = exi.decode_element(data, schema=v["ns"])
    root = v["root"].split("/")[0]  # DIN vectors name the body message too: V2G_Message/Body/...
    assert element.endswith("}" + root)
    assert_matches(v["fields"][root], decoded)
    assert exi.encode(decoded, schema=v["ns"]) == data


@pytest.mark.parametrize("v", SESSION, ids=[f"{i}-{v['msg']}" for i, v in enumerate(SESSION)])
def test_captured_ac_session_payload_decodes_and_reencodes_identically(v):
    need_shared()
    schema = PAYLOAD_SCHEMA[v["payload_type"]]
    data = bytes.fromhex(v["exi_hex"])
    element, decoded = exi.decode_element(data, schema=schema)
    assert element.endswith("}" + v["msg"])
    assert_matches(v["json"][v["msg"]], decoded)
    assert exi.encode(decoded, schema=schema) == data


def test_xml_of_a_decoded_vector_reparses_to_the_same_object():
    need_shared()
    for v in JOSEV:
        obj = exi.decode(bytes.fromhex(v["exi_hex"]), schema=v["namespace"], fragment=v["fragment"])
        assert exi.from_xml(exi.to_xml(obj, schema=v["namespace"], element=v["root"])) == obj


def test_xsi_type_on_the_abstract_head_round_trips_as_in_exificient():
    """facts/exi.md §4.4: AC_ChargeLoopReq_scheduled_min re-encoded with
    <ct:CLReqControlMode xsi:type="ac:Scheduled_AC_CLReqControlModeType"> instead of the member element."""
    need_shared()
    from exi.generated.iso20_ac import Scheduled_AC_CLReqControlMode
    v = next(v for v in JOSEV if v["name"] == "AC_ChargeLoopReq_scheduled_min")
    xml = v["xml"].replace(
        "<ac:Scheduled_AC_CLReqControlMode>",
        '<ct:CLReqControlMode xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:type="ac:Scheduled_AC_CLReqControlModeType">').replace(
        "</ac:Scheduled_AC_CLReqControlMode>", "</ct:CLReqControlMode>")
    expected = bytes.fromhex("8008040081018202830384080e2cfaa0628518025490600e50")
    assert exi.encode(xml) == expected
    msg = exi.decode(expected, schema="iso20-ac")
    member = exi.decode(bytes.fromhex(v["exi_hex"]), schema="iso20-ac").Scheduled_AC_CLReqControlMode
    assert type(msg.CLReqControlMode) is Scheduled_AC_CLReqControlMode and msg.CLReqControlMode == member
    assert exi.encode(msg) == expected
    assert exi.encode(exi.to_xml(msg)) == expected
