"""The TCP/TLS port the SECC listens on (and announces by SDP) is V2G_DST_TCP_DATA: a port from the Dynamic Ports
range 49152-65535 of RFC 6335 ([V2G20-078], ISO 15118-20 Table 10). Found by interop: Josev's EVCC rejects an SDP
response whose port lies outside that range."""
import socket

from iso15118.secc import SeccConfig, Station
from iso15118.secc import server as server_module
from iso15118.secc.server import SeccServer

DYNAMIC_PORTS = range(49152, 65535 + 1)  # RFC 6335 section 6, as Table 10 cites it


async def test_without_a_requested_port_the_secc_listens_in_the_dynamic_range():
    for _ in range(5):
        async with SeccServer(Station(SeccConfig())) as server:
            assert server.port in DYNAMIC_PORTS


async def test_a_busy_dynamic_port_is_skipped(monkeypatch):
    busy = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    busy.bind(("::1", 0))
    busy.listen()
    taken = busy.getsockname()[1]
    free = next(p for p in range(65535, 49151, -1) if p != taken and _free(p))
    monkeypatch.setattr(server_module.random, "sample", lambda population, k: [taken, free])
    try:
        async with SeccServer(Station(SeccConfig())) as server:
            assert server.port == free
    finally:
        busy.close()


async def test_a_requested_port_is_used_as_given():
    port = next(p for p in range(50000, 51000) if _free(p))
    async with SeccServer(Station(SeccConfig()), port=port) as server:
        assert server.port == port


def _free(port: int) -> bool:
    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("::1", port))
        except OSError:
            return False
        return True
