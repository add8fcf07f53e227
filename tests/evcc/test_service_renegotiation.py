"""EV-side service renegotiation: PowerDelivery(Stop) ... SessionStop(ServiceRenegotiation), then ServiceDiscovery
again and a second charging phase in the same service session [V2G20-1969], [V2G20-1476], [V2G20-1643]."""
import pytest

from iso15118.evcc import EvConfig, run_in_process
from iso15118.secc import SeccConfig
from iso15118.session.events import SessionSealed


def _ev_requests():
    sent = []

    def trace(side, direction, payload_type, message, now):
        if side == "ev" and direction == "tx":
            sent.append(message)
    return trace, sent


@pytest.mark.parametrize("service", ["dc", "ac", "dc_bpt"])
def test_service_renegotiation_runs_a_second_charging_phase_in_the_same_session(service):
    trace, sent = _ev_requests()
    result = run_in_process(SeccConfig(service_renegotiation=True),
                            EvConfig(service=service, charge_loops=4, discharge_loops=2, service_renegotiation=True),
                            trace=trace)
    s = result.summary
    assert s["outcome"] == "completed" and s["service_renegotiations"] == 1
    stops = [(i, m["ChargingSession"]) for i, m in enumerate(sent) if m.name == "SessionStopReq"]
    assert [kind for _, kind in stops] == ["ServiceRenegotiation", "Terminate"]
    after = [m.name for m in sent[stops[0][0] + 1:]]
    assert after[0] == "ServiceDiscoveryReq"  # the next allowed request [V2G20-1643]
    assert "AuthorizationReq" not in after and "SessionSetupReq" not in after
    loops = [m for m in sent if m.name.endswith("ChargeLoopReq")]
    loops_per_phase = 4 + (2 if service.endswith("_bpt") else 0)
    assert len(loops) == s["charge_loops"] == 2 * loops_per_phase
    assert len({m["Header"]["SessionID"] for m in sent if "Header" in m.body and m.name != "SessionSetupReq"}) == 1
    sealed = [e for e in result.secc_events if isinstance(e, SessionSealed)]
    assert [e.reason for e in sealed] == ["normal"]  # sealed once, at the final Terminate


def test_without_secc_support_the_ev_terminates_instead_of_renegotiating():
    trace, sent = _ev_requests()
    result = run_in_process(SeccConfig(service_renegotiation=False),
                            EvConfig(service="dc", charge_loops=3, service_renegotiation=True), trace=trace)
    assert result.summary["outcome"] == "completed" and result.summary["service_renegotiations"] == 0
    assert [m["ChargingSession"] for m in sent if m.name == "SessionStopReq"] == ["Terminate"]
