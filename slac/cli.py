"""`v2g-plc-tool`: decode HomePlug captures, read PLC modem statistics (virtual or QCA7000-class)."""
from __future__ import annotations

import argparse
import asyncio
import json
import sys

from slac.errors import SlacError


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="v2g-plc-tool", description=__doc__)
    p.add_argument("--stats", action="store_true", help="read version, network/link status and SNR of the "
                                                        "modem on --interface")
    p.add_argument("-i", "--interface", help="interface the PLC modem is attached to")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--timeout", type=float, default=0.5, help="seconds to wait for each modem answer")
    p.add_argument("command", nargs="?", choices=["decode"], help="decode FILE.pcap: one JSON object per "
                                                                  "HomePlug frame")
    p.add_argument("file", nargs="?", help="capture file for decode")
    return p


def _decode(path: str) -> int:
    from slac.decode import decode_pcap

    failures = 0
    try:
        for record in decode_pcap(path):
            failures += "error" in record
            print(json.dumps(record))
    except (OSError, ValueError) as exc:  # scapy raises Scapy_Exception(Exception) for non-pcap files
        print(json.dumps({"error": "SLAC_CAPTURE_UNREADABLE", "message": str(exc)}), file=sys.stderr)
        return 2
    return 1 if failures else 0


def _print_stats(stats, as_json: bool) -> None:
    if as_json:
        print(json.dumps(stats.to_dict()))
        return
    print(f"firmware     {stats.version} ({stats.device_class})")
    print(f"link         {'up' if stats.link_up else 'down'}" + (f", NID {stats.nid}" if stats.nid else ""))
    for s in stats.stations:
        print(f"station      {s.mac} host {s.host_mac} tx {s.avg_tx_mbps} Mbit/s rx {s.avg_rx_mbps} Mbit/s")
    print(f"frames       tx {stats.tx_frames} rx {stats.rx_frames}")
    if stats.snr:
        groups = " ".join(f"{v:g}" for v in stats.snr.per_group_db)
        print(f"SNR          mean {stats.snr.mean_db} dB; per carrier group: {groups}")


def _stats(interface: str, as_json: bool, timeout: float) -> int:
    from slac.link import RawEthernetLink
    from slac.modem import read_stats

    async def run():
        link = RawEthernetLink(interface)
        try:
            return await read_stats(link, timeout)
        finally:
            link.close()

    try:
        stats = asyncio.run(run())
    except (SlacError, OSError) as exc:
        error = exc.to_dict() if isinstance(exc, SlacError) else {"code": "SLAC_MODEM_ERROR", "message": str(exc)}
        print(json.dumps(error), file=sys.stderr)
        return 1
    _print_stats(stats, as_json)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.command == "decode":
        if not args.file:
            parser.error("decode needs a capture FILE")
        return _decode(args.file)
    if args.stats:
        if not args.interface:
            parser.error("--stats needs -i IFACE")
        return _stats(args.interface, args.json, args.timeout)
    parser.print_usage(sys.stderr)
    return 2
