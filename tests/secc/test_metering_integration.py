"""SECC with the metering package's Meter (emulated chip): signed MeterInfo in the loop, the EV's
MeteringConfirmation journaled as a receipt, the session sealed exactly once with a signed final reading."""
import asyncio

import pytest

from iso15118.evcc import EvConfig, Evcc
from iso15118.evcc.client import run_session
from iso15118.secc import SeccConfig, SimulatedCharger, Station
from iso15118.secc.metered import metered_connector
from iso15118.secc.server import SeccServer


@pytest.fixture
def meter(tmp_path):
    from metering import Meter, MeterConfig
    m = Meter(MeterConfig(journal_path=str(tmp_path / "journal.sqlite"), key_path=str(tmp_path / "meter.pem")))
    yield m
    m.close()


async def test_session_with_the_metering_meter_seals_a_signed_reading_and_keeps_the_receipt(meter):
    from metering import MeterInfo, verify_meter_info
    config = SeccConfig()
    station = Station(config, lambda cfg: metered_connector(SimulatedCharger(cfg.charger), meter))
    async with SeccServer(station) as server:
        ev = Evcc(EvConfig(service="dc_bpt", loop_period=0.05, charge_loops=12, discharge_loops=8))
        summary = await run_session(ev, "::1", server.port)
        await asyncio.sleep(0.05)
    assert summary["outcome"] == "completed"
    sid = summary["session_id"]
    readings = meter.session_readings(sid)
    assert [r.kind for r in readings][0] == "session_begin" and readings[-1].kind == "session_seal"
    seal = readings[-1]
    # The meter measured what the simulated charger delivered (to its Wh resolution and loop timing).
    assert seal.meter_info.charged_wh == pytest.approx(summary["energy_wh"]["import"], abs=3)
    assert seal.meter_info.discharged_wh == pytest.approx(summary["energy_wh"]["export"], abs=3)
    verify_meter_info(seal.meter_info, meter.public_key_der())  # raises SignatureInvalid if not
    # The MeterInfo the EV received carried a 64-byte MeterSignature that verifies with the meter key.
    info = ev.ctx.last_meter_info
    assert len(info["MeterSignature"]) == 64
    verify_meter_info(MeterInfo(
        meter_id=info["MeterID"], charged_wh=info["ChargedEnergyReadingWh"],
        discharged_wh=info.get("BPT_DischargedEnergyReadingWh"), capacitive_varh=info.get("CapacitiveEnergyReadingVARh"),
        inductive_varh=info.get("BPT_InductiveEnergyReadingVARh"), meter_status=info.get("MeterStatus"),
        meter_timestamp=info.get("MeterTimestamp"), meter_signature=info["MeterSignature"]), meter.public_key_der())
    receipts = meter.journal.receipts(sid)
    assert len(receipts) == 1 and receipts[0].exi[:1] == b"\x80"
    assert meter.journal.session_state(sid) == "sealed"


@pytest.mark.parametrize("service", ["ac", "dc", "ac_bpt", "dc_bpt"])
async def test_the_meter_info_the_ev_receives_verifies_in_every_service(meter, service):
    """The MeterSignature covers exactly the fields sent: without BPT the BPT_ readings are not applicable
    ([V2G20-1313] Table 101), so they are absent AND unsigned."""
    from metering import MeterInfo, verify_meter_info
    station = Station(SeccConfig(), lambda cfg: metered_connector(SimulatedCharger(cfg.charger), meter))
    async with SeccServer(station) as server:
        ev = Evcc(EvConfig(service=service, loop_period=0.02, charge_loops=4, discharge_loops=2))
        summary = await run_session(ev, "::1", server.port)
        await asyncio.sleep(0.05)
    assert summary["outcome"] == "completed"
    info = ev.ctx.last_meter_info
    assert ("BPT_DischargedEnergyReadingWh" in info) == service.endswith("_bpt")
    verify_meter_info(MeterInfo(
        meter_id=info["MeterID"], charged_wh=info["ChargedEnergyReadingWh"],
        discharged_wh=info.get("BPT_DischargedEnergyReadingWh"), capacitive_varh=info.get("CapacitiveEnergyReadingVARh"),
        inductive_varh=info.get("BPT_InductiveEnergyReadingVARh"), meter_status=info.get("MeterStatus"),
        meter_timestamp=info.get("MeterTimestamp"), meter_signature=info["MeterSignature"]), meter.public_key_der())


@pytest.mark.parametrize("service, current_type", [("ac", "AC"), ("ac_bpt", "AC"), ("dc", "DC"), ("dc_bpt", "DC")])
async def test_ocmf_records_carry_the_sessions_supply_as_reading_type(meter, service, current_type):
    """OCMF RT (facts/metering.md §1.3) is the selected service's supply: DC for dc/dc_bpt, AC for ac/ac_bpt."""
    from pyocmf import OCMF
    station = Station(SeccConfig(), lambda cfg: metered_connector(SimulatedCharger(cfg.charger), meter))
    async with SeccServer(station) as server:
        ev = Evcc(EvConfig(service=service, loop_period=0.02, charge_loops=3, discharge_loops=2))
        summary = await run_session(ev, "::1", server.port)
        await asyncio.sleep(0.05)
    assert summary["outcome"] == "completed"
    records = [OCMF.from_string(r.ocmf) for r in meter.session_readings(summary["session_id"])]
    assert records[0].payload.RD[0].TX.value == "B" and records[-1].payload.RD[-1].TX.value == "E"
    key = meter.public_key_der().hex()
    assert all(r.verify_signature(key) for r in records)
    assert {rd.RT.value for r in records for rd in r.payload.RD} == {current_type}
