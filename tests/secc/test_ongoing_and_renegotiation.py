"""The SECC's 55 s limit on EVSEProcessing=Ongoing, and SECC-triggered schedule renegotiation
(EVSENotification=ScheduleRenegotiation -> the EV renegotiates on 0x8101; WARNING_/FAILED_ScheduleRenegotiation
when it does not), each ending with the metering session sealed exactly once where the session fails."""
import pytest

from iso15118.evcc import EvConfig, run_in_process
from iso15118.secc import SeccConfig, Station
from iso15118.session.config import SimulatedChargerConfig
from iso15118.session.events import SessionSealed

SECC_ONGOING_PERFORMANCE_TIME = 55.0  # facts §5 (EDF's transcription of the -20 timing table)
EVCC_ONGOING_TIMEOUT = 60.0


def _responses(name_suffix):
    seen = []

    def trace(side, direction, payload_type, message, now):
        if side == "secc" and direction == "tx" and message.name.endswith(name_suffix):
            seen.append((now, payload_type, message))
    return trace, seen


def _sealed(result):
    return [e for e in result.secc_events if isinstance(e, SessionSealed)]


@pytest.mark.parametrize("request_name, secc_config", [
    ("AuthorizationReq", SeccConfig(eim_ongoing_rounds=10_000)),
    ("DC_CableCheckReq", SeccConfig(charger=SimulatedChargerConfig(cable_check_rounds=10_000))),
])
def test_secc_answers_ongoing_for_at_most_55s_then_failed_and_seals(request_name, secc_config):
    trace, responses = _responses(request_name[:-3] + "Res")
    result = run_in_process(secc_config, EvConfig(service="dc", loop_period=0.5), trace=trace)
    ongoing = [t for t, _, m in responses if m["EVSEProcessing"].startswith("Ongoing")]
    t_end, _, last = responses[-1]
    assert last["ResponseCode"] == "FAILED" and last["EVSEProcessing"] == "Finished"
    # Ongoing no longer than 55 s, and the end comes before the EV's own 60 s ongoing timeout.
    assert ongoing[-1] - ongoing[0] < SECC_ONGOING_PERFORMANCE_TIME <= t_end - ongoing[0] < EVCC_ONGOING_TIMEOUT
    assert result.summary["outcome"] == "failed" and result.summary["code"] == "FAILED"
    assert [e.reason for e in _sealed(result)] == ["FAILED"]


def _request_renegotiation_at_loop(station, loop):
    count = {"n": 0}

    def intercept(side, send):
        if side == "secc" and send.message.name.endswith("ChargeLoopRes"):
            count["n"] += 1
            if count["n"] == loop:
                station.sessions[-1].request_renegotiation()
        return send
    return intercept


@pytest.mark.parametrize("service, mode", [("dc", "scheduled"), ("ac_bpt", "dynamic")])
def test_secc_triggered_renegotiation_is_run_by_the_ev_on_the_side_stream(service, mode):
    station = Station(SeccConfig(metering_confirmation=False))
    streams = []

    def trace(side, direction, payload_type, message, now):
        streams.append((side, direction, payload_type, message))
    result = run_in_process(station, EvConfig(service=service, mode=mode, charge_loops=12), trace=trace,
                            intercept=_request_renegotiation_at_loop(station, 3))
    assert result.summary["outcome"] == "completed"
    assert result.summary["renegotiations"] == 1 and result.secc.ctx.renegotiations == 1
    notified = [m for side, d, _, m in streams if side == "secc" and d == "tx" and m.name.endswith("ChargeLoopRes")
                and (m.get("EVSEStatus") or {}).get("EVSENotification") == "ScheduleRenegotiation"]
    assert len(notified) == 1  # announced once, in the 4th loop response [V2G20-1845]
    side = [m.name for s, d, pt, m in streams if s == "ev" and d == "tx" and pt == 0x8101]
    assert side == [("DC_" if service.startswith("dc") else "AC_") + "ChargeParameterDiscoveryReq",
                    "ScheduleExchangeReq", "PowerDeliveryReq"]
    codes = {m["ResponseCode"] for s, d, _, m in streams if s == "secc" and d == "tx" and "ResponseCode" in m.body}
    assert not any(c.endswith("ScheduleRenegotiationFailed") or c == "FAILED_ScheduleRenegotiation" for c in codes)


def test_ev_ignoring_the_renegotiation_request_gets_a_warning_then_failed_schedule_renegotiation():
    station = Station(SeccConfig(metering_confirmation=False))
    trace, loops = _responses("ChargeLoopRes")
    result = run_in_process(station, EvConfig(service="dc", charge_loops=400, loop_period=0.2,
                                              follow_renegotiation_requests=False),
                            trace=trace, intercept=_request_renegotiation_at_loop(station, 2))
    announced = [(t, m) for t, _, m in loops if (m.get("EVSEStatus") or {}).get("EVSENotification")
                 == "ScheduleRenegotiation"]
    assert len(announced) == 2  # the request and one retry [V2G20-2235]
    (t1, first), (t2, retry) = announced
    delay = first["EVSEStatus"]["NotificationMaxDelay"]
    assert first["ResponseCode"] == "OK"
    assert retry["ResponseCode"] == "WARNING_ScheduleRenegotiationFailed" and t2 - t1 > delay
    t_end, _, last = loops[-1]
    assert last["ResponseCode"] == "FAILED_ScheduleRenegotiation" and t_end - t2 > delay
    assert result.summary["outcome"] == "failed" and result.summary["code"] == "FAILED_ScheduleRenegotiation"
    assert [e.reason for e in _sealed(result)] == ["FAILED_ScheduleRenegotiation"]


def test_renegotiation_request_outside_the_charge_loop_is_refused():
    secc = Station(SeccConfig()).new_session()
    with pytest.raises(ValueError):
        secc.request_renegotiation()
