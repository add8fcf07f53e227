"""Qualcomm (QCA7000/7005-class) vendor MMEs a host uses to read its modem (facts/slac.md §8).

MMV 0 messages: header MMV(1) MMTYPE(2) OUI(3), payload at offset 20. MMV 1 messages carry FMSN/FMID
before the OUI, payload at 22. Requests go to the local modem address 00:B0:52:00:00:01.
Also: the SNR of a receive tone map (open-plc-utils SignalToNoise2.c) grouped into the 58 SLAC groups.
"""
from __future__ import annotations

from scapy.fields import (
    ByteEnumField,
    ByteField,
    ConditionalField,
    FieldLenField,
    LEIntField,
    LELongField,
    LEShortField,
    MACField,
    PacketListField,
    StrField,
    StrFixedLenField,
    StrLenField,
    X3BytesField,
    XLEIntField,
    XStrFixedLenField,
)

from slac.frames import SLAC_GROUPS, StrictLayer, register

QCA_OUI = 0x00B052
DEVICE_CLASSES = {0x20: "QCA74x0", 0x21: "QCA6410", 0x22: "QCA7000/7005"}
ROLES = {0: "STA", 1: "PCO", 2: "CCO"}
DIRECTIONS = {0: "tx", 1: "rx", 2: "both"}


class VendorMessage(StrictLayer):
    mmv = 0
    mmtype = 0


def _oui() -> list:
    return [X3BytesField("oui", QCA_OUI)]


@register
class VsSwVerReq(VendorMessage):
    name, mmtype = "VS_SW_VER.REQ", 0xA000
    fields_desc = _oui() + [XLEIntField("cookie", 0)]


@register
class VsSwVerCnf(VendorMessage):
    name, mmtype = "VS_SW_VER.CNF", 0xA001
    fields_desc = _oui() + [
        ByteField("mstatus", 0),
        ByteEnumField("device_class", 0x22, DEVICE_CLASSES),
        ByteField("version_length", 0),
        StrFixedLenField("version", b"", 254),  # NUL-terminated, NUL-padded
        XLEIntField("ident", 0x001B58DC),  # QCA7000
        XLEIntField("stepping", 0),
        XLEIntField("cookie", 0),
        XStrFixedLenField("reserved", b"\x00" * 24, 24),
    ]


@register
class VsPlLinkStatusReq(VendorMessage):
    name, mmtype = "VS_PL_LINK_STATUS.REQ", 0xA0B8
    fields_desc = _oui()


@register
class VsPlLinkStatusCnf(VendorMessage):
    name, mmtype = "VS_PL_LINK_STATUS.CNF", 0xA0B9
    fields_desc = _oui() + [ByteField("mstatus", 0), ByteField("link_status", 0)]  # 1 = in an AVLN with a peer


@register
class VsNwInfoReq(VendorMessage):
    name, mmv, mmtype = "VS_NW_INFO.REQ", 1, 0xA038
    fields_desc = _oui()


class NwInfoStation(StrictLayer):
    name = "station"
    fields_desc = [
        MACField("mac", "00:00:00:00:00:00"),
        ByteField("tei", 0),
        XStrFixedLenField("reserved1", b"\x00" * 3, 3),
        MACField("bda", "00:00:00:00:00:00"),
        LEShortField("avg_tx_mbps", 0),
        ByteField("coupling", 0),
        ByteField("reserved2", 0),
        LEShortField("avg_rx_mbps", 0),
        LEShortField("reserved3", 0),
    ]


class NwInfoNetwork(StrictLayer):
    name = "network"
    fields_desc = [
        XStrFixedLenField("nid", b"\x00" * 7, 7),
        XStrFixedLenField("reserved1", b"\x00" * 2, 2),
        ByteField("snid", 0),
        ByteField("tei", 0),
        XStrFixedLenField("reserved2", b"\x00" * 4, 4),
        ByteEnumField("role", 0, ROLES),
        MACField("cco_mac", "00:00:00:00:00:00"),
        ByteField("cco_tei", 0),
        XStrFixedLenField("reserved3", b"\x00" * 3, 3),
        FieldLenField("num_stas", None, fmt="B", count_of="stations"),
        XStrFixedLenField("reserved4", b"\x00" * 5, 5),
        PacketListField("stations", [], NwInfoStation, count_from=lambda p: p.num_stas),
    ]


@register
class VsNwInfoCnf(VendorMessage):
    name, mmv, mmtype = "VS_NW_INFO.CNF", 1, 0xA039
    fields_desc = _oui() + [
        ByteField("sub_version", 0),
        ByteField("reserved1", 0),
        LEShortField("data_len", 0),
        ByteField("reserved2", 0),
        FieldLenField("num_avlns", None, fmt="B", count_of="networks"),
        PacketListField("networks", [], NwInfoNetwork, count_from=lambda p: p.num_avlns),
    ]


@register
# `direction` is a scapy Packet attribute (sent/received), hence `stats_direction` for the DIRECTION byte.
class VsLnkStatsReq(VendorMessage):
    name, mmtype = "VS_LNK_STATS.REQ", 0xA030
    fields_desc = _oui() + [
        ByteField("mcontrol", 0),
        ByteEnumField("stats_direction", 2, DIRECTIONS),
        ByteField("lid", 0),
        MACField("peer_mac", "00:00:00:00:00:00"),
    ]


class RxInterval(StrictLayer):
    name = "rx interval"
    fields_desc = [ByteField("phy_rate_mbps", 0), LELongField("pbs_pass", 0), LELongField("pbs_fail", 0),
                   LELongField("ber_pass", 0), LELongField("ber_fail", 0)]


def _tx(field):
    return ConditionalField(field, lambda p: p.stats_direction in (0, 2))


def _rx(field):
    return ConditionalField(field, lambda p: p.stats_direction in (1, 2))


@register
class VsLnkStatsCnf(VendorMessage):
    name, mmtype = "VS_LNK_STATS.CNF", 0xA031
    fields_desc = _oui() + [
        ByteField("mstatus", 0),
        ByteEnumField("stats_direction", 2, DIRECTIONS),
        ByteField("lid", 0),
        ByteField("tei", 0),
        _tx(LELongField("tx_mpdu_acked", 0)), _tx(LELongField("tx_mpdu_collisions", 0)),
        _tx(LELongField("tx_mpdu_failed", 0)), _tx(LELongField("tx_pbs_passed", 0)),
        _tx(LELongField("tx_pbs_failed", 0)),
        _rx(LELongField("rx_mpdu_acked", 0)), _rx(LELongField("rx_mpdu_failed", 0)),
        _rx(LELongField("rx_pbs_passed", 0)), _rx(LELongField("rx_pbs_failed", 0)),
        _rx(LELongField("rx_turbo_ber_passed", 0)), _rx(LELongField("rx_turbo_ber_failed", 0)),
        _rx(FieldLenField("num_rx_intervals", None, fmt="B", count_of="rx_intervals")),
        _rx(PacketListField("rx_intervals", [], RxInterval, count_from=lambda p: p.num_rx_intervals)),
    ]


@register
class VsRxToneMapCharReq(VendorMessage):
    name, mmv, mmtype = "VS_RX_TONE_MAP_CHAR.REQ", 1, 0xA090
    fields_desc = _oui() + [
        ByteField("sub_version", 0),
        XStrFixedLenField("reserved", b"\x00" * 3, 3),
        MACField("peer_mac", "00:00:00:00:00:00"),
        ByteField("tm_slot", 0),
        ByteField("coupling", 0),
    ]


@register
class VsRxToneMapCharCnf(VendorMessage):
    name, mmv, mmtype = "VS_RX_TONE_MAP_CHAR.CNF", 1, 0xA091
    fields_desc = _oui() + [
        ByteField("mstatus", 0),
        ByteField("reserved1", 0),
        LEShortField("mme_len", 0),
        ByteField("sub_version", 0),
        ByteField("reserved2", 0),
        MACField("peer_mac", "00:00:00:00:00:00"),
        ByteField("tm_slot", 0),
        ByteField("coupling", 0),
        ByteField("num_tms", 1),
        ByteField("reserved3", 0),
        LEShortField("num_carriers", 0),
        LEIntField("reserved4", 0),
        ByteField("gil", 0),
        ByteField("reserved5", 0),
        ByteField("agc", 0),
        ByteField("reserved6", 0),
        # 4 bits per carrier, low nibble = even carrier.
        StrLenField("mod_carrier", b"", length_from=lambda p: (p.num_carriers + 1) // 2),
    ]


@register
class VsUndocumentedA14EInd(VendorMessage):
    """Undocumented broadcast QCA EVSE modems send during sounding (facts §6); peers must ignore it."""

    name, mmtype = "VS_ATTEN_CHAR_UNSOLICITED.IND", 0xA14E
    fields_desc = _oui() + [StrField("data", b"")]


# Modulation index -> SNR in dB (open-plc-utils SignalToNoise2.c): index 0..8 = 0,1,2,3,4,6,8,10,12 bits.
MODULATION_SNR_DB = (0, 2, 4, 7, 10, 16, 22, 28, 36)
GREEN_PHY_CARRIERS = 917  # usable carriers in 1.8-30 MHz


def carrier_groups(num_carriers: int = GREEN_PHY_CARRIERS) -> list[range]:
    """58 groups of adjacent carriers, as evenly sized as the carrier count allows (facts §5.3: ~16 each)."""
    edges = [round(g * num_carriers / SLAC_GROUPS) for g in range(SLAC_GROUPS + 1)]
    return [range(edges[g], edges[g + 1]) for g in range(SLAC_GROUPS)]


def unpack_modulations(mod_carrier: bytes, num_carriers: int) -> list[int]:
    mods = []
    for byte in mod_carrier:
        mods += [byte & 0x0F, byte >> 4]
    return mods[:num_carriers]


def pack_modulations(mods: list[int]) -> bytes:
    padded = list(mods) + [0] * (len(mods) % 2)
    return bytes(padded[i] | (padded[i + 1] << 4) for i in range(0, len(padded), 2))


def modulation_for_snr(snr_db: float) -> int:
    """The densest modulation whose SNR requirement `snr_db` meets (what a modem's bit loading would pick)."""
    return max(i for i, need in enumerate(MODULATION_SNR_DB) if snr_db >= need)


def snr_per_group(mod_carrier: bytes, num_carriers: int) -> list[float]:
    """Average SNR (dB) of each of the 58 carrier groups of a tone map."""
    mods = unpack_modulations(mod_carrier, num_carriers)
    snr = [MODULATION_SNR_DB[min(m, len(MODULATION_SNR_DB) - 1)] for m in mods]
    return [round(sum(snr[c] for c in grp) / len(grp), 1) if len(grp) else 0.0
            for grp in carrier_groups(len(mods))]
