"""HomePlug AV/GP management frames used by SLAC (ISO 15118-3), declared as scapy layers.

Layouts: facts/slac.md §1–2 (offsets from the frame start; integers little-endian, MACs/IDs/keys in wire
order). `HomePlugAV` is the MME header (MMV, MMTYPE, and FMSN/FMID when MMV >= 1); the message layer
after it is chosen by (MMV, MMTYPE) through `bind_layers`. Vendor (Qualcomm) layers live in `vendor.py` and
use the same header and strict dissection.

Dissection is strict: `parse_frame()` raises `FrameError` naming the byte offset and the field where a frame
ends too early, instead of scapy's default of silently filling a `Raw` layer.
"""
from __future__ import annotations

from scapy.fields import (
    ByteEnumField,
    ByteField,
    ConditionalField,
    FieldLenField,
    FieldListField,
    LEShortField,
    MACField,
    PacketListField,
    StrField,
    StrFixedLenField,
    StrLenField,
    XByteField,
    XStrFixedLenField,
)
from scapy.layers.l2 import Ether
from scapy.packet import Packet, Raw, bind_layers

ETH_P_HPAV = 0x88E1
MIN_FRAME = 60
BROADCAST = "ff:ff:ff:ff:ff:ff"
# The host's own PLC modem, as Qualcomm firmware addresses it (facts §2 CM_SET_KEY.REQ).
LOCAL_MODEM = "00:b0:52:00:00:01"
SLAC_GROUPS = 58

MODES = {0: "REQ", 1: "CNF", 2: "IND", 3: "RSP"}
APPLICATION_TYPES = {0: "PEV-EVSE matching"}
SECURITY_TYPES = {0: "none", 1: "public key"}


class _Truncated(BaseException):
    """Raised inside dissection; a BaseException so that scapy's `except Exception` fallbacks to `Raw`
    (in payload and list fields) let it through to `parse_frame`, which turns it into a `FrameError`."""

    def __init__(self, remaining: int, field: str, layer: str) -> None:
        super().__init__(field)
        self.remaining, self.field, self.layer = remaining, field, layer


def _wire_size(field, pkt: Packet) -> int | None:
    """Bytes `field` needs on the wire, or None when only dissection itself can tell (packet lists)."""
    if isinstance(field, ConditionalField):
        field = field.fld
    if isinstance(field, (StrFixedLenField, StrLenField)):
        return field.length_from(pkt)
    if isinstance(field, FieldListField):
        return field.count_from(pkt) * field.field.sz
    if isinstance(field, (PacketListField, StrField)):  # variable: checked by their own dissection
        return None
    return field.sz


class StrictLayer(Packet):
    """Base of every HomePlug layer: a field that does not fit in the bytes left raises `_Truncated`."""

    def do_dissect(self, s: bytes) -> bytes:
        raw = s
        for f in self.fields_desc:
            if isinstance(f, ConditionalField) and not f._evalcond(self):
                continue
            need = _wire_size(f, self)
            if need is not None and len(s) < need:
                raise _Truncated(len(s), f.name, self.name)
            s, value = f.getfield(self, s)
            inner = f.fld if isinstance(f, ConditionalField) else f
            if isinstance(inner, PacketListField):
                count = inner.count_from(self) if inner.count_from else None
                if count is not None and (len(value) != count or any(Raw in p for p in value)):
                    raise _Truncated(len(s), f.name, self.name)
            self.fields[f.name] = value
        self.raw_packet_cache = raw[: len(raw) - len(s)]
        return s

    def extract_padding(self, s: bytes) -> tuple[bytes, bytes]:
        # Everything after a message is Ethernet padding (frames shorter than 60 bytes are zero-filled).
        return b"", s


class _MMTypeField(LEShortField):
    def i2repr(self, pkt: Packet, x: int) -> str:
        return f"{mmtype_name(pkt.mmv, x)} (0x{x:04X})"


class HomePlugAV(StrictLayer):
    name = "HomePlugAV MME"
    fields_desc = [
        ByteField("mmv", 1),
        _MMTypeField("mmtype", 0),
        ConditionalField(ByteField("fmsn", 0), lambda p: p.mmv >= 1),
        ConditionalField(ByteField("fmid", 0), lambda p: p.mmv >= 1),
    ]

    def extract_padding(self, s: bytes) -> tuple[bytes, bytes]:
        return s, b""

    def mysummary(self) -> str:
        return self.sprintf(f"HomePlugAV {mmtype_name(self.mmv, self.mmtype)}")


class SlacMessage(StrictLayer):
    """A HomePlug AV 1.1 (MMV 1) message with a fixed MMTYPE."""

    mmv = 1
    mmtype = 0


def mmtype_name(mmv: int, mmtype: int) -> str:
    return MESSAGE_NAMES.get((mmv, mmtype), f"0x{mmtype:04X}")


MESSAGES: dict[tuple[int, int], type[StrictLayer]] = {}
# scapy's metaclass turns a layer's `name` into an instance default, so names are kept here too.
MESSAGE_NAMES: dict[tuple[int, int], str] = {}


def register(cls: type[StrictLayer]) -> type[StrictLayer]:
    MESSAGES[(cls.mmv, cls.mmtype)] = cls
    MESSAGE_NAMES[(cls.mmv, cls.mmtype)] = cls().name
    bind_layers(HomePlugAV, cls, mmv=cls.mmv, mmtype=cls.mmtype)
    return cls


bind_layers(Ether, HomePlugAV, type=ETH_P_HPAV)


def _slac_head() -> list:
    return [ByteEnumField("application_type", 0, APPLICATION_TYPES),
            ByteEnumField("security_type", 0, SECURITY_TYPES)]


@register
class CmSetKeyReq(SlacMessage):
    name, mmtype = "CM_SET_KEY.REQ", 0x6008
    fields_desc = [
        XByteField("key_type", 0x01),  # NMK
        XStrFixedLenField("my_nonce", b"\xaa" * 4, 4),
        XStrFixedLenField("your_nonce", b"\x00" * 4, 4),
        XByteField("pid", 0x04),  # HLE protocol
        LEShortField("prn", 0),
        ByteField("pmn", 0),
        ByteField("cco_capability", 0),
        XStrFixedLenField("nid", b"\x00" * 7, 7),
        ByteField("new_eks", 0x01),
        XStrFixedLenField("new_key", b"\x00" * 16, 16),
    ]


@register
class CmSetKeyCnf(SlacMessage):
    name, mmtype = "CM_SET_KEY.CNF", 0x6009
    fields_desc = [
        XByteField("result", 0),
        XStrFixedLenField("my_nonce", b"\x00" * 4, 4),
        XStrFixedLenField("your_nonce", b"\x00" * 4, 4),
        XByteField("pid", 0x04),
        LEShortField("prn", 0),
        ByteField("pmn", 0),
        ByteField("cco_capability", 0),
    ]


@register
class CmSlacParmReq(SlacMessage):
    name, mmtype = "CM_SLAC_PARM.REQ", 0x6064
    fields_desc = _slac_head() + [
        XStrFixedLenField("run_id", b"\x00" * 8, 8),
        ConditionalField(FieldLenField("cipher_suite_set_size", None, fmt="B", count_of="cipher_suites"),
                         lambda p: p.security_type == 1),
        ConditionalField(FieldListField("cipher_suites", [], LEShortField("", 0),
                                        count_from=lambda p: p.cipher_suite_set_size),
                         lambda p: p.security_type == 1),
    ]


@register
class CmSlacParmCnf(SlacMessage):
    name, mmtype = "CM_SLAC_PARM.CNF", 0x6065
    fields_desc = [
        MACField("m_sound_target", BROADCAST),
        ByteField("num_sounds", 10),
        ByteField("time_out", 6),  # 100 ms units
        ByteField("resp_type", 1),
        MACField("forwarding_sta", "00:00:00:00:00:00"),
    ] + _slac_head() + [
        XStrFixedLenField("run_id", b"\x00" * 8, 8),
        ConditionalField(LEShortField("cipher_suite", 0), lambda p: p.security_type == 1),
    ]


@register
class CmStartAttenCharInd(SlacMessage):
    name, mmtype = "CM_START_ATTEN_CHAR.IND", 0x606A
    fields_desc = _slac_head() + [
        ByteField("num_sounds", 10),
        ByteField("time_out", 6),
        ByteField("resp_type", 1),
        MACField("forwarding_sta", "00:00:00:00:00:00"),
        XStrFixedLenField("run_id", b"\x00" * 8, 8),
    ]


@register
class CmMnbcSoundInd(SlacMessage):
    name, mmtype = "CM_MNBC_SOUND.IND", 0x6076
    fields_desc = _slac_head() + [
        XStrFixedLenField("sender_id", b"\x00" * 17, 17),
        ByteField("cnt", 0),
        XStrFixedLenField("run_id", b"\x00" * 8, 8),
        XStrFixedLenField("reserved", b"\x00" * 8, 8),
        XStrFixedLenField("rnd", b"\x00" * 16, 16),
    ]


@register
class CmAttenProfileInd(SlacMessage):
    name, mmtype = "CM_ATTEN_PROFILE.IND", 0x6086
    fields_desc = [
        MACField("pev_mac", "00:00:00:00:00:00"),
        FieldLenField("num_groups", None, fmt="B", count_of="aag"),
        ByteField("reserved", 0),
        FieldListField("aag", [], ByteField("", 0), count_from=lambda p: p.num_groups),
    ]


def _atten_char_head() -> list:
    return _slac_head() + [
        MACField("source_address", "00:00:00:00:00:00"),
        XStrFixedLenField("run_id", b"\x00" * 8, 8),
        XStrFixedLenField("source_id", b"\x00" * 17, 17),
        XStrFixedLenField("resp_id", b"\x00" * 17, 17),
    ]


@register
class CmAttenCharInd(SlacMessage):
    name, mmtype = "CM_ATTEN_CHAR.IND", 0x606E
    fields_desc = _atten_char_head() + [
        ByteField("num_sounds", 0),
        FieldLenField("num_groups", None, fmt="B", count_of="aag"),
        FieldListField("aag", [], ByteField("", 0), count_from=lambda p: p.num_groups),
    ]


@register
class CmAttenCharRsp(SlacMessage):
    name, mmtype = "CM_ATTEN_CHAR.RSP", 0x606F
    fields_desc = _atten_char_head() + [XByteField("result", 0)]


VALIDATE_RESULTS = {0: "not ready", 1: "ready", 2: "success", 3: "failure", 4: "not required"}


@register
class CmValidateReq(SlacMessage):
    name, mmtype = "CM_VALIDATE.REQ", 0x6078
    fields_desc = [
        ByteField("signal_type", 0),
        ByteField("timer", 0),  # 100 ms units; 0 in the first request
        ByteEnumField("result", 1, VALIDATE_RESULTS),
    ]


@register
class CmValidateCnf(SlacMessage):
    name, mmtype = "CM_VALIDATE.CNF", 0x6079
    fields_desc = [
        ByteField("signal_type", 0),
        ByteField("toggle_num", 0),
        ByteEnumField("result", 1, VALIDATE_RESULTS),
    ]


def _match_head(mvf_length: int) -> list:
    return _slac_head() + [
        LEShortField("mvf_length", mvf_length),
        XStrFixedLenField("pev_id", b"\x00" * 17, 17),
        MACField("pev_mac", "00:00:00:00:00:00"),
        XStrFixedLenField("evse_id", b"\x00" * 17, 17),
        MACField("evse_mac", "00:00:00:00:00:00"),
        XStrFixedLenField("run_id", b"\x00" * 8, 8),
        XStrFixedLenField("reserved", b"\x00" * 8, 8),
    ]


@register
class CmSlacMatchReq(SlacMessage):
    name, mmtype = "CM_SLAC_MATCH.REQ", 0x607C
    fields_desc = _match_head(0x3E)


@register
class CmSlacMatchCnf(SlacMessage):
    name, mmtype = "CM_SLAC_MATCH.CNF", 0x607D
    fields_desc = _match_head(0x56) + [
        XStrFixedLenField("nid", b"\x00" * 7, 7),
        ByteField("reserved2", 0),
        XStrFixedLenField("nmk", b"\x00" * 16, 16),
    ]


def mac_text(raw: bytes) -> str:
    """"aa:bb:cc:dd:ee:ff" for 6 address bytes."""
    return ":".join(f"{b:02x}" for b in raw)


def build_frame(message: Packet, src: str, dst: str) -> bytes:
    """Ethernet + MME header + `message`, zero-padded to the 60-byte Ethernet minimum."""
    data = bytes(Ether(dst=dst, src=src, type=ETH_P_HPAV) / HomePlugAV() / message)
    return data.ljust(MIN_FRAME, b"\x00")


def parse_frame(data: bytes) -> Ether:
    """Dissect one HomePlug frame; raise `FrameError` (with the byte offset) when it cannot be parsed.

    Returns the scapy packet; the message layer is `pkt[HomePlugAV].payload` (a `Raw` for MMTYPEs we do
    not declare, which is not an error: modems send undocumented vendor frames).
    """
    from slac.errors import FrameError

    data = bytes(data)
    if len(data) < 14:
        raise FrameError("Ethernet header truncated", len(data), "type")
    if int.from_bytes(data[12:14], "big") != ETH_P_HPAV:
        raise FrameError(f"not a HomePlug frame (EtherType 0x{int.from_bytes(data[12:14], 'big'):04X})", 12,
                         "type")
    if len(data) > 14 and data[14] > 1:
        raise FrameError(f"unsupported MMV {data[14]}", 14, "mmv")
    try:
        header = HomePlugAV(data[14:])
    except _Truncated as exc:
        raise FrameError(f"{exc.layer} truncated", len(data) - exc.remaining, exc.field) from None
    return Ether(data[:14]) / header


def message_of(pkt: Packet) -> Packet:
    """The message layer after the MME header (a `Raw` or `NoPayload` when undeclared or empty)."""
    return pkt[HomePlugAV].payload
