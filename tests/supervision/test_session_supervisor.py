"""SessionSupervisor with a PLC source: SNR readings and slac-style PLC_LINK_LOST errors, one fault per session."""
import asyncio

import pytest

from supervision import PLC_LINK_LOST, SessionSupervisor, SupervisionConfig

pytestmark = pytest.mark.faults


class LinkLost(Exception):
    code = "PLC_LINK_LOST"


class ReadingClock:
    """The supervisor's clock, advanced by one reading period per reading: the hold-time logic is judged on the
    readings' own spacing, not on how promptly a loaded machine wakes the generator."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


async def readings(values, then=None, period=0.005, clock=None, done=None):
    for value in values:
        yield value
        await asyncio.sleep(0)
        if clock is not None:
            clock.now += period
    if done is not None:
        done.set()  # the supervisor asked for the next reading: it has judged every one before
    if then is not None:
        raise then
    await asyncio.sleep(10)


async def run(values, then=None, config=SupervisionConfig(), arm=True):
    """Feed `values` (then raise `then`), wait until the supervisor has judged all of them, return its faults."""
    faults, clock, done = [], ReadingClock(), asyncio.Event()
    plc = readings(values, then, clock=clock, done=done)
    async with SessionSupervisor(plc=plc, on_fault=lambda c, d: faults.append((c, d)), config=config,
                                 clock=clock) as sup:
        if arm:
            sup.begin_session()
        async with asyncio.timeout(5):
            await done.wait()
        for _ in range(3):  # a raised `then` is reported within the supervisor's reading task, turns later
            await asyncio.sleep(0)
    return faults


async def test_snr_below_twenty_db_is_one_plc_link_lost():
    faults = await run([35.0, 28.0, 19.5, 12.0, 8.0])
    assert [c for c, _ in faults] == [PLC_LINK_LOST] and "19.5" in faults[0][1]


async def test_snr_must_stay_low_for_the_hold_time():
    config = SupervisionConfig(snr_hold_s=0.05)
    assert await run([35.0, 15.0, 15.0, 30.0, 30.0], config=config) == []  # low for 2 readings = 10 ms
    assert [c for c, _ in await run([35.0] + [15.0] * 20, config=config)] == [PLC_LINK_LOST]  # 95 ms


async def test_a_monitor_error_with_the_code_is_reported_with_its_message():
    faults = await run([30.0], then=LinkLost("modem gone"))
    assert faults == [(PLC_LINK_LOST, "modem gone")]


async def test_objects_with_an_snr_attribute_are_accepted():
    class Stats:
        def __init__(self, snr_db):
            self.snr_db = snr_db
    assert [c for c, _ in await run([Stats(30.0), Stats(10.0)])] == [PLC_LINK_LOST]


async def test_no_callback_outside_a_session_and_one_per_session_when_both_watchers_fire():
    faults = await run([30.0, 5.0], arm=False)
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
        async with asyncio.timeout(5):
            while not calls:
                await asyncio.sleep(0.005)
        await asyncio.sleep(0.05)  # the raised LinkLost (and the pilot watcher) come later: still one callback
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
                             LinkMonitorConfig(hold_time=0.4, poll_interval=0.02, response_timeout=0.2))
        faults = []
        async with SessionSupervisor(plc=monitor, on_fault=lambda c, d: faults.append(c)) as sup:
            sup.begin_session()
            await asyncio.sleep(0.15)
            assert faults == []  # a healthy 28 dB link
            plc.core.set_snr(evse.port, 12.0)
            async with asyncio.timeout(5):
                while not faults:
                    await asyncio.sleep(0.01)
            await asyncio.sleep(0.1)
    assert faults == [PLC_LINK_LOST]
