"""MeterInfo in ChargeLoopRes carries the BPT_ readings only in BPT sessions: ISO 15118-20 Table 101
[V2G20-1313] calls BPT_DischargedEnergyReadingWh "optional for BPT, not applicable for other energy transfer
services". Found by interop: Josev's EVCC refuses a DC session's MeterInfo that carries it."""
import pytest

from iso15118.evcc import EvConfig, run_in_process
from iso15118.secc import SeccConfig

BPT_READINGS = {"BPT_DischargedEnergyReadingWh", "BPT_InductiveEnergyReadingVARh"}


def _meter_infos(service: str) -> list[dict]:
    seen = []

    def trace(side, direction, payload_type, message, now):
        if side == "secc" and direction == "tx" and message.name.endswith("ChargeLoopRes"):
            if "MeterInfo" in message.body:
                seen.append(message.body["MeterInfo"])

    result = run_in_process(SeccConfig(), EvConfig(service=service, charge_loops=3, discharge_loops=3),
                            trace=trace)
    assert result.summary["outcome"] == "completed"
    return seen


@pytest.mark.parametrize("service", ["dc", "ac"])
def test_a_non_bpt_session_gets_no_bpt_readings(service):
    infos = _meter_infos(service)
    assert infos and all(not BPT_READINGS & set(info) for info in infos)
    assert all("ChargedEnergyReadingWh" in info for info in infos)


@pytest.mark.parametrize("service", ["dc_bpt", "ac_bpt"])
def test_a_bpt_session_keeps_the_discharged_reading(service):
    infos = _meter_infos(service)
    assert infos and all("BPT_DischargedEnergyReadingWh" in info for info in infos)


@pytest.mark.parametrize("service, loop", [("dc", "DC_ChargeLoopReq"), ("ac", "AC_ChargeLoopReq")])
def test_the_first_charge_loop_response_carries_meter_info_even_unrequested(service, loop):
    # [V2G20-1833]: MeterInfo in the first ChargeLoopRes, whatever MeterInfoRequested says.
    from iso15118.session.messages import Message
    from .helpers import capture_requests, feed, first, prefix_before, secc_after, sent
    requests = capture_requests(service)
    secc, now = secc_after(requests, prefix_before(requests, loop))
    payload_type, req = first(requests, loop)
    unrequested = Message(req.name, {**req.body, "MeterInfoRequested": False})
    [res] = sent(feed(secc, payload_type, unrequested, now + 0.01))
    assert "MeterInfo" in res.body
