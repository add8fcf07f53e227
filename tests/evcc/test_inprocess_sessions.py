"""Our EVCC against our SECC, both sans-I/O, pumped in one process on a virtual clock."""
import pytest

from iso15118.evcc import EvConfig, run_in_process
from iso15118.secc import SeccConfig, Station
from iso15118.session.events import SessionPaused, SessionSealed, SessionStarted

SERVICES = ["dc", "ac", "dc_bpt", "ac_bpt"]
MODES = ["scheduled", "dynamic"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("service", SERVICES)
def test_session_completes_with_energy_imported(service, mode):
    ev = EvConfig(service=service, mode=mode, charge_loops=20, discharge_loops=10)
    result = run_in_process(SeccConfig(), ev)
    s = result.summary
    assert s["outcome"] == "completed", s
    assert s["protocol"] == ("urn:iso:std:iso:15118:-20:DC" if service.startswith("dc")
                             else "urn:iso:std:iso:15118:-20:AC")
    assert s["charge_loops"] == 20 + (10 if service.endswith("_bpt") else 0)
    assert s["energy_wh"]["import"] > 1.0
    assert s["soc"]["end"] != s["soc"]["start"]
    sealed = [e for e in result.secc_events if isinstance(e, SessionSealed)]
    assert len(sealed) == 1


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("service", ["dc_bpt", "ac_bpt"])
def test_bpt_session_exports_energy_and_the_meter_agrees(service, mode):
    result = run_in_process(SeccConfig(), EvConfig(service=service, mode=mode, charge_loops=20,
                                                   discharge_loops=20))
    s = result.summary
    assert s["outcome"] == "completed"
    assert s["energy_wh"]["export"] > 1.0
    # The SECC's meter integrates its own output; the EV integrates what the EVSE reported. They must agree
    # to within the meter's 1 Wh resolution plus one loop of energy at the highest power (timing offset).
    sealed = next(e for e in result.secc_events if isinstance(e, SessionSealed))
    one_loop_wh = 100_000 * 0.11 / 3600
    assert abs(sealed.meter_info["ChargedEnergyReadingWh"] - s["energy_wh"]["import"]) <= 1 + one_loop_wh
    assert abs(sealed.meter_info["BPT_DischargedEnergyReadingWh"] - s["energy_wh"]["export"]) <= 1 + one_loop_wh


def test_ac_scheduled_energy_matches_power_times_time():
    # The EV asks for 100 kW; the AC EVSE offers 22 kW: energy = 22 kW x charging time (independent physics).
    ev = EvConfig(service="ac", mode="scheduled", charge_loops=30, loop_period=0.2)
    result = run_in_process(SeccConfig(), ev, latency=0.001)
    s = result.summary
    charging_time = 30 * (0.2 + 2 * 0.001)  # one loop period plus a round trip per loop
    expected = 22_000 * charging_time / 3600
    assert s["energy_wh"]["import"] == pytest.approx(expected, rel=0.05)


def test_battery_soc_rises_by_the_imported_energy():
    ev = EvConfig(service="dc", charge_loops=40)
    s = run_in_process(SeccConfig(), ev).summary
    capacity = ev.battery.capacity_wh
    assert s["soc"]["end"] - s["soc"]["start"] == pytest.approx(100 * s["energy_wh"]["import"] / capacity,
                                                                abs=0.002)


def test_meter_info_and_metering_confirmation_are_exchanged():
    result = run_in_process(SeccConfig(metering_confirmation=True), EvConfig(service="dc_bpt"))
    s = result.summary
    assert s["metering_confirmations"] == 1
    meter = result.secc.ctx.connector.meter
    stored = meter.confirmations[result.secc.ctx.session_id]
    assert len(stored) == 1
    data, raw = stored[0]
    assert data["SessionID"] == result.secc.ctx.session_id
    assert raw[:1] == b"\x80"  # the verbatim EXI stream, header byte first


@pytest.mark.parametrize("service", ["dc", "ac_bpt"])
def test_paused_session_resumes_with_old_session_id(service):
    station = Station(SeccConfig())
    first = run_in_process(station, EvConfig(service=service, stop_with="Pause", charge_loops=5))
    assert first.summary["outcome"] == "paused"
    assert any(isinstance(e, SessionPaused) for e in first.secc_events)
    assert not any(isinstance(e, SessionSealed) for e in first.secc_events)  # not sealed while paused
    session_id = first.summary["session_id"]
    second = run_in_process(station, EvConfig(service=service, resume_session_id=session_id, charge_loops=5))
    s = second.summary
    assert s["outcome"] == "completed"
    assert s["resumed"] is True and s["session_id"] == session_id
    started = [e for e in second.secc_events if isinstance(e, SessionStarted)]
    assert started and started[0].resumed
    # Energy is per service session [V2G20-902]: the sealed reading covers both parts.
    sealed = [e for e in second.secc_events if isinstance(e, SessionSealed)]
    assert len(sealed) == 1
    total = first.summary["energy_wh"]["import"] + s["energy_wh"]["import"]
    assert sealed[0].meter_info["ChargedEnergyReadingWh"] == pytest.approx(total, abs=2)


def test_resume_with_unknown_session_id_starts_a_new_session():
    station = Station(SeccConfig())
    s = run_in_process(station, EvConfig(resume_session_id="0102030405060708", charge_loops=3)).summary
    assert s["outcome"] == "completed"
    assert s["resumed"] is False and s["session_id"] != "0102030405060708"


def test_resume_by_another_vehicle_is_refused():
    station = Station(SeccConfig())
    first = run_in_process(station, EvConfig(evcc_id="EVA", stop_with="Pause", charge_loops=3))
    sid = first.summary["session_id"]
    other = run_in_process(station, EvConfig(evcc_id="EVB", resume_session_id=sid, charge_loops=3)).summary
    assert other["resumed"] is False and other["session_id"] != sid
    assert bytes.fromhex(sid) in station.store  # still paused for its owner


@pytest.mark.parametrize("service", SERVICES)
def test_ev_offering_only_din_and_iso2_gets_no_negotiation(service):
    ev = EvConfig(service=service, only_protocols=("urn:din:70121:2012:MsgDef", "urn:iso:15118:2:2013:MsgDef"))
    result = run_in_process(SeccConfig(), ev)
    assert result.summary["outcome"] == "failed"
    assert result.evcc.ctx.response_codes["supportedAppProtocolRes"] == "Failed_NoNegotiation"


def test_secc_picks_the_ev_highest_priority_protocol_it_supports():
    ev = EvConfig(service="dc", offer_protocols=("urn:iso:std:iso:15118:-20:AC",))
    result = run_in_process(SeccConfig(services=("ac", "dc")), ev)
    assert result.summary["protocol"] == "urn:iso:std:iso:15118:-20:DC"
    result = run_in_process(SeccConfig(services=("ac",)), EvConfig(
        service="ac", only_protocols=("urn:iso:15118:2:2013:MsgDef", "urn:iso:std:iso:15118:-20:AC")))
    assert result.summary["protocol"] == "urn:iso:std:iso:15118:-20:AC"
    assert result.summary["outcome"] == "completed"


def test_eim_authorization_ongoing_then_granted():
    result = run_in_process(SeccConfig(eim_ongoing_rounds=3), EvConfig(charge_loops=2))
    assert result.summary["outcome"] == "completed"


def test_eim_refused_ends_session_without_energy():
    result = run_in_process(SeccConfig(eim_authorized=False), EvConfig(charge_loops=2))
    s = result.summary
    assert s["outcome"] == "failed" and s["charge_loops"] == 0
    assert result.evcc.ctx.response_codes["AuthorizationRes"] == "WARNING_EIMAuthorizationFailure"


def test_service_not_offered_ends_with_session_stop():
    result = run_in_process(SeccConfig(services=("dc",)), EvConfig(service="dc_bpt"))
    assert result.summary["outcome"] == "failed"
    assert "SessionStopRes" in result.evcc.ctx.response_codes


def test_several_sessions_share_one_station():
    station = Station(SeccConfig())
    outcomes = [run_in_process(station, EvConfig(service=svc, charge_loops=3)).summary["outcome"]
                for svc in SERVICES]
    assert outcomes == ["completed"] * 4
    assert len({s.ctx.session_id for s in station.sessions}) == 4


@pytest.mark.parametrize("service", ["dc", "ac_bpt"])
def test_standby_keeps_the_session_without_power_then_resumes(service):
    powers = []

    def trace(side, direction, pt, message, now):
        if side == "secc" and direction == "tx" and message.name.endswith("ChargeLoopRes"):
            powers.append(message)
    ev = EvConfig(service=service, charge_loops=10, standby_loops=4, discharge_loops=0)
    result = run_in_process(SeccConfig(), ev, trace=trace)
    s = result.summary
    assert s["outcome"] == "completed" and s["charge_loops"] == 14
    codes = result.evcc.ctx.response_codes
    assert codes["PowerDeliveryRes"] == "OK"
    # Loops 6..9 are in standby: the EVSE output goes to zero there (DC current ramps down at most 100 A per
    # loop from <= 250 A, so it is 0 by the 4th standby loop; AC target 0 W at once), then power resumes.
    def power(message):
        if "EVSEPresentCurrent" in message.body:
            number = message["EVSEPresentCurrent"]
        else:
            number = next(v for k, v in message.body.items() if k.endswith("CLResControlMode"))["EVSETargetActivePower"]
        return number["Value"] * 10 ** number["Exponent"]
    standby = [power(m) for m in powers[5:9]]
    assert standby == sorted(standby, reverse=True) and standby[-1] == 0
    assert power(powers[11]) > 0


def test_standby_refused_when_not_allowed_keeps_charging():
    result = run_in_process(SeccConfig(standby_allowed=False), EvConfig(charge_loops=6, standby_loops=2))
    assert result.summary["outcome"] == "completed"


def test_a_pause_never_resumed_is_sealed_once_it_expires():
    station = Station(SeccConfig(paused_session_max_s=60.0))
    first = run_in_process(station, EvConfig(stop_with="Pause", charge_loops=3))
    sid = bytes.fromhex(first.summary["session_id"])
    assert station.seal_expired_pauses(first.ended_at["secc"] + 59.0) == []
    sealed = station.seal_expired_pauses(first.ended_at["secc"] + 61.0)
    assert [(e.session_id, e.reason) for e in sealed] == [(sid, "PAUSE_EXPIRED")]
    assert sid not in station.store
    assert station.seal_expired_pauses(first.ended_at["secc"] + 1e6) == []  # exactly once


@pytest.mark.parametrize("service, mode", [("dc", "scheduled"), ("ac_bpt", "scheduled"), ("dc_bpt", "dynamic")])
def test_schedule_renegotiation_on_the_side_stream_while_charging_goes_on(service, mode):
    streams = []

    def trace(side, direction, payload_type, message, now):
        if side == "ev" and direction == "tx":
            streams.append((payload_type, message.name))
    ev = EvConfig(service=service, mode=mode, charge_loops=12, renegotiate_after_loops=3)
    result = run_in_process(SeccConfig(), ev, trace=trace)
    s = result.summary
    assert s["outcome"] == "completed" and s["renegotiations"] == 1
    assert result.secc.ctx.renegotiations == 1
    side = [name for pt, name in streams if pt == 0x8101]
    assert side == [("DC_" if service.startswith("dc") else "AC_") + "ChargeParameterDiscoveryReq",
                    "ScheduleExchangeReq", "PowerDeliveryReq"]
    loops_after = [name for pt, name in streams[streams.index((0x8101, side[0])):] if name.endswith("ChargeLoopReq")]
    assert loops_after  # the main loop went on meanwhile [V2G20-1051]


def test_renegotiation_before_the_first_loop_is_a_sequence_error():
    from tests.secc.helpers import capture_requests, feed, prefix_before, secc_after, sent
    requests = capture_requests("dc")
    secc, now = secc_after(requests, prefix_before(requests, "DC_ChargeLoopReq"))
    _, cpd = next((pt, m) for pt, m in requests if m.name == "DC_ChargeParameterDiscoveryReq")
    actions = feed(secc, 0x8101, cpd, now + 0.01)
    assert sent(actions)[0]["ResponseCode"] == "FAILED_SequenceError"  # [V2G20-1846]


@pytest.mark.parametrize("service", SERVICES)
def test_our_secc_stays_within_its_announced_limits(service):
    result = run_in_process(SeccConfig(), EvConfig(service=service, charge_loops=10, discharge_loops=10))
    assert result.summary["violations"] == []


def test_ev_emulator_reports_a_secc_exceeding_its_announced_current():
    from iso15118.secc import Output, SimulatedCharger, simulated_connector

    class Overdriving(SimulatedCharger):
        def deliver_dc(self, ev_voltage, target_current, max_current, max_power, now):
            out = super().deliver_dc(ev_voltage, target_current, max_current, max_power, now)
            self.current = out.current + 60.0  # ignores its limit
            return Output(out.voltage, self.current)

    def connector(config):
        c = simulated_connector(config)
        c.charger = Overdriving(config.charger)
        return c
    from iso15118.session.config import DcLimits
    station = Station(SeccConfig(dc=DcLimits(max_charge_current=200.0)), connector)
    s = run_in_process(station, EvConfig(service="dc", charge_loops=8)).summary
    assert s["outcome"] == "completed"
    assert any("EVSEMaximumChargeCurrent" in v for v in s["violations"])


@pytest.mark.parametrize("service, kind, outcome", [("dc", "Terminate", "completed"), ("ac", "Pause", "paused")])
def test_station_requested_stop_is_announced_and_the_ev_ends_the_session(service, kind, outcome):
    station = Station(SeccConfig(metering_confirmation=False))
    loops = {"n": 0}

    def intercept(side, send):
        if side == "secc" and send.message.name.endswith("ChargeLoopRes"):
            loops["n"] += 1
            if loops["n"] == 3:
                station.sessions[-1].request_stop(kind)
        return send
    result = run_in_process(station, EvConfig(service=service, charge_loops=50), intercept=intercept)
    s = result.summary
    assert s["outcome"] == outcome
    assert s["charge_loops"] == 4  # the 4th response carried EVSENotification, then PowerDelivery(Stop)
