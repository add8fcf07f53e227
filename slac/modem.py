"""Reading the local PLC modem through Qualcomm vendor MMEs (virtual or a real QCA7000-class modem).

`await query(link, request, reply_type)` sends one request to 00:B0:52:00:00:01 and returns the first reply
of that type; `await read_snr(link)` and `await read_stats(link)` build on it.
"""
from __future__ import annotations

import asyncio
import statistics
from dataclasses import asdict, dataclass, field

from scapy.packet import Packet

from slac.errors import FrameError, ModemError
from slac.frames import LOCAL_MODEM, build_frame, message_of, parse_frame
from slac.link import FrameLink
from slac.vendor import (
    DEVICE_CLASSES,
    VsLnkStatsCnf,
    VsLnkStatsReq,
    VsNwInfoCnf,
    VsNwInfoReq,
    VsPlLinkStatusCnf,
    VsPlLinkStatusReq,
    VsRxToneMapCharCnf,
    VsRxToneMapCharReq,
    VsSwVerCnf,
    VsSwVerReq,
    snr_per_group,
)


async def query(link: FrameLink, request: Packet, reply_type: type[Packet], timeout: float = 0.5) -> Packet:
    link.send(build_frame(request, link.mac, LOCAL_MODEM))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (left := deadline - loop.time()) > 0:
        try:
            # asyncio.timeout, not wait_for: Python 3.11's wait_for returns a reply that completes in the same
            # loop turn as a cancellation and drops the cancellation (the link monitor then never stopped).
            async with asyncio.timeout(left):
                frame = await link.recv()
        except TimeoutError:
            break
        try:
            msg = message_of(parse_frame(frame))
        except FrameError:
            continue
        if isinstance(msg, reply_type):
            return msg
    raise ModemError(f"modem did not answer {request.name} within {timeout} s")


@dataclass
class Station:
    mac: str
    host_mac: str
    avg_tx_mbps: int
    avg_rx_mbps: int


@dataclass
class SnrReading:
    peer_mac: str | None
    per_group_db: list[float]

    @property
    def mean_db(self) -> float:
        return round(statistics.fmean(self.per_group_db), 2) if self.per_group_db else 0.0


@dataclass
class ModemStats:
    version: str
    device_class: str
    link_up: bool
    nid: str | None
    stations: list[Station] = field(default_factory=list)
    snr: SnrReading | None = None
    tx_frames: int = 0
    rx_frames: int = 0

    def to_dict(self) -> dict:
        data = asdict(self)
        data["snr_mean_db"] = self.snr.mean_db if self.snr else None
        return data


async def read_stations(link: FrameLink, timeout: float = 0.5) -> tuple[str | None, list[Station]]:
    info = await query(link, VsNwInfoReq(), VsNwInfoCnf, timeout)
    if not info.networks:
        return None, []
    net = info.networks[0]
    return bytes(net.nid).hex(), [Station(s.mac, s.bda, s.avg_tx_mbps, s.avg_rx_mbps) for s in net.stations]


async def read_snr(link: FrameLink, peer_mac: str | None = None, timeout: float = 0.5) -> SnrReading:
    """SNR per carrier group of the receive tone map for `peer_mac` (default: the first station of the
    AVLN). No peer means no tone map: SNR 0 in every group."""
    if peer_mac is None:
        _, stations = await read_stations(link, timeout)
        if not stations:
            return SnrReading(None, [0.0] * 58)
        peer_mac = stations[0].mac
    cnf = await query(link, VsRxToneMapCharReq(peer_mac=peer_mac), VsRxToneMapCharCnf, timeout)
    return SnrReading(peer_mac, snr_per_group(bytes(cnf.mod_carrier), cnf.num_carriers))


async def read_stats(link: FrameLink, timeout: float = 0.5) -> ModemStats:
    ver = await query(link, VsSwVerReq(), VsSwVerCnf, timeout)
    status = await query(link, VsPlLinkStatusReq(), VsPlLinkStatusCnf, timeout)
    nid, stations = await read_stations(link, timeout)
    counters = await query(link, VsLnkStatsReq(stats_direction=2), VsLnkStatsCnf, timeout)
    snr = await read_snr(link, stations[0].mac, timeout) if stations else None
    return ModemStats(
        version=bytes(ver.version).split(b"\x00")[0].decode(errors="replace"),
        device_class=DEVICE_CLASSES.get(ver.device_class, f"0x{ver.device_class:02X}"),
        link_up=status.link_status == 1, nid=nid, stations=stations, snr=snr,
        tx_frames=counters.tx_mpdu_acked, rx_frames=counters.rx_mpdu_acked)
