"""The EVCC connects from a source port in the Dynamic Ports range 49152-65535 of RFC 6335: V2G_SRC_TCP_DATA
([V2G20-077], ISO 15118-20 Table 10). Found by interop: Josev logged our EV connecting from a kernel-chosen port."""
import asyncio

from iso15118.evcc import EvConfig, Evcc
from iso15118.evcc.client import run_session

DYNAMIC_PORTS = range(49152, 65535 + 1)  # RFC 6335 section 6, as Table 10 cites it


async def _source_ports(host: str, bind: str, sessions: int) -> list[int]:
    seen = []

    async def on_connection(reader, writer):
        seen.append(writer.get_extra_info("peername")[1])
        writer.close()

    server = await asyncio.start_server(on_connection, bind, 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        for _ in range(sessions):
            await run_session(Evcc(EvConfig()), host, port, connect_timeout=5)
    return seen


async def test_the_ev_connects_from_a_dynamic_port_over_ipv6():
    ports = await _source_ports("::1", "::1", 5)
    assert len(ports) == 5 and all(port in DYNAMIC_PORTS for port in ports)


async def test_the_ev_connects_from_a_dynamic_port_over_ipv4():
    ports = await _source_ports("127.0.0.1", "127.0.0.1", 2)
    assert len(ports) == 2 and all(port in DYNAMIC_PORTS for port in ports)
