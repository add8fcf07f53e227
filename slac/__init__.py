"""SLAC (ISO 15118-3) over HomePlug Green PHY: frames, EVSE/PEV machines, virtual PLC modem, link quality.

Matching (sans-I/O machines `SlacEvse` / `SlacPev`, driven by `run_evse` / `run_pev` over a `FrameLink`):

    result = await run_pev(RawEthernetLink("eth1"), SlacConfig())       # Matched | MatchFailed

Virtual powerline in-process (the demo; no root needed with memory links, no sockets at all):

    async with AsyncPowerline(PowerlineConfig()) as plc:
        ev_link = plc.attach_memory("ev", "02:00:00:00:00:01")
        evse_link = plc.attach_memory("evse", "02:00:00:00:00:02", attenuation_db=8)
        evse = asyncio.create_task(run_evse(evse_link, SlacConfig.shortened()))
        matched = await run_pev(ev_link, SlacConfig.shortened())
        plc.core.set_snr(evse_link.port, 12)   # faults: set_snr / cut / silence; PowerlineConfig.drop, .noise

With root, `plc.attach_interface(ifname, "ev"|"evse")` plays the modem of the host behind a (veth)
interface instead, and forwards IPv6 between hosts in the same AVLN (after the match).

One modem per process (`v2g slac modem -i IFACE --wire IFACE`), the powerline a bridge all `--wire`s share:

    async with AsyncWireModem("veth-host", "veth-wire", WireModemConfig(attenuation_db=6)) as modem:
        ...                                    # sans-I/O core: modem.core (WireModem around a VirtualModem)

PLC link monitor (what the SECC runs beside a session; raises `PlcLinkLost`, code PLC_LINK_LOST, when the
mean SNR stays below `threshold_db` (20 dB) for `hold_time`, or the modem stops answering):

    monitor_link = plc.open_memory_link(evse_link.port)       # or a second RawEthernetLink(ifname)
    watcher = asyncio.create_task(watch_link(monitor_link, LinkMonitorConfig(hold_time=2.0)))
    ...                                                       # await/poll it; cancel it at session end
The sans-I/O core is `LinkMonitor` (`on_snr(db, now)`, `on_no_answer(now)` -> `LinkLost | None`).
Modem queries: `read_stats(link)`, `read_snr(link)` (SNR per carrier group from the receive tone map).
"""
from slac.aio import run_evse, run_machine, run_pev
from slac.config import SlacConfig
from slac.errors import FrameError, ModemError, PlcLinkLost, SlacError
from slac.evse import SlacEvse
from slac.frames import build_frame, parse_frame
from slac.keys import new_nmk, nid_from_nmk, nmk_from_password
from slac.link import FrameLink, MemoryLink, RawEthernetLink
from slac.modem import ModemStats, SnrReading, read_snr, read_stats
from slac.monitor import LinkLost, LinkMonitor, LinkMonitorConfig, watch_link
from slac.machine import AttemptFailed, FrameRejected, Matched, MatchFailed, Send, ToggleRequest
from slac.pev import SlacPev
from slac.powerline import Powerline, PowerlineConfig
from slac.powerline_aio import AsyncPowerline
from slac.virtual_modem import ModemConfig, VirtualModem
from slac.wire import WireModem, WireModemConfig
from slac.wire_aio import AsyncWireModem

__all__ = [
    "AsyncPowerline", "AsyncWireModem", "AttemptFailed", "ModemConfig", "VirtualModem", "WireModem",
    "WireModemConfig", "LinkLost", "LinkMonitor", "LinkMonitorConfig", "ModemStats",
    "SnrReading", "read_snr", "read_stats", "watch_link", "FrameError", "FrameLink", "FrameRejected", "MatchFailed", "Matched",
    "MemoryLink", "ModemError", "PlcLinkLost", "Powerline", "PowerlineConfig", "RawEthernetLink", "Send",
    "SlacConfig", "SlacError", "SlacEvse", "SlacPev", "ToggleRequest", "build_frame", "new_nmk",
    "nid_from_nmk", "nmk_from_password", "parse_frame", "run_evse", "run_machine", "run_pev",
]
