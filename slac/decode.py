"""HomePlug frames of a capture as JSON-ready dicts: `{"mmtype": "CM_SLAC_PARM.REQ", ...fields}`."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from scapy.packet import NoPayload, Packet, Raw
from scapy.utils import RawPcapReader

from slac.errors import FrameError
from slac.frames import ETH_P_HPAV, HomePlugAV, message_of, mmtype_name, parse_frame


def _value(value):
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, Packet):
        return _fields(value)
    if isinstance(value, list):
        return [_value(v) for v in value]
    return value


def _fields(layer: Packet) -> dict:
    return {name: _value(value) for name, value in layer.fields.items()}


def frame_record(frame: bytes) -> dict:
    """One frame as a dict; raises FrameError when it cannot be dissected."""
    pkt = parse_frame(frame)
    header, msg = pkt[HomePlugAV], message_of(pkt)
    record = {"mmtype": mmtype_name(header.mmv, header.mmtype), "mmv": header.mmv, "src": pkt.src,
              "dst": pkt.dst}
    if isinstance(msg, Raw):
        record["payload"] = bytes(msg).hex()
    elif not isinstance(msg, NoPayload):
        record.update(_fields(msg))
    return record


def decode_pcap(path: str | Path) -> Iterator[dict]:
    """Every HomePlug frame of the capture, numbered from 1 like Wireshark; a frame that cannot be parsed
    yields `{"frame": n, "error": code, "offset": ...}`."""
    with RawPcapReader(str(path)) as reader:
        for number, (data, _meta) in enumerate(reader, start=1):
            if len(data) < 14 or int.from_bytes(data[12:14], "big") != ETH_P_HPAV:
                continue
            try:
                yield {"frame": number, **frame_record(data)}
            except FrameError as exc:
                yield {"frame": number, "error": exc.code, "offset": exc.offset, "field": exc.field,
                       "message": exc.message}
