"""Our EVCC against our SECC over real sockets on loopback: plain TCP, TLS 1.3 (-20 profile), SDP, several
sessions in one SECC process, pause/resume across two TLS connections."""
import asyncio

import pytest

from iso15118.evcc import EvConfig, Evcc
from iso15118.evcc.client import discover, run_session
from iso15118.secc import SeccConfig, Station
from iso15118.secc.server import SeccServer
from iso15118.session.events import SessionSealed
from iso15118.session.tls_contexts import ev_context, secc_context


def _fast(**kwargs) -> EvConfig:
    return EvConfig(loop_period=0.02, **kwargs)


async def test_dc_bpt_session_over_plain_tcp_exports_energy():
    async with SeccServer(Station(SeccConfig())) as server:
        summary = await run_session(Evcc(_fast(service="dc_bpt")), "::1", server.port)
    assert summary["outcome"] == "completed"
    assert summary["energy_wh"]["export"] > 0 and summary["energy_wh"]["import"] > 0


@pytest.mark.parametrize("service, mode", [("dc", "scheduled"), ("ac", "dynamic"), ("dc_bpt", "dynamic"),
                                           ("ac_bpt", "scheduled")])
async def test_session_over_tls13_with_the_iso20_profile(pki, service, mode):
    sealed = []
    server = SeccServer(Station(SeccConfig()), ssl_context=secc_context(pki.directory),
                        on_event=lambda e: sealed.append(e) if isinstance(e, SessionSealed) else None)
    async with server:
        summary = await run_session(Evcc(_fast(service=service, mode=mode)), "::1", server.port,
                                    ssl_context=ev_context(pki.directory))
        async with asyncio.timeout(5):  # the SECC reports the seal right after sending SessionStopRes
            while not sealed:
                await asyncio.sleep(0.005)
    assert summary["outcome"] == "completed", summary
    assert len(sealed) == 1


async def test_tls_connection_is_tls13_with_a_profile_suite(pki):
    server_ctx = secc_context(pki.directory)
    seen = {}

    async with SeccServer(Station(SeccConfig()), ssl_context=server_ctx) as server:
        reader, writer = await asyncio.open_connection("::1", server.port, ssl=ev_context(pki.directory))
        ssl_object = writer.get_extra_info("ssl_object")
        seen["version"], seen["cipher"] = ssl_object.version(), ssl_object.cipher()[0]
        writer.close()
    assert seen["version"] == "TLSv1.3"
    assert seen["cipher"] in ("TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256")


async def test_ev_without_a_trusted_secc_root_cannot_connect(pki, tmp_path):
    from certs import PkiConfig, create_pki
    other = create_pki(tmp_path / "other", PkiConfig())
    async with SeccServer(Station(SeccConfig()), ssl_context=secc_context(pki.directory)) as server:
        summary = await run_session(Evcc(_fast()), "::1", server.port, ssl_context=ev_context(other.directory))
    assert summary["outcome"] == "aborted" and summary["code"] == "CONNECTION_FAILED"


async def test_pause_and_resume_over_two_tls_connections(pki):
    station = Station(SeccConfig())
    async with SeccServer(station, ssl_context=secc_context(pki.directory)) as server:
        first = await run_session(Evcc(_fast(stop_with="Pause", charge_loops=4)), "::1", server.port,
                                  ssl_context=ev_context(pki.directory))
        second = await run_session(Evcc(_fast(resume_session_id=first["session_id"], charge_loops=4)), "::1",
                                   server.port, ssl_context=ev_context(pki.directory))
    assert first["outcome"] == "paused"
    assert second["outcome"] == "completed" and second["resumed"] is True
    assert second["session_id"] == first["session_id"]


async def test_sdp_then_tls_session_on_loopback(pki):
    async with SeccServer(Station(SeccConfig()), ssl_context=secc_context(pki.directory), sdp_port=0) as server:
        host, port = await discover("lo", server.sdp_bound_port, tls=True)
        assert port == server.port
        summary = await run_session(Evcc(_fast(service="ac")), host, port, ssl_context=ev_context(pki.directory))
    assert summary["outcome"] == "completed"


async def test_ten_concurrent_sessions_in_one_secc_process():
    station = Station(SeccConfig())
    async with SeccServer(station) as server:
        services = ["dc", "ac", "dc_bpt", "ac_bpt"]
        summaries = await asyncio.gather(*(
            run_session(Evcc(_fast(service=services[i % 4], charge_loops=10)), "::1", server.port)
            for i in range(10)))
    assert [s["outcome"] for s in summaries] == ["completed"] * 10
    assert len({s["session_id"] for s in summaries}) == 10


async def test_secc_seals_when_the_ev_drops_the_connection_mid_loop():
    sealed = []
    server = SeccServer(Station(SeccConfig()),
                        on_event=lambda e: sealed.append(e) if isinstance(e, SessionSealed) else None)
    async with server:
        reader, writer = await asyncio.open_connection("::1", server.port)
        from iso15118.transport.v2gtp_asyncio import V2gtpStream
        stream = V2gtpStream(reader, writer)
        evcc = Evcc(_fast(charge_loops=1000))
        loop = asyncio.get_running_loop()
        actions = evcc.start(loop.time())
        # Drive the EV by hand until the charge loop runs, then cut the TCP connection.
        from iso15118.session.actions import Send
        while evcc.ctx.loops < 3:
            for a in actions:
                if isinstance(a, Send):
                    await stream.send(a.payload_type, a.payload)
            message = await stream.receive()
            actions = evcc.receive(message.payload_type, message.payload, loop.time())
            if evcc._pending is not None:
                actions += evcc.timer_expired(loop.time() + 1)
        writer.transport.abort()
        async with asyncio.timeout(5):  # a bound for a hang: a loaded box may take more than 1 s to get here
            while not sealed:
                await asyncio.sleep(0.01)
    assert len(sealed) == 1 and sealed[0].reason == "CONNECTION_LOST"
