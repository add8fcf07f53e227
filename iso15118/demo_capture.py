"""Packet capture for `v2g demo` when run as root: the session's loopback traffic (SDP over UDP, V2GTP over
TLS 1.3) as a pcap, with the EV's TLS key log beside it so Wireshark can decrypt it.

Choice: capture the loopback interface with scapy's sniffer (root needed for the raw socket), filtered in
Python to the SECC's SDP and TLS ports, instead of moving the session into network namespaces: the demo stays
the same session with or without privileges. Without root the capture is skipped and the demo says so.
"""
from __future__ import annotations

import os
from pathlib import Path

PCAP = "session.pcap"
KEYLOG = "tls-keylog.txt"


def can_capture() -> bool:
    return os.geteuid() == 0


class LoopbackCapture:
    def __init__(self, out: Path, ports: set[int]) -> None:
        self.path = out / PCAP
        self.ports = ports
        self._sniffer = None

    def _wanted(self, packet) -> bool:
        from scapy.layers.inet import TCP, UDP
        for layer in (TCP, UDP):
            if layer in packet and (packet[layer].sport in self.ports or packet[layer].dport in self.ports):
                return True
        return False

    def start(self) -> None:
        from scapy.sendrecv import AsyncSniffer
        self._sniffer = AsyncSniffer(iface="lo", lfilter=self._wanted, store=True)
        self._sniffer.start()

    def stop(self) -> int:
        """Stop, write the pcap, return the number of packets captured."""
        from scapy.utils import wrpcap
        if self._sniffer is None:
            return 0
        packets = self._sniffer.stop() or []
        wrpcap(str(self.path), packets)
        return len(packets)
