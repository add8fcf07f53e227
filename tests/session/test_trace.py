"""`v2g trace` on a pcap: plain-TCP V2GTP streams in both directions are reassembled and decoded."""
import json
import subprocess
import sys

from scapy.layers.inet import TCP
from scapy.layers.inet6 import IPv6
from scapy.packet import Raw
from scapy.utils import wrpcap

from iso15118.evcc import EvConfig, run_in_process
from iso15118.secc import SeccConfig
from iso15118.transport.v2gtp import encode_message


def test_trace_decodes_both_directions_of_a_captured_session(tmp_path):
    frames = []

    def intercept(side, send):
        frames.append((side, send.payload_type, send.payload, send.message.name))
        return send
    run_in_process(SeccConfig(), EvConfig(service="ac", charge_loops=3), intercept=intercept)
    ports = {"ev": (50000, 60000), "secc": (60000, 50000)}
    seq = {"ev": 1000, "secc": 5000}
    packets = []
    for side, payload_type, payload, _ in frames:
        data = encode_message(payload_type, payload)
        sport, dport = ports[side]
        packets.append(IPv6(src="::1", dst="::1") / TCP(sport=sport, dport=dport, seq=seq[side], flags="PA")
                       / Raw(data))
        seq[side] += len(data)
    pcap = tmp_path / "session.pcap"
    wrpcap(str(pcap), packets)
    proc = subprocess.run([sys.executable, "-m", "iso15118", "trace", str(pcap)], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    decoded = {line["side"]: [] for line in lines}
    for line in lines:
        decoded[line["side"]].append(line["msg"])
    assert decoded["50000->60000"] == [name for side, _, _, name in frames if side == "ev"]
    assert decoded["60000->50000"] == [name for side, _, _, name in frames if side == "secc"]
