"""Decoded message traces: JSON lines (one object per V2GTP message) from the daemons, and `v2g trace`.

Line format: {"t": wall-clock seconds, "side": "secc"|"ev", "dir": "rx"|"tx", "payload_type": "0x8002",
"msg": element name, "body": the message tree (bytes as hex)}.

`v2g trace FILE` decodes a pcap (plain-TCP V2GTP streams and SDP datagrams; TLS payloads need the key log and
are reported as encrypted) or a hex dump (one V2GTP frame per line; `--payload-type` for bare EXI) into the
same JSON lines.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any, TextIO

from iso15118.session import codec
from iso15118.session.messages import Message
from iso15118.session.response_codes import PeerProtocolError
from iso15118.transport.v2gtp import V2gtpError, V2gtpReader


def jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    return value


def trace_line(side: str, direction: str, payload_type: int, message: Message, wall: float) -> str:
    return json.dumps({"t": round(wall, 6), "side": side, "dir": direction, "payload_type": f"{payload_type:#06x}",
                       "msg": message.name, "body": jsonable(message.body)})


class TraceWriter:
    """A machine trace hook writing JSON lines; one writer may serve several machines (`side` tells them apart)."""

    def __init__(self, out: TextIO, side: str) -> None:
        self.out = out
        self.side = side

    def __call__(self, direction: str, payload_type: int, message: Message, now: float) -> None:
        self.out.write(trace_line(self.side, direction, payload_type, message, time.time()) + "\n")
        self.out.flush()


def _decode_frames(data: bytes, side: str, out: TextIO, t: float = 0.0) -> int:
    reader = V2gtpReader()
    reader.feed(data)
    count = 0
    while True:
        try:
            frame = reader.next_message()
        except V2gtpError as err:
            out.write(json.dumps({"side": side, "error": err.code, "detail": err.detail}) + "\n")
            return count
        if frame is None:
            return count
        count += 1
        if frame.payload_type in (0x9000, 0x9001):
            out.write(json.dumps({"t": t, "side": side, "payload_type": f"{frame.payload_type:#06x}",
                                  "msg": "SDPRequest" if frame.payload_type == 0x9000 else "SDPResponse",
                                  "hex": frame.payload.hex()}) + "\n")
            continue
        try:
            message, _ = codec.decode(frame.payload_type, frame.payload)
        except PeerProtocolError as exc:
            out.write(json.dumps({"t": t, "side": side, "payload_type": f"{frame.payload_type:#06x}",
                                  "error": exc.code, "detail": exc.detail}) + "\n")
            continue
        out.write(trace_line(side, "", frame.payload_type, message, t) + "\n")


def _from_pcap(path: str, out: TextIO) -> int:
    from scapy.layers.inet import TCP, UDP
    from scapy.utils import PcapReader

    streams: dict[tuple, dict[int, bytes]] = {}
    first_seen: dict[tuple, float] = {}
    count = 0
    with PcapReader(path) as packets:
        for packet in packets:
            if UDP in packet and 15118 in (packet[UDP].sport, packet[UDP].dport):
                count += _decode_frames(bytes(packet[UDP].payload), "sdp", out, float(packet.time))
            elif TCP in packet and bytes(packet[TCP].payload):
                key = (packet[TCP].sport, packet[TCP].dport)
                streams.setdefault(key, {})[packet[TCP].seq] = bytes(packet[TCP].payload)
                first_seen.setdefault(key, float(packet.time))
    for key, segments in sorted(streams.items(), key=lambda item: first_seen[item[0]]):
        data = b"".join(segments[seq] for seq in sorted(segments))
        if data[:1] in (b"\x16", b"\x17"):  # TLS record: nothing to decode without the session keys
            out.write(json.dumps({"stream": list(key), "encrypted": True, "bytes": len(data)}) + "\n")
            continue
        count += _decode_frames(data, f"{key[0]}->{key[1]}", out, first_seen[key])
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="v2g trace", description=__doc__.split("\n\n")[0])
    parser.add_argument("file", help="pcap file, or a text file of hex V2GTP frames ('-' = stdin)")
    parser.add_argument("--payload-type", type=lambda v: int(v, 0),
                        help="the hex lines are bare EXI payloads of this V2GTP payload type (e.g. 0x8002)")
    args = parser.parse_args(argv)
    out = sys.stdout
    try:
        if args.file != "-" and open(args.file, "rb").read(4) in (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4",
                                                                   b"\x0a\x0d\x0d\x0a"):
            count = _from_pcap(args.file, out)
        else:
            text = sys.stdin.read() if args.file == "-" else open(args.file).read()
            count = 0
            for line in text.split("\n"):
                line = "".join(line.split())
                if not line:
                    continue
                data = bytes.fromhex(line)
                if args.payload_type is not None:
                    from iso15118.transport.v2gtp import encode_message
                    data = encode_message(args.payload_type, data)
                count += _decode_frames(data, "hex", out)
    except (OSError, ValueError) as exc:
        print(json.dumps({"error": "ERR_TRACE_INPUT", "detail": str(exc)}), file=sys.stderr)
        return 2
    return 0 if count else 1


if __name__ == "__main__":
    sys.exit(main())
