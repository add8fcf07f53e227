"""PLC link monitor: poll the modem's SNR during a session; the link is lost (`PLC_LINK_LOST`) when the
mean SNR stays below `threshold_db` for `hold_time`, or the modem stops answering for `hold_time`.

Sans-I/O core `LinkMonitor` (feed it readings, ask it when to poll) and the asyncio driver `watch_link`,
which raises `PlcLinkLost` — the SECC runs it beside the session and aborts and seals when it raises.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from slac.errors import ModemError, PlcLinkLost
from slac.link import FrameLink
from slac.modem import SnrReading, read_snr
from v2gbase.config import load_dataclass
from v2gbase.jsonlog import log_json

log = logging.getLogger("slac.monitor")


@dataclass(frozen=True)
class LinkMonitorConfig:
    threshold_db: float = 20.0
    hold_time: float = 2.0       # how long the SNR may stay low (or the modem silent) before the link is lost
    poll_interval: float = 0.5
    response_timeout: float = 0.3

    @classmethod
    def load(cls, path: str | Path, **overrides: Any) -> "LinkMonitorConfig":
        return load_dataclass(cls, path, **overrides)


@dataclass(frozen=True)
class LinkLost:
    reason: str
    snr_db: float | None

    def error(self) -> PlcLinkLost:
        return PlcLinkLost(self.reason)


class LinkMonitor:
    def __init__(self, config: LinkMonitorConfig | None = None, now: float = 0.0) -> None:
        self.config = config or LinkMonitorConfig()
        self._low_since: float | None = None
        self._last_answer = now
        self._next_poll = now

    def next_poll(self) -> float:
        return self._next_poll

    def on_snr(self, snr_db: float, now: float) -> LinkLost | None:
        self._last_answer = now
        self._next_poll = now + self.config.poll_interval
        if snr_db >= self.config.threshold_db:
            self._low_since = None
            return None
        self._low_since = self._low_since if self._low_since is not None else now
        if now - self._low_since >= self.config.hold_time:
            return LinkLost(f"SNR {snr_db} dB below {self.config.threshold_db} dB for "
                            f"{now - self._low_since:.1f} s", snr_db)
        return None

    def on_no_answer(self, now: float) -> LinkLost | None:
        self._next_poll = now + self.config.poll_interval
        if now - self._last_answer >= self.config.hold_time:
            return LinkLost(f"modem silent for {now - self._last_answer:.1f} s", None)
        return None


async def watch_link(link: FrameLink, config: LinkMonitorConfig | None = None, *, peer_mac: str | None = None,
                     on_reading: Callable[[SnrReading], None] | None = None) -> None:
    """Poll until the link is lost, then raise `PlcLinkLost` (never returns normally; cancel to stop).

    `link` must be a link of its own to the local modem (a second `RawEthernetLink` on the interface, or
    `AsyncPowerline.open_memory_link`), so the monitor does not steal frames from the SLAC/IP stack.
    """
    loop = asyncio.get_running_loop()
    monitor = LinkMonitor(config, loop.time())
    while True:
        await asyncio.sleep(max(0.0, monitor.next_poll() - loop.time()))
        try:
            reading = await read_snr(link, peer_mac, monitor.config.response_timeout)
        except ModemError:
            lost = monitor.on_no_answer(loop.time())
        else:
            if on_reading:
                on_reading(reading)
            lost = monitor.on_snr(reading.mean_db, loop.time())
        if lost:
            log_json(log, logging.WARNING, {"event": "LinkLost", "code": PlcLinkLost.code, "reason": lost.reason,
                                            "snr_db": lost.snr_db})
            raise lost.error()
