"""Transport benchmarks: µs per V2GTP frame/parse, per SDP round trip and per TLS handshake, each next to a
baseline measured in the same run (the bare struct/socket/OpenSSL work the operation cannot avoid). Prints a
table; asserts nothing.

    python3 bench/transport_bench.py [--repeat 5]
"""
from __future__ import annotations

import argparse
import asyncio
import ipaddress
import socket
import ssl
import struct
import tempfile
import time
from collections.abc import Callable

from iso15118.transport import (PayloadType, SdpClientConfig, SdpServer, SdpServerConfig, V2gtpReader,
                                discover_secc, encode_message, open_v2gtp_connection, start_sdp_server,
                                start_v2gtp_server)
from iso15118.transport import _openssl
from iso15118.transport.sdp import SdpRequest, Security
from iso15118.transport.tls import PROFILES, TlsConfig, client_context, server_context

HEADER = struct.Struct(">BBHI")
BODY_1K = bytes(range(256)) * 4


def per_op_us(func: Callable[[], object], ops_per_call: int, repeat: int, min_time: float = 0.2) -> float:
    """Best of `repeat` timed runs, each long enough to drown timer noise."""
    calls = 1
    while True:
        start = time.perf_counter()
        for _ in range(calls):
            func()
        if time.perf_counter() - start >= min_time / 4:
            break
        calls *= 2
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(calls):
            func()
        best = min(best, (time.perf_counter() - start) / (calls * ops_per_call))
    return best * 1e6


# --- V2GTP framing ------------------------------------------------------------------------------------------

def encode_1k() -> bytes:
    return encode_message(PayloadType.MAINSTREAM, BODY_1K)


def baseline_encode_1k() -> bytes:
    return HEADER.pack(1, 0xFE, 0x8002, len(BODY_1K)) + BODY_1K


FRAME_1K = encode_1k()


def parse_1k() -> object:
    reader = V2gtpReader()
    reader.feed(FRAME_1K)
    return reader.next_message()


def baseline_parse_1k() -> object:
    version, inverse, payload_type, length = HEADER.unpack_from(FRAME_1K)
    return payload_type, FRAME_1K[8:8 + length]


STREAM_1000 = b"".join(encode_message(PayloadType.DC_MAINSTREAM, bytes(100)) for _ in range(1000))


def parse_1000_in_one_read() -> None:
    reader = V2gtpReader()
    reader.feed(STREAM_1000)
    while reader.next_message() is not None:
        pass


def baseline_parse_1000() -> None:
    offset = 0
    while offset < len(STREAM_1000):
        _, _, _, length = HEADER.unpack_from(STREAM_1000, offset)
        STREAM_1000[offset + 8:offset + 8 + length]
        offset += 8 + length


FRAME_100 = encode_message(PayloadType.DC_MAINSTREAM, bytes(100))
FRAME_100_BYTES = [FRAME_100[i:i + 1] for i in range(len(FRAME_100))]


def parse_byte_by_byte() -> None:
    reader = V2gtpReader()
    for byte in FRAME_100_BYTES:
        reader.feed(byte)
        reader.next_message()


def baseline_byte_by_byte() -> None:
    buffer = bytearray()
    for byte in FRAME_100_BYTES:
        buffer += byte
    HEADER.unpack_from(buffer)


# --- SDP ----------------------------------------------------------------------------------------------------

SDP_CORE = SdpServer(ipaddress.IPv6Address("fe80::1"), tls_port=50000)
REQUEST = SdpRequest(Security.TLS).encode()
EV = ("fe80::2", 50001, 0, 1)


def sdp_answer() -> object:
    return SDP_CORE.handle_datagram(REQUEST, EV)


def baseline_sdp_answer() -> bytes:
    HEADER.unpack_from(REQUEST)
    return HEADER.pack(1, 0xFE, 0x9001, 20) + bytes(16) + struct.pack(">HBB", 50000, 0, 0)


def sdp_round_trips(count: int) -> float:
    async def run() -> float:
        async with await start_sdp_server(SdpServerConfig(port=0), tls_port=50000) as server:
            config = SdpClientConfig(server_port=server.port)
            await discover_secc(config)
            start = time.perf_counter()
            for _ in range(count):
                await discover_secc(config)
            return (time.perf_counter() - start) / count * 1e6
    return asyncio.run(run())


def udp_ping_pong(count: int) -> float:
    """Like a discovery: a fresh client socket each time (discover_secc opens one per run)."""
    server = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    server.bind(("::1", 0))
    target = server.getsockname()
    start = time.perf_counter()
    for _ in range(count):
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as client:
            client.bind(("::1", 0))
            client.sendto(REQUEST, target)
            _, sender = server.recvfrom(64)
            server.sendto(bytes(28), sender)
            client.recv(64)
    elapsed = (time.perf_counter() - start) / count * 1e6
    server.close()
    return elapsed


# --- V2GTP over TCP -----------------------------------------------------------------------------------------

def v2gtp_tcp_round_trips(count: int) -> tuple[float, float]:
    """Request/response over loopback TCP: through V2gtpStream, and with bare asyncio streams (readexactly)."""
    async def echo(stream):
        async for message in stream:
            await stream.send(message.payload_type, message.payload)

    async def bare_echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                header = await reader.readexactly(8)
                writer.write(header + await reader.readexactly(HEADER.unpack(header)[3]))
                await writer.drain()
        except asyncio.IncompleteReadError:
            writer.close()

    async def run() -> tuple[float, float]:
        server = await start_v2gtp_server(echo, "::1", 0)
        bare = await asyncio.start_server(bare_echo, "::1", 0)
        async with server, bare:
            stream = await open_v2gtp_connection("::1", server.sockets[0].getsockname()[1])
            start = time.perf_counter()
            for _ in range(count):
                await stream.send(PayloadType.MAINSTREAM, BODY_1K)
                await stream.receive()
            adapter = (time.perf_counter() - start) / count * 1e6
            await stream.close()
            reader, writer = await asyncio.open_connection("::1", bare.sockets[0].getsockname()[1])
            start = time.perf_counter()
            for _ in range(count):
                writer.write(FRAME_1K)
                await writer.drain()
                header = await reader.readexactly(8)
                await reader.readexactly(HEADER.unpack(header)[3])
            baseline = (time.perf_counter() - start) / count * 1e6
            writer.close()
            await writer.wait_closed()
        return adapter, baseline
    return asyncio.run(run())


# --- TLS 1.3 mutual-auth handshake --------------------------------------------------------------------------

def _openssl_only_context(config: TlsConfig, protocol: int) -> ssl.SSLContext:
    """Same certificates, roots, suites, groups and signature algorithms, OpenSSL's chain validation only."""
    profile = PROFILES[config.profile]
    context = ssl.SSLContext(protocol)
    context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1_3
    context.verify_mode = ssl.CERT_REQUIRED
    context.check_hostname = False
    if protocol == ssl.PROTOCOL_TLS_SERVER:
        context.num_tickets = 0
    context.load_cert_chain(config.certificate_chain, config.private_key)
    for root in config.trusted_roots:
        context.load_verify_locations(cafile=root)
    _openssl.set_tls13_ciphersuites(context, profile.ciphersuites)
    _openssl.set_groups(context, profile.groups)
    _openssl.set_signature_algorithms(context, profile.signature_algorithms)
    return context


def server_handshake_cpu_us(server: ssl.SSLContext, client: ssl.SSLContext, count: int) -> float:
    """Best-of-3 mean CPU time (this thread) the server side spends in do_handshake, over memory BIOs."""
    best = float("inf")
    for _ in range(3):
        spent = 0.0
        for _ in range(count):
            c_in, c_out, s_in, s_out = (ssl.MemoryBIO() for _ in range(4))
            client_side = client.wrap_bio(c_in, c_out, server_side=False)
            server_side = server.wrap_bio(s_in, s_out, server_side=True)
            client_done = server_done = False
            while not (client_done and server_done):
                if not client_done:
                    try:
                        client_side.do_handshake()
                        client_done = True
                    except ssl.SSLWantReadError:
                        pass
                s_in.write(c_out.read())
                if not server_done:
                    start = time.thread_time()
                    try:
                        server_side.do_handshake()
                        server_done = True
                    except ssl.SSLWantReadError:
                        pass
                    spent += time.thread_time() - start
                c_in.write(s_out.read())
        best = min(best, spent / count)
    return best * 1e6


def tls_handshakes(count: int) -> tuple[float, float]:
    """(our -20 contexts, OpenSSL-only contexts with the same profile) server-side CPU µs per handshake."""
    from certs import create_pki

    pki = create_pki(tempfile.mkdtemp(prefix="transport-bench-pki-"))
    secc = TlsConfig(pki.chain("secc"), pki.key("secc"), [pki.cert("oem_root")])
    ev = TlsConfig(pki.chain("vehicle"), pki.key("vehicle"), [pki.cert("v2g_root")])
    ours = server_handshake_cpu_us(server_context(secc), client_context(ev), count)
    bare = server_handshake_cpu_us(_openssl_only_context(secc, ssl.PROTOCOL_TLS_SERVER),
                                   _openssl_only_context(ev, ssl.PROTOCOL_TLS_CLIENT), count)
    return ours, bare


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--round-trips", type=int, default=500)
    parser.add_argument("--handshakes", type=int, default=50)
    args = parser.parse_args()
    rows = [
        ("V2GTP encode, 1 kB payload", per_op_us(encode_1k, 1, args.repeat),
         "struct.pack + concat", per_op_us(baseline_encode_1k, 1, args.repeat)),
        ("V2GTP parse, 1 kB frame (new reader)", per_op_us(parse_1k, 1, args.repeat),
         "struct.unpack_from + slice", per_op_us(baseline_parse_1k, 1, args.repeat)),
        ("V2GTP parse, 1000 x 100 B in one read", per_op_us(parse_1000_in_one_read, 1000, args.repeat),
         "struct walk over the buffer", per_op_us(baseline_parse_1000, 1000, args.repeat)),
        ("V2GTP parse, 108 B fed byte by byte", per_op_us(parse_byte_by_byte, 1, args.repeat),
         "bytearray append + unpack", per_op_us(baseline_byte_by_byte, 1, args.repeat)),
        ("SDP request -> response (core)", per_op_us(sdp_answer, 1, args.repeat),
         "struct unpack + pack", per_op_us(baseline_sdp_answer, 1, args.repeat)),
        ("SDP discovery round trip, loopback UDP", sdp_round_trips(args.round_trips),
         "blocking UDP, new socket each", udp_ping_pong(args.round_trips)),
        ("V2GTP 1 kB request/response, TCP", *_pair(v2gtp_tcp_round_trips(args.round_trips),
                                                     "asyncio readexactly echo")),
        ("TLS 1.3 mutual-auth handshake, server CPU", *_pair(tls_handshakes(args.handshakes),
                                                             "OpenSSL-only ctx, same profile")),
    ]
    name_w, base_w = max(len(r[0]) for r in rows), max(len(r[2]) for r in rows)
    print(f"{'operation':<{name_w}}  {'µs/op':>9}  {'baseline':<{base_w}}  {'µs/op':>9}  {'ratio':>6}")
    for name, us, base_name, base_us in rows:
        print(f"{name:<{name_w}}  {us:9.2f}  {base_name:<{base_w}}  {base_us:9.2f}  {us / base_us:6.1f}")
    return 0


def _pair(measured: tuple[float, float], baseline_name: str) -> tuple[float, str, float]:
    return measured[0], baseline_name, measured[1]


if __name__ == "__main__":
    raise SystemExit(main())
