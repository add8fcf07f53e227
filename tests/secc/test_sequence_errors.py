"""Out-of-sequence requests, unknown sessions and garbage, answered as ISO 15118-20 requires.

The expected sequences come from the standard's message flows (facts §4.1-§4.3), not from our table: each case
skips a mandatory step or repeats a finished one. Every FAILED code ends the session (-20 §8.6 type
description) and the metering session is sealed exactly once.
"""
import pytest

from iso15118.session.actions import Close, Send
from iso15118.session.events import SessionEnded

from .helpers import capture_requests, feed, first, prefix_before, sealed, secc_after, sent

DC = capture_requests("dc")
AC = capture_requests("ac")

# (requests of the captured session, the request before which we stop, out-of-sequence request)
CASES = [
    (DC, "SessionSetupReq", "AuthorizationSetupReq"),
    (DC, "AuthorizationSetupReq", "AuthorizationReq"),
    (DC, "AuthorizationSetupReq", "ServiceDiscoveryReq"),
    (DC, "AuthorizationReq", "ServiceDiscoveryReq"),
    (DC, "ServiceDiscoveryReq", "ServiceSelectionReq"),
    (DC, "ServiceDiscoveryReq", "DC_ChargeParameterDiscoveryReq"),
    (DC, "ServiceDetailReq", "DC_ChargeParameterDiscoveryReq"),
    (DC, "DC_ChargeParameterDiscoveryReq", "ScheduleExchangeReq"),
    (DC, "DC_ChargeParameterDiscoveryReq", "DC_CableCheckReq"),
    (DC, "ScheduleExchangeReq", "DC_CableCheckReq"),
    (DC, "ScheduleExchangeReq", "PowerDeliveryReq"),
    (DC, "DC_CableCheckReq", "DC_PreChargeReq"),
    (DC, "DC_CableCheckReq", "PowerDeliveryReq"),
    (DC, "DC_CableCheckReq", "DC_ChargeLoopReq"),
    (DC, "DC_PreChargeReq", "PowerDeliveryReq"),
    (DC, "DC_PreChargeReq", "DC_ChargeLoopReq"),
    (DC, "PowerDeliveryReq", "DC_ChargeLoopReq"),
    (DC, "PowerDeliveryReq", "DC_WeldingDetectionReq"),
    (DC, "DC_ChargeLoopReq", "DC_WeldingDetectionReq"),
    (DC, "DC_ChargeLoopReq", "SessionStopReq"),
    (DC, "DC_WeldingDetectionReq", "DC_ChargeLoopReq"),
    (DC, "SessionStopReq", "DC_ChargeLoopReq"),
    (DC, "SessionStopReq", "SessionSetupReq"),
    (DC, "SessionStopReq", "AuthorizationSetupReq"),
    (DC, "SessionStopReq", "DC_CableCheckReq"),
    (AC, "PowerDeliveryReq", "AC_ChargeLoopReq"),
    (AC, "PowerDeliveryReq", "DC_CableCheckReq"),
    (AC, "AC_ChargeLoopReq", "DC_ChargeLoopReq"),
    (AC, "SessionStopReq", "AC_ChargeLoopReq"),
]


def _case_id(case):
    requests, before, wrong = case
    return f"{'dc' if requests is DC else 'ac'}-before-{before}-send-{wrong}"


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_out_of_sequence_request_gets_failed_sequence_error_and_ends_session(case):
    requests, before, wrong = case
    occurrence = 2 if before == "PowerDeliveryReq" and wrong in ("DC_WeldingDetectionReq",) else 1
    if before == "DC_ChargeLoopReq":
        before, occurrence = "PowerDeliveryReq", 2  # after a charge loop, before PowerDelivery(Stop)
    prefix = prefix_before(requests, before, occurrence)
    secc, now = secc_after(requests, prefix)
    payload_type, message = first(DC + AC, wrong)
    actions = feed(secc, payload_type, message, now + 0.01)
    responses = sent(actions)
    assert [r.name for r in responses] == [wrong[:-3] + "Res"]
    assert responses[0]["ResponseCode"] == "FAILED_SequenceError"
    assert [a for a in actions if isinstance(a, Close)]
    ended = [a for a in actions if isinstance(a, SessionEnded)]
    assert ended and ended[0].outcome == "failed"
    service_session = any(m.name == "SessionSetupReq" for _, m in prefix)
    assert len(sealed(actions)) == (1 if service_session else 0)
    # The session is over: later requests are not answered.
    assert feed(secc, payload_type, message, now + 0.02) == []


def test_second_supported_app_protocol_request_is_a_sequence_error():
    secc, now = secc_after(DC, prefix_before(DC, "SessionSetupReq"))
    actions = feed(secc, *first(DC, "supportedAppProtocolReq"), now)
    assert sent(actions)[0]["ResponseCode"] == "Failed_NoNegotiation"  # the only failure code of that schema
    assert [a for a in actions if isinstance(a, Close)]
    assert sealed(actions) == []  # no service session existed yet


def test_request_with_wrong_session_id_gets_failed_unknown_session():
    secc, now = secc_after(DC, prefix_before(DC, "ServiceDiscoveryReq"))
    payload_type, message = first(DC, "ServiceDiscoveryReq")
    from iso15118.session import codec
    from .helpers import readdress
    wrong_id = bytes(b ^ 0xFF for b in secc.ctx.session_id)
    actions = secc.receive(payload_type, codec.encode(readdress(message, wrong_id)), now + 0.01)
    assert sent(actions)[0]["ResponseCode"] == "FAILED_UnknownSession"  # [V2G20-753]
    assert [a for a in actions if isinstance(a, Close)] and len(sealed(actions)) == 1


def test_dc_message_on_the_ac_payload_type_is_a_sequence_error():
    secc, now = secc_after(DC, prefix_before(DC, "DC_ChargeParameterDiscoveryReq"))
    _, message = first(DC, "DC_ChargeParameterDiscoveryReq")
    from iso15118.session import codec
    from .helpers import readdress
    data = codec.encode(readdress(message, secc.ctx.session_id))
    actions = secc.receive(0x8003, data, now)
    # Decoded with the AC grammar the bytes are not a valid AC message, or are a wrong one: never accepted.
    assert not any(isinstance(a, Send) and a.message["ResponseCode"] == "OK" for a in actions)


def test_garbage_after_session_setup_is_ignored_until_the_sequence_timeout():
    secc, now = secc_after(DC, prefix_before(DC, "AuthorizationSetupReq"))
    assert secc.receive(0x8002, b"\x80\xff\xff\xff\x00\x13", now + 0.01) == []  # [V2G20-445]
    assert secc.timer_expired(now + 59.0) == []
    actions = secc.timer_expired(now + 60.0)
    assert [a for a in actions if isinstance(a, Close)][0].code == "TIMEOUT_SEQUENCE"
    assert len(sealed(actions)) == 1


def test_garbage_as_first_message_closes_the_connection():
    secc, _ = secc_after(DC, [])
    actions = secc.receive(0x8001, b"\x00\x01\x02", 0.0)
    assert [a for a in actions if isinstance(a, Close)] and sealed(actions) == []


def test_response_sent_to_the_secc_is_ignored():
    secc, now = secc_after(DC, prefix_before(DC, "AuthorizationSetupReq"))
    from iso15118.session import codec
    from iso15118.session.messages import Message
    res = Message("SessionStopRes", {"Header": {"SessionID": secc.ctx.session_id, "TimeStamp": 1},
                                     "ResponseCode": "OK"})
    assert secc.receive(0x8002, codec.encode(res), now) == []
