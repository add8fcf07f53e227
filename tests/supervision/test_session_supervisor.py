"""SessionSupervisor with a PLC source: SNR readings and slac-style PLC_LINK_LOST errors, one fault per session."""
import asyncio

import pytest

from supervision import PLC_LINK_LOST, SessionSupervisor, SupervisionConfig

pytestmark = pytest.mark.faults


class LinkLost(Exception):
    code = "PLC_LINK_LOST"


async def readings(values, then=None, period=0.005):
    for value in values:
        yield value
        await asyncio.sleep(period)
    if then is not None:
        raise then
    await asyncio.sleep(10)


async def run(plc, config=SupervisionConfig(), arm=True, wait=0.2):
    faults = []
    async with SessionSupervisor(plc=plc, on_fault=lambda c, d: faults.append((c, d)), config=config) as sup:
        if arm:
            sup.begin_session()
        await asyncio.sleep(wait)
    return faults


async def test_snr_below_twenty_db_is_one_plc_link_lost():
    faults = await run(readings([35.0, 28.0, 19.5, 12.0, 8.0]))
    assert [c for c, _ in faults] == [PLC_LINK_LOST] and "19.5" in faults[0][1]


async def test_snr_must_stay_low_for_the_hold_time():
    config = SupervisionConfig(snr_hold_s=0.05)
    assert await run(readings([35.0, 15.0, 15.0, 30.0, 30.0]), config) == []
    assert [c for c, _ in await run(readings([35.0] + [15.0] * 20), config)] == [PLC_LINK_LOST]


async def test_a_monitor_error_with_the_code_is_reported_with_its_message():
    faults = await run(readings([30.0], then=LinkLost("modem gone")))
    assert faults == [(PLC_LINK_LOST, "modem gone")]


async def test_objects_with_an_snr_attribute_are_accepted():
    class Stats:
        def __init__(self, snr_db):
            self.snr_db = snr_db
    assert [c for c, _ in await run(readings([Stats(30.0), Stats(10.0)]))] == [PLC_LINK_LOST]


async def test_no_callback_outside_a_session_and_one_per_session_when_both_watchers_fire():
    faults = await run(readings([30.0, 5.0]), arm=False)
    assert faults == []

    calls = []

    async def on_fault(code, detail):  # async callbacks are awaited
        calls.append(code)

    async def pilot_gone():
        if False:
            yield
        await asyncio.sleep(10)

    config = SupervisionConfig(silence_timeout_s=0.02)
    async with SessionSupervisor(plc=readings([30.0, 5.0, 4.0], then=LinkLost("x")), pilot=pilot_gone(),
                                 on_fault=on_fault, config=config) as sup:
        sup.begin_session()
        await asyncio.sleep(0.1)
        assert calls == [PLC_LINK_LOST]
        sup.end_session()
        sup.begin_session()  # a new session is armed again
        assert sup.fault is None


async def test_slac_link_monitor_plugs_in_and_a_degraded_powerline_is_one_fault():
    from slac import (AsyncPowerline, LinkMonitorConfig, Matched, PowerlineConfig, SlacConfig, run_evse, run_pev,
                      watch_link)
    async with AsyncPowerline(PowerlineConfig(seed=1)) as plc:
        ev = plc.attach_memory("ev", "02:00:00:00:00:01")
        evse = plc.attach_memory("evse", "02:00:00:00:00:02")
        matching = asyncio.create_task(run_evse(evse, SlacConfig.shortened()))
        await asyncio.sleep(0.01)
        assert isinstance(await run_pev(ev, SlacConfig.shortened()), Matched)
        await matching
        monitor = watch_link(plc.open_memory_link(evse.port),
                             LinkMonitorConfig(hold_time=0.1, poll_interval=0.02, response_timeout=0.05))
        faults = []
        async with SessionSupervisor(plc=monitor, on_fault=lambda c, d: faults.append(c)) as sup:
            sup.begin_session()
            await asyncio.sleep(0.15)
            assert faults == []  # a healthy 28 dB link
            plc.core.set_snr(evse.port, 12.0)
            async with asyncio.timeout(2):
                while not faults:
                    await asyncio.sleep(0.01)
            await asyncio.sleep(0.1)
    assert faults == [PLC_LINK_LOST]
