"""PLC link monitor: SNR below threshold or a silent modem for the hold time -> PLC_LINK_LOST."""
from __future__ import annotations

import asyncio

import pytest

from slac import AsyncPowerline, Matched, PlcLinkLost, PowerlineConfig, SlacConfig, run_evse, run_pev
from slac.modem import read_stats
from slac.monitor import LinkMonitor, LinkMonitorConfig, watch_link
from slac.vendor import MODULATION_SNR_DB

CONFIG = LinkMonitorConfig(threshold_db=20.0, hold_time=2.0, poll_interval=0.5)


def test_low_snr_must_last_the_hold_time():
    monitor = LinkMonitor(CONFIG)
    assert monitor.on_snr(28.0, 0.0) is None
    assert monitor.on_snr(12.0, 1.0) is None
    assert monitor.on_snr(12.0, 2.5) is None
    lost = monitor.on_snr(12.0, 3.0)
    assert lost and lost.snr_db == 12.0 and lost.error().code == "PLC_LINK_LOST"


def test_a_good_reading_resets_the_low_snr_clock():
    monitor = LinkMonitor(CONFIG)
    monitor.on_snr(10.0, 0.0)
    monitor.on_snr(25.0, 1.9)
    assert monitor.on_snr(10.0, 2.0) is None and monitor.on_snr(10.0, 3.9) is None


def test_a_silent_modem_is_a_lost_link_after_the_hold_time():
    monitor = LinkMonitor(CONFIG, now=0.0)
    monitor.on_snr(28.0, 1.0)
    assert monitor.on_no_answer(2.0) is None
    assert "silent" in monitor.on_no_answer(3.0).reason


async def _matched_powerline():
    plc = AsyncPowerline(PowerlineConfig(seed=1))
    await plc.__aenter__()
    ev = plc.attach_memory("ev", "02:00:00:00:00:01")
    evse = plc.attach_memory("evse", "02:00:00:00:00:02")
    task = asyncio.create_task(run_evse(evse, SlacConfig.shortened()))
    await asyncio.sleep(0.01)
    assert isinstance(await run_pev(ev, SlacConfig.shortened()), Matched)
    await task
    return plc, evse.port


# Shortened, but a 100-300 ms stall of a loaded machine (a query's answer late, no poll for a while) is not a
# lost link: the hold time outlasts it.
FAST = LinkMonitorConfig(hold_time=0.4, poll_interval=0.03, response_timeout=0.2)


async def test_matched_link_reports_snr_and_stays_up():
    plc, port = await _matched_powerline()
    try:
        stats = await read_stats(plc.open_memory_link(port))
        assert stats.link_up and stats.stations
        # 30 dB configured; the tone map can only say the densest modulation that fits: 28 dB
        assert stats.snr.mean_db == max(s for s in MODULATION_SNR_DB if s <= 30)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(watch_link(plc.open_memory_link(port), FAST), 2 * FAST.hold_time + 0.2)
    finally:
        plc.close()


@pytest.mark.faults
@pytest.mark.parametrize("fault", ["degrade", "cut", "silence"])
async def test_degraded_cut_or_silent_link_raises_plc_link_lost(fault):
    plc, port = await _matched_powerline()
    try:
        watcher = asyncio.create_task(watch_link(plc.open_memory_link(port), FAST))
        await asyncio.sleep(0.1)
        assert not watcher.done()
        {"degrade": lambda: plc.core.set_snr(port, 12.0), "cut": lambda: plc.core.cut(port),
         "silence": lambda: plc.core.silence(port)}[fault]()
        with pytest.raises(PlcLinkLost) as err:
            await asyncio.wait_for(watcher, 5)
        assert err.value.code == "PLC_LINK_LOST"
    finally:
        plc.close()


class _CancelAfterQuery:
    """The monitor's own link: after the monitor's `hops`-th query is sent (the virtual modem answers at once),
    cancel the watcher `hops` loop turns later — sweeping the turn where the reply and the cancellation meet."""

    def __init__(self, link, hops: int) -> None:
        self.link, self.hops, self.mac, self.watcher = link, hops, link.mac, None

    def send(self, frame: bytes) -> None:
        self.link.send(frame)
        loop = asyncio.get_running_loop()

        def hop(left: int) -> None:
            if left:
                loop.call_soon(hop, left - 1)
            else:
                self.watcher.cancel()
        hop(self.hops)

    async def recv(self) -> bytes:
        return await self.link.recv()

    def close(self) -> None:
        self.link.close()


async def test_cancelling_the_watcher_always_stops_it_even_when_a_reply_arrives_in_the_same_turn():
    plc, port = await _matched_powerline()
    try:
        for hops in range(12):
            link = _CancelAfterQuery(plc.open_memory_link(port), hops)
            link.watcher = asyncio.create_task(watch_link(link, FAST))
            done, _ = await asyncio.wait([link.watcher], timeout=0.5)  # a swallowed cancel keeps polling forever
            assert done and link.watcher.cancelled(), f"cancel {hops} loop turns after a query was lost"
    finally:
        plc.close()
