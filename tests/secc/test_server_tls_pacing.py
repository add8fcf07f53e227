"""The SECC starts TLS handshakes one at a time, `tls_start_interval` apart: a burst of EVs connecting at once
must not stall the event loop of the sessions already running (each -20 handshake step is milliseconds of
P-521 work done inside the loop turn), and a silent TCP peer must not hold up the EVs behind it."""
import asyncio

from iso15118.evcc import EvConfig, Evcc
from iso15118.evcc.client import run_session
from iso15118.secc import SeccConfig, Station
from iso15118.secc.server import SeccServer
from iso15118.session.tls_contexts import ev_context, secc_context


async def test_handshakes_of_evs_connecting_at_once_start_one_interval_apart(pki):
    loop = asyncio.get_running_loop()
    context = secc_context(pki.directory)
    client_hellos: list[float] = []
    # OpenSSL calls the server-name callback for every ClientHello it processes (with None: EVs send no SNI)
    context.sni_callback = lambda *_: client_hellos.append(loop.time())
    interval = 0.3
    async with SeccServer(Station(SeccConfig()), ssl_context=context, tls_start_interval=interval) as server:
        ev = ev_context(pki.directory)
        connections = await asyncio.gather(*(asyncio.open_connection("::1", server.port, ssl=ev)
                                             for _ in range(4)))
        for _, writer in connections:
            writer.close()
    assert len(client_hellos) == 4
    gaps = [later - earlier for earlier, later in zip(client_hellos, client_hellos[1:])]
    # Unpaced, the four ClientHellos are handled back to back within a few ms of CPU each. A ClientHello is
    # seen some loop turns after its handshake started, so a loaded machine's stall shortens the gap after
    # it: allow 200 ms of that, still ~50x an unpaced gap.
    assert min(gaps) > interval - 0.2, gaps


async def test_a_silent_tcp_peer_does_not_hold_up_the_next_evs_handshake(pki):
    async with SeccServer(Station(SeccConfig()), ssl_context=secc_context(pki.directory)) as server:
        _, silent = await asyncio.open_connection("::1", server.port)  # TCP only: never sends a ClientHello
        session = run_session(Evcc(EvConfig(loop_period=0.02)), "::1", server.port,
                              ssl_context=ev_context(pki.directory))
        summary = await asyncio.wait_for(session, 15.0)
        silent.close()
    assert summary["outcome"] == "completed", summary


async def test_a_refused_handshake_leaves_the_listener_serving(pki, tmp_path):
    from certs import PkiConfig, create_pki
    stranger = create_pki(tmp_path / "stranger", PkiConfig())
    async with SeccServer(Station(SeccConfig()), ssl_context=secc_context(pki.directory)) as server:
        refused = await run_session(Evcc(EvConfig(loop_period=0.02)), "::1", server.port,
                                    ssl_context=ev_context(stranger.directory))
        accepted = await run_session(Evcc(EvConfig(loop_period=0.02)), "::1", server.port,
                                     ssl_context=ev_context(pki.directory))
    assert refused["code"] == "CONNECTION_FAILED"
    assert accepted["outcome"] == "completed", accepted
