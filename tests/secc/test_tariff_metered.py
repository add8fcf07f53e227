"""With the metering package's Meter: the Receipt is priced from the meter-signed MeterInfo it travels with, and
the MeteringConfirmation the SECC journals carries both (expected amounts worked out here)."""
import asyncio
from fractions import Fraction
from math import floor

import pytest

from iso15118.evcc import EvConfig, Evcc
from iso15118.evcc.client import run_session
from iso15118.secc import SeccConfig, SimulatedCharger, Station
from iso15118.secc.metered import metered_connector
from iso15118.secc.server import SeccServer
from iso15118.session import codec
from iso15118.session.config import Tariff


@pytest.fixture
def meter(tmp_path):
    from metering import Meter, MeterConfig
    m = Meter(MeterConfig(journal_path=str(tmp_path / "journal.sqlite"), key_path=str(tmp_path / "meter.pem")))
    yield m
    m.close()


def _cents(number: dict) -> Fraction:
    return Fraction(number["Value"]) * Fraction(10) ** number["Exponent"] * 100


async def test_receipt_prices_the_signed_meter_info_and_is_journaled_with_it(meter):
    config = SeccConfig(tariff=Tariff(energy_price=9.99, export_credit=5.0))
    station = Station(config, lambda cfg: metered_connector(SimulatedCharger(cfg.charger), meter))
    async with SeccServer(station) as server:
        ev = Evcc(EvConfig(service="dc_bpt", loop_period=0.05, charge_loops=12, discharge_loops=8))
        summary = await run_session(ev, "::1", server.port)
        await asyncio.sleep(0.05)
    assert summary["outcome"] == "completed" and summary["receipts"] and summary["receipts_ok"]
    [journaled] = meter.journal.receipts(summary["session_id"])
    message, _ = codec.decode(0x8002, journaled.exi)
    signed = message["SignedMeteringData"]
    info, receipt = signed["MeterInfo"], signed["Receipt"]
    assert len(info["MeterSignature"]) == 64
    net = Fraction(info["ChargedEnergyReadingWh"] * 999 - info["BPT_DischargedEnergyReadingWh"] * 500, 1000)
    assert _cents(receipt["EnergyCosts"]["Amount"]) == floor(net + Fraction(1, 2))
