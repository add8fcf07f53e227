"""Timeouts on both sides, measured in virtual time: the EV's V2G_EVCC_Msg_Timeout per message and the SECC's
V2G_SECC_Sequence_Timeout (60 s; 0.5 s after a charge-loop response), with the metering session sealed."""
import pytest

from iso15118.evcc import EvConfig, run_in_process
from iso15118.secc import SeccConfig
from iso15118.session.events import SessionSealed

from tests.secc.helpers import capture_requests, prefix_before, secc_after

LATENCY = 0.002


def _drop_response_to(request_name, occurrence=1):
    """Intercept that drops the SECC's answer to the n-th request named `request_name`; records when it was
    sent by the EV."""
    state = {"seen": 0, "armed": False, "sent_at": None}

    def intercept(side, send):
        if side == "ev" and send.message.name == request_name:
            state["seen"] += 1
            state["armed"] = state["seen"] == occurrence
        elif side == "secc" and state["armed"] and send.message.name == request_name[:-3] + "Res":
            state["armed"] = False
            return None
        return send
    return intercept, state


def _sent_times(name):
    times = []

    def trace(side, direction, pt, message, now):
        if side == "ev" and direction == "tx" and message.name == name:
            times.append(now)
    return trace, times


@pytest.mark.parametrize("request_name, occurrence, timeout", [
    ("SessionSetupReq", 1, 2.0),
    ("AuthorizationReq", 1, 2.0),
    ("ServiceDetailReq", 1, 5.0),
    ("DC_CableCheckReq", 1, 2.0),
    ("PowerDeliveryReq", 1, 2.0),
    ("DC_ChargeLoopReq", 3, 0.5),
    ("DC_WeldingDetectionReq", 1, 2.0),
    ("SessionStopReq", 1, 2.0),
])
def test_ev_gives_up_after_the_message_timeout_of_the_unanswered_request(request_name, occurrence, timeout):
    intercept, _ = _drop_response_to(request_name, occurrence)
    trace, times = _sent_times(request_name)
    result = run_in_process(SeccConfig(), EvConfig(service="dc", charge_loops=5), intercept=intercept,
                            trace=trace, latency=LATENCY)
    assert result.summary["outcome"] == "timeout"
    assert result.summary["code"] == "TIMEOUT_MSG"
    assert result.ended_at["ev"] == pytest.approx(times[occurrence - 1] + timeout, abs=1e-9)


def test_secc_seals_after_0_5s_without_the_next_charge_loop_request():
    dropped = {"n": 0}

    def intercept(side, send):
        if side == "ev" and send.message.name == "DC_ChargeLoopReq":
            dropped["n"] += 1
            if dropped["n"] >= 3:
                return None
        return send
    result = run_in_process(SeccConfig(), EvConfig(service="dc", charge_loops=10), intercept=intercept)
    secc = result.secc
    assert secc.outcome == "timeout"
    sealed = [e for e in result.secc_events if isinstance(e, SessionSealed)]
    assert len(sealed) == 1 and sealed[0].reason == "TIMEOUT_SEQUENCE"
    # Last loop response left the SECC at t; the sequence timer is 0.5 s [V2G20-1500], [V2G20-1502].
    loop_responses = []
    # Re-run with a trace to find the time of the last response.
    def trace(side, direction, pt, message, now):
        if side == "secc" and direction == "tx" and message.name == "DC_ChargeLoopRes":
            loop_responses.append(now)
    dropped["n"] = 0
    result = run_in_process(SeccConfig(), EvConfig(service="dc", charge_loops=10), intercept=intercept,
                            trace=trace)
    assert result.ended_at["secc"] == pytest.approx(loop_responses[-1] + 0.5, abs=1e-9)


def test_secc_seals_after_60s_without_the_next_request():
    requests = capture_requests("dc")
    secc, now = secc_after(requests, prefix_before(requests, "ServiceDiscoveryReq"))
    assert secc.timer_expired(now + 59.999) == []
    actions = secc.timer_expired(now + 60.0)
    assert secc.outcome == "timeout"
    assert sum(isinstance(a, SessionSealed) for a in actions) == 1


def test_secc_has_no_sequence_timer_before_supported_app_protocol():
    secc, _ = secc_after([], [])
    assert secc.timer_expired(1e6) == []


def test_ev_stops_when_authorization_stays_ongoing_for_60s(monkeypatch):
    # A SECC that ignores its own 55 s V2G_SECC_Ongoing_Performance_Time: the EV's 60 s timer ends it.
    monkeypatch.setattr("iso15118.secc.machine.SECC_ONGOING_PERFORMANCE_TIME", float("inf"))
    result = run_in_process(SeccConfig(eim_ongoing_rounds=10_000), EvConfig(loop_period=0.5))
    assert result.summary["outcome"] == "timeout"
    assert result.summary["code"] == "TIMEOUT_ONGOING"


def test_lost_connection_seals_the_secc_session():
    def intercept(side, send):
        return None if side == "ev" and send.message.name == "PowerDeliveryReq" else send
    result = run_in_process(SeccConfig(), EvConfig(), intercept=intercept)
    # The EV times out after 2 s and closes; the SECC sees the connection drop before its own 60 s timer.
    assert result.summary["outcome"] == "timeout"
    assert result.secc.outcome == "aborted"
    assert sum(isinstance(e, SessionSealed) for e in result.secc_events) == 1
