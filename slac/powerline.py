"""Virtual powerline, sans-I/O: one virtual PLC modem per attached host, and the medium between them.

Each port is one host's modem (facts/slac.md §6). Frames a host sends to its modem (CM_SET_KEY.REQ, the
Qualcomm vendor queries, addressed to 00:B0:52:00:00:01) are answered by that modem; everything else goes
onto the medium: SLAC management frames reach every other host (as unassociated stations hear each other),
data frames (IPv6 etc.) only hosts whose modems hold the same NMK (same AVLN: the link is "up" after the
EV loaded the NMK from CM_SLAC_MATCH.CNF). Each CM_MNBC_SOUND.IND an EVSE host's modem hears is passed up
and followed by a CM_ATTEN_PROFILE.IND with that port's attenuation (sound first: pyslac reads them strictly
alternating). Faults: frame drop probability, QCA 0xA14E noise frames during sounding, per-port SNR, a cut
link (modem answers, medium gone) and a silent modem (answers nothing).

`receive(port, frame, now)` returns `Delivery`s; the asyncio driver (`powerline_aio.py`) moves the bytes.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scapy.packet import Packet

from slac.errors import FrameError
from slac.frames import (
    BROADCAST,
    ETH_P_HPAV,
    LOCAL_MODEM,
    SLAC_GROUPS,
    CmAttenProfileInd,
    CmMnbcSoundInd,
    CmSetKeyCnf,
    CmSetKeyReq,
    build_frame,
    message_of,
    parse_frame,
)
from slac.keys import new_nmk, nid_from_nmk
from slac.vendor import (
    GREEN_PHY_CARRIERS,
    NwInfoNetwork,
    NwInfoStation,
    VendorMessage,
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
    VsUndocumentedA14EInd,
    carrier_groups,
    modulation_for_snr,
    pack_modulations,
)
from v2gbase.config import load_dataclass

VIRTUAL_FIRMWARE = "MAC-QCA7000-V2G-VIRTUAL-1.0"


@dataclass
class PowerlineConfig:
    default_attenuation_db: float = 8.0  # mean of the profiles an EVSE port reports (below the direct limit)
    attenuation_tilt_db: float = 10.0    # spread across the 58 groups (higher carriers attenuate more)
    snr_db: float = 30.0                 # per carrier group, reported in the receive tone map
    drop: float = 0.0                    # probability of losing a frame on the medium
    drop_scope: str = "all"              # "all" or "sounding" (only M-sounds and attenuation profiles)
    noise: bool = False                  # QCA 0xA14E vendor broadcasts during sounding (facts §6)
    set_key_result: int = 0x01           # QCA firmware reports success as 0x01 (facts §7)
    isolate_networks: bool = True        # data frames only between modems holding the same NMK
    seed: int | None = None

    @classmethod
    def load(cls, path: str | Path, **overrides: Any) -> "PowerlineConfig":
        return load_dataclass(cls, path, **overrides)


@dataclass(frozen=True)
class Delivery:
    port: str
    frame: bytes
    forwarded: bool  # the sender's bytes unchanged (the raw-socket driver keeps their offload metadata)


@dataclass
class ModemPort:
    name: str
    role: str  # "ev" or "evse"
    modem_mac: str
    attenuation_db: float
    snr_db: list[float]
    host_mac: str | None = None
    nmk: bytes = field(default_factory=new_nmk)  # a host sets a random private key at start-up (facts §5.2)
    cut: bool = False
    silent: bool = False
    counters: dict[str, int] = field(default_factory=lambda: {"tx": 0, "rx": 0, "dropped": 0, "profiles": 0})

    @property
    def nid(self) -> bytes:
        return nid_from_nmk(self.nmk)


class Powerline:
    def __init__(self, config: PowerlineConfig | None = None) -> None:
        self.config = config or PowerlineConfig()
        self.ports: dict[str, ModemPort] = {}
        self._rng = random.Random(self.config.seed)

    def attach(self, name: str, role: str, *, attenuation_db: float | None = None,
               host_mac: str | None = None) -> ModemPort:
        if role not in ("ev", "evse"):
            raise ValueError(f"role must be 'ev' or 'evse', not {role!r}")
        index = len(self.ports) + 1
        port = ModemPort(name, role, f"00:b0:52:00:01:{index:02x}",
                         self.config.default_attenuation_db if attenuation_db is None else attenuation_db,
                         [self.config.snr_db] * SLAC_GROUPS, host_mac.lower() if host_mac else None)
        self.ports[name] = port
        return port

    # -- faults ------------------------------------------------------------------------------------------
    def set_snr(self, name: str, snr_db: float | list[float]) -> None:
        values = list(snr_db) if isinstance(snr_db, list) else [snr_db] * SLAC_GROUPS
        self.ports[name].snr_db = values

    def cut(self, name: str, cut: bool = True) -> None:
        self.ports[name].cut = cut

    def silence(self, name: str, silent: bool = True) -> None:
        self.ports[name].silent = silent

    # -- frames ------------------------------------------------------------------------------------------
    def receive(self, name: str, frame: bytes, now: float) -> list[Delivery]:
        port = self.ports[name]
        if port.silent or len(frame) < 14:
            return []
        dst, src = _mac(frame[0:6]), _mac(frame[6:12])
        port.host_mac = src
        port.counters["tx"] += 1
        if int.from_bytes(frame[12:14], "big") != ETH_P_HPAV:
            return [] if port.cut else self._forward(port, frame, dst, data=True)
        try:
            msg = message_of(parse_frame(frame))
        except FrameError:
            msg = None
        if msg is not None and (dst in (LOCAL_MODEM, port.modem_mac)
                                or isinstance(msg, (CmSetKeyReq, VendorMessage)) and not _is_cnf(msg)):
            return self._answer(port, msg)
        if port.cut:
            return []
        deliveries = self._forward(port, frame, dst, data=False, sounding=isinstance(msg, CmMnbcSoundInd))
        if isinstance(msg, CmMnbcSoundInd):
            for other in self._others(port):
                if other.role == "evse":
                    deliveries += self._profile(other, src)
        return deliveries

    def _others(self, port: ModemPort) -> list[ModemPort]:
        return [p for p in self.ports.values() if p is not port and not p.cut and not p.silent]

    def _forward(self, port: ModemPort, frame: bytes, dst: str, *, data: bool,
                 sounding: bool = False) -> list[Delivery]:
        peers = self._others(port)
        if data and self.config.isolate_networks:
            peers = [p for p in peers if p.nmk == port.nmk]
        if not int(dst.split(":")[0], 16) & 1:  # unicast: the host that owns the address, if known
            owners = [p for p in peers if p.host_mac == dst]
            peers = owners or peers
        return [d for p in peers for d in self._carry(p, frame, forwarded=True, sounding=sounding)]

    def _carry(self, port: ModemPort, frame: bytes, *, forwarded: bool, sounding: bool) -> list[Delivery]:
        if self.config.drop and (sounding or self.config.drop_scope == "all") \
                and self._rng.random() < self.config.drop:
            port.counters["dropped"] += 1
            return []
        port.counters["rx"] += 1
        return [Delivery(port.name, frame, forwarded)]

    def attenuation_profile(self, port: ModemPort) -> list[int]:
        """58 AAG values whose mean is the port's attenuation, rising across the band, ±1 dB jitter."""
        tilt = self.config.attenuation_tilt_db
        return [max(0, min(255, round(port.attenuation_db + tilt * (g / (SLAC_GROUPS - 1) - 0.5)
                                      + self._rng.uniform(-1, 1))))
                for g in range(SLAC_GROUPS)]

    def _profile(self, port: ModemPort, pev_mac: str) -> list[Delivery]:
        host = port.host_mac or BROADCAST
        frames = []
        if self.config.noise:
            noise = VsUndocumentedA14EInd(data=bytes(self._rng.getrandbits(8) for _ in range(40)))
            frames += self._carry(port, build_frame(noise, port.modem_mac, BROADCAST), forwarded=False,
                                  sounding=False)
        profile = CmAttenProfileInd(pev_mac=pev_mac, aag=self.attenuation_profile(port))
        delivered = self._carry(port, build_frame(profile, port.modem_mac, host), forwarded=False, sounding=True)
        port.counters["profiles"] += len(delivered)
        return frames + delivered

    # -- the modem answering its own host ---------------------------------------------------------------
    def _answer(self, port: ModemPort, msg: Packet) -> list[Delivery]:
        reply = self._reply(port, msg)
        if reply is None:
            return []
        return [Delivery(port.name, build_frame(reply, port.modem_mac, port.host_mac), False)]

    def _reply(self, port: ModemPort, msg: Packet) -> Packet | None:
        if isinstance(msg, CmSetKeyReq):
            port.nmk = bytes(msg.new_key)
            return CmSetKeyCnf(result=self.config.set_key_result, my_nonce=b"\x00" * 4, your_nonce=msg.my_nonce,
                               pid=msg.pid, prn=msg.prn, pmn=msg.pmn)
        if isinstance(msg, VsSwVerReq):
            version = VIRTUAL_FIRMWARE.encode()
            return VsSwVerCnf(version_length=len(version) + 1, version=version, cookie=msg.cookie)
        peers = self._avln_peers(port)
        if isinstance(msg, VsPlLinkStatusReq):
            return VsPlLinkStatusCnf(link_status=1 if peers else 0)
        if isinstance(msg, VsNwInfoReq):
            if not peers:
                return VsNwInfoCnf(networks=[])
            stations = [NwInfoStation(mac=p.modem_mac, tei=i + 2, bda=p.host_mac or BROADCAST,
                                      avg_tx_mbps=_phy_rate(port), avg_rx_mbps=_phy_rate(p))
                        for i, p in enumerate(peers)]
            return VsNwInfoCnf(networks=[NwInfoNetwork(nid=port.nid, tei=1, role=2, cco_mac=port.modem_mac,
                                                       cco_tei=1, stations=stations)])
        if isinstance(msg, VsLnkStatsReq):
            c = port.counters
            return VsLnkStatsCnf(stats_direction=msg.stats_direction, lid=msg.lid, tx_mpdu_acked=c["tx"],
                                 rx_mpdu_acked=c["rx"], rx_mpdu_failed=c["dropped"], rx_intervals=[])
        if isinstance(msg, VsRxToneMapCharReq):
            snr = [0.0] * SLAC_GROUPS if port.cut else port.snr_db
            mods = [0] * GREEN_PHY_CARRIERS
            for group, carriers in enumerate(carrier_groups()):
                for c in carriers:
                    mods[c] = modulation_for_snr(snr[group])
            return VsRxToneMapCharCnf(peer_mac=msg.peer_mac, tm_slot=msg.tm_slot, num_carriers=len(mods),
                                      mod_carrier=pack_modulations(mods))
        return None

    def _avln_peers(self, port: ModemPort) -> list[ModemPort]:
        if port.cut:
            return []
        return [p for p in self._others(port) if p.nmk == port.nmk]


def _phy_rate(port: ModemPort) -> int:
    """A Green PHY link runs at most ~10 Mbit/s (ROBO modes); scale it down with the weakest group's SNR."""
    return max(0, min(10, round(min(port.snr_db) / 3)))


def _is_cnf(msg: Packet) -> bool:
    return bool(getattr(msg, "mmtype", 0) & 1)


def _mac(raw: bytes) -> str:
    return ":".join(f"{b:02x}" for b in raw)
