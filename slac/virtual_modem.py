"""One virtual HomePlug Green PHY modem (QCA7000-like), sans-I/O: what sits between a host and the medium.

`from_host(frame, peers)` takes a frame the host sent and returns the modem's own answers for the host
(CM_SET_KEY.CNF, the Qualcomm vendor queries addressed to 00:B0:52:00:00:01, facts/slac.md §6–8) and/or the
`Transmission` it puts on the medium. `hear(transmission)` takes what another station sent and returns what
reaches this modem's host: SLAC management frames from any station (unassociated stations hear each other),
data frames only from the same AVLN (same NMK, i.e. same NID), and for each remote CM_MNBC_SOUND.IND the sound
followed by a CM_ATTEN_PROFILE.IND with this modem's attenuation (sound first: pyslac reads them strictly
alternating). Faults: frame loss, QCA 0xA14E noise frames during sounding, SNR, a cut link (the modem
answers, the medium is gone) and a silent modem (answers nothing).

The medium that connects modems is someone else's job: `Powerline` (every modem in one process) or
`WireModem` (one modem per process, the medium an Ethernet segment).
"""
from __future__ import annotations

import functools
import random
from dataclasses import dataclass, field

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
    mac_text,
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

VIRTUAL_FIRMWARE = "MAC-QCA7000-V2G-VIRTUAL-1.0"
DATA, MANAGEMENT, SOUND = "data", "management", "sound"


@dataclass
class ModemConfig:
    attenuation_db: float = 8.0          # mean of the profiles the modem reports (below the direct limit)
    attenuation_tilt_db: float = 10.0    # spread across the 58 groups (higher carriers attenuate more)
    snr_db: float = 30.0                 # per carrier group, reported in the receive tone map
    drop: float = 0.0                    # probability of losing a frame on its way to this modem
    drop_scope: str = "all"              # "all" or "sounding" (only M-sounds and attenuation profiles)
    noise: bool = False                  # QCA 0xA14E vendor broadcasts during sounding (facts §6)
    set_key_result: int = 0x01           # QCA firmware reports success as 0x01 (facts §7)
    isolate_networks: bool = True        # data frames only between modems holding the same NMK
    seed: int | None = None

    def __post_init__(self) -> None:
        for name in ("attenuation_db", "attenuation_tilt_db", "snr_db", "drop"):
            if isinstance(getattr(self, name), bool) or not isinstance(getattr(self, name), (int, float)):
                raise ValueError(f"{name} must be a number, not {getattr(self, name)!r}")
        if not 0.0 <= self.drop <= 1.0:
            raise ValueError(f"drop is a probability (0..1), not {self.drop}")
        if self.drop_scope not in ("all", "sounding"):
            raise ValueError(f"drop_scope must be 'all' or 'sounding', not {self.drop_scope!r}")
        if not 0 <= self.attenuation_db <= 255 or not 0 <= self.set_key_result <= 255:
            raise ValueError("attenuation_db and set_key_result are one byte on the wire (0..255)")


@dataclass(frozen=True)
class Transmission:
    """A host's frame on the medium: `kind` says who may receive it, `nid` the AVLN it is encrypted for."""

    frame: bytes
    kind: str  # DATA, MANAGEMENT or SOUND
    nid: bytes


@dataclass(frozen=True)
class Peer:
    """Another station as a modem sees it: for VS_NW_INFO and the link status."""

    modem_mac: str
    host_mac: str | None
    nid: bytes
    snr_db: float  # weakest carrier group of its receive tone map


@dataclass(frozen=True)
class Delivery:
    port: str
    frame: bytes
    forwarded: bool  # the sender's bytes unchanged (the raw-socket driver keeps their offload metadata)


@dataclass
class VirtualModem:
    name: str
    modem_mac: str
    config: ModemConfig
    rng: random.Random
    attenuation_db: float
    snr_db: list[float]
    host_mac: str | None = None
    nmk: bytes = field(default_factory=new_nmk)  # a host sets a random private key at start-up (facts §5.2)
    cut: bool = False
    silent: bool = False
    counters: dict[str, int] = field(default_factory=lambda: {"tx": 0, "rx": 0, "dropped": 0, "profiles": 0})

    @classmethod
    def create(cls, name: str, modem_mac: str, config: ModemConfig, rng: random.Random | None = None, *,
               attenuation_db: float | None = None, host_mac: str | None = None) -> "VirtualModem":
        return cls(name, modem_mac.lower(), config, rng or random.Random(config.seed),
                   config.attenuation_db if attenuation_db is None else attenuation_db,
                   [config.snr_db] * SLAC_GROUPS, host_mac.lower() if host_mac else None)

    @property
    def nid(self) -> bytes:
        return _nid_of(self.nmk)

    def as_peer(self) -> Peer:
        return Peer(self.modem_mac, self.host_mac, self.nid, min(self.snr_db))

    def set_snr(self, snr_db: float | list[float]) -> None:
        self.snr_db = list(snr_db) if isinstance(snr_db, list) else [snr_db] * SLAC_GROUPS

    # -- the host's side -----------------------------------------------------------------------------------
    def from_host(self, frame: bytes, peers: list[Peer]) -> tuple[list[Delivery], Transmission | None]:
        """The modem's answers to its host, and what it transmits (None: nothing goes onto the medium)."""
        if self.silent or len(frame) < 14:
            return [], None
        dst = mac_text(frame[0:6])
        self.host_mac = mac_text(frame[6:12])
        self.counters["tx"] += 1
        if int.from_bytes(frame[12:14], "big") != ETH_P_HPAV:
            return [], None if self.cut else Transmission(frame, DATA, self.nid)
        try:
            msg = message_of(parse_frame(frame))
        except FrameError:
            msg = None
        if msg is not None and (dst in (LOCAL_MODEM, self.modem_mac)
                                or isinstance(msg, (CmSetKeyReq, VendorMessage)) and not _is_cnf(msg)):
            reply = self._reply(msg, self._avln(peers))
            return ([Delivery(self.name, build_frame(reply, self.modem_mac, self.host_mac), False)]
                    if reply is not None else []), None
        if self.cut:
            return [], None
        return [], Transmission(frame, SOUND if isinstance(msg, CmMnbcSoundInd) else MANAGEMENT, self.nid)

    # -- the medium's side ---------------------------------------------------------------------------------
    def hear(self, tx: Transmission) -> list[Delivery]:
        """What another station's transmission brings to this modem's host."""
        if self.cut or self.silent:
            return []
        if tx.kind == DATA and self.config.isolate_networks and tx.nid != self.nid:
            return []  # another AVLN: the modem cannot decrypt it
        dst = mac_text(tx.frame[0:6])
        if self.host_mac and dst != self.host_mac and not int(dst.split(":")[0], 16) & 1:
            return []  # unicast for another station's host
        deliveries = self._carry(tx.frame, forwarded=True, sounding=tx.kind == SOUND)
        if tx.kind == SOUND:
            deliveries += self._profile(mac_text(tx.frame[6:12]))
        return deliveries

    def _carry(self, frame: bytes, *, forwarded: bool, sounding: bool) -> list[Delivery]:
        if self.config.drop and (sounding or self.config.drop_scope == "all") \
                and self.rng.random() < self.config.drop:
            self.counters["dropped"] += 1
            return []
        self.counters["rx"] += 1
        return [Delivery(self.name, frame, forwarded)]

    def attenuation_profile(self) -> list[int]:
        """58 AAG values whose mean is the modem's attenuation, rising across the band, ±1 dB jitter."""
        tilt = self.config.attenuation_tilt_db
        return [max(0, min(255, round(self.attenuation_db + tilt * (g / (SLAC_GROUPS - 1) - 0.5)
                                      + self.rng.uniform(-1, 1))))
                for g in range(SLAC_GROUPS)]

    def _profile(self, pev_mac: str) -> list[Delivery]:
        host = self.host_mac or BROADCAST
        frames = []
        if self.config.noise:
            noise = VsUndocumentedA14EInd(data=bytes(self.rng.getrandbits(8) for _ in range(40)))
            frames += self._carry(build_frame(noise, self.modem_mac, BROADCAST), forwarded=False, sounding=False)
        profile = CmAttenProfileInd(pev_mac=pev_mac, aag=self.attenuation_profile())
        delivered = self._carry(build_frame(profile, self.modem_mac, host), forwarded=False, sounding=True)
        self.counters["profiles"] += len(delivered)
        return frames + delivered

    # -- answering the host --------------------------------------------------------------------------------
    def _avln(self, peers: list[Peer]) -> list[Peer]:
        """The stations of this modem's AVLN: same NID (same NMK), and a medium to reach them."""
        nid = self.nid
        return [] if self.cut else [p for p in peers if p.nid == nid]

    def _reply(self, msg: Packet, peers: list[Peer]) -> Packet | None:
        if isinstance(msg, CmSetKeyReq):
            self.nmk = bytes(msg.new_key)
            return CmSetKeyCnf(result=self.config.set_key_result, my_nonce=b"\x00" * 4, your_nonce=msg.my_nonce,
                               pid=msg.pid, prn=msg.prn, pmn=msg.pmn)
        if isinstance(msg, VsSwVerReq):
            version = VIRTUAL_FIRMWARE.encode()
            return VsSwVerCnf(version_length=len(version) + 1, version=version, cookie=msg.cookie)
        if isinstance(msg, VsPlLinkStatusReq):
            return VsPlLinkStatusCnf(link_status=1 if peers else 0)
        if isinstance(msg, VsNwInfoReq):
            if not peers:
                return VsNwInfoCnf(networks=[])
            stations = [NwInfoStation(mac=p.modem_mac, tei=i + 2, bda=p.host_mac or BROADCAST,
                                      avg_tx_mbps=_phy_rate(min(self.snr_db)), avg_rx_mbps=_phy_rate(p.snr_db))
                        for i, p in enumerate(peers)]
            return VsNwInfoCnf(networks=[NwInfoNetwork(nid=self.nid, tei=1, role=2, cco_mac=self.modem_mac,
                                                       cco_tei=1, stations=stations)])
        if isinstance(msg, VsLnkStatsReq):
            c = self.counters
            return VsLnkStatsCnf(stats_direction=msg.stats_direction, lid=msg.lid, tx_mpdu_acked=c["tx"],
                                 rx_mpdu_acked=c["rx"], rx_mpdu_failed=c["dropped"], rx_intervals=[])
        if isinstance(msg, VsRxToneMapCharReq):
            snr = [0.0] * SLAC_GROUPS if self.cut else self.snr_db
            mods = [0] * GREEN_PHY_CARRIERS
            for group, carriers in enumerate(carrier_groups()):
                for c in carriers:
                    mods[c] = modulation_for_snr(snr[group])
            return VsRxToneMapCharCnf(peer_mac=msg.peer_mac, tm_slot=msg.tm_slot, num_carriers=len(mods),
                                      mod_carrier=pack_modulations(mods))
        return None


_nid_of = functools.lru_cache(maxsize=16)(nid_from_nmk)  # five SHA-256 rounds; asked for every data frame


def _phy_rate(weakest_snr_db: float) -> int:
    """A Green PHY link runs at most ~10 Mbit/s (ROBO modes); scale it down with the weakest group's SNR."""
    return max(0, min(10, round(weakest_snr_db / 3)))


def _is_cnf(msg: Packet) -> bool:
    return bool(getattr(msg, "mmtype", 0) & 1)
