"""SLAC between our PEV and EVSEs over raw Ethernet on veth pairs, through the virtual powerline."""
from __future__ import annotations

import asyncio
import json
import logging
import socket
import statistics
import time

import pytest

from slac import MatchFailed, Matched, PowerlineConfig, SlacConfig, nid_from_nmk, run_evse, run_pev
from tests.netns import in_netns
from tests.slac.plc_net import WIDE_WINDOW, plc_net, tcp_transfer

pytestmark = pytest.mark.netns
FAST = SlacConfig.shortened()
log = logging.getLogger("slac.tests")


async def _match(net, plc_config, attenuations=None, config=FAST):
    async with net.powerline(plc_config, attenuations) as plc:
        evses = [asyncio.create_task(run_evse(h.link, config)) for h in net.evses]
        await asyncio.sleep(0.02)  # the EVSEs load their keys first, as after CP state B
        started = time.perf_counter()
        pev = await run_pev(net.ev.link, config)
        log.info(json.dumps({"test_timing": "pev match", "seconds": round(time.perf_counter() - started, 4)}))
        done, pending = await asyncio.wait(evses, timeout=config.tt_evse_match_session + 1)
        for task in pending:
            task.cancel()
        return pev, [t.result() if t in done else None for t in evses], plc


async def test_pev_matches_evse_through_two_virtual_modems():
    with plc_net(evses=1) as net:
        pev, (evse,), plc = await _match(net, PowerlineConfig(seed=1), config=WIDE_WINDOW)
        assert isinstance(pev, Matched) and isinstance(evse, Matched)
        assert pev.peer_mac == net.evses[0].endpoint.mac and evse.peer_mac == net.ev.endpoint.mac
        assert pev.nmk == evse.nmk and pev.nid == evse.nid == nid_from_nmk(evse.nmk)
        assert pev.run_id == evse.run_id and pev.num_sounds == WIDE_WINDOW.c_ev_match_mnbc
        # both virtual modems now hold the session key: one AVLN
        ports = list(plc.core.ports.values())
        assert ports[0].nmk == ports[1].nmk == pev.nmk


async def test_ipv6_tcp_crosses_the_powerline_only_after_the_match():
    payload = bytes(range(256)) * 800  # 200 KiB: large TCP segments with offloaded checksums
    with plc_net(evses=1) as net:
        evse_host = net.evses[0].endpoint
        with in_netns(evse_host.netns):
            server = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
            server.bind((evse_host.link_local, 0, 0, socket.if_nametoindex(evse_host.ifname)))
            server.listen()
            server.setblocking(False)
        with in_netns(net.ev.endpoint.netns):
            client = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
            client.setblocking(False)
            scope = socket.if_nametoindex(net.ev.endpoint.ifname)
        address = (evse_host.link_local, server.getsockname()[1], 0, scope)
        async with net.powerline(PowerlineConfig(seed=2)):
            loop = asyncio.get_running_loop()
            before = asyncio.ensure_future(loop.sock_connect(client, address))
            await asyncio.sleep(0.3)
            assert not before.done(), "data frames crossed between different AVLNs"
            before.cancel()
            client.close()
            with in_netns(net.ev.endpoint.netns):
                client = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
                client.setblocking(False)
            evse_task = asyncio.create_task(run_evse(net.evses[0].link, FAST))
            await asyncio.sleep(0.02)
            assert isinstance(await run_pev(net.ev.link, FAST), Matched)
            await evse_task
            assert await tcp_transfer(client, server, address, payload) == payload
            for s in (client, server):
                s.close()


async def test_pev_picks_the_lowest_attenuation_of_three_evses():
    attenuations = [9.0, 4.0, 7.0]
    with plc_net(evses=3) as net:
        pev, evses, _ = await _match(net, PowerlineConfig(seed=3), attenuations, WIDE_WINDOW)
        best = attenuations.index(min(attenuations))
        assert isinstance(pev, Matched)
        assert pev.peer_mac == net.evses[best].endpoint.mac
        assert abs(pev.attenuation_db - attenuations[best]) <= 1.0  # ±1 dB jitter per group, averaged
        assert isinstance(evses[best], Matched)
        # the others characterised the same sounds but were never asked to match
        assert all(not isinstance(e, Matched) for i, e in enumerate(evses) if i != best)


async def test_high_attenuation_is_rejected_after_all_attempts():
    config = SlacConfig.shortened(tt_evse_match_session=0.3)
    with plc_net(evses=1) as net:
        pev, (evse,), _ = await _match(net, PowerlineConfig(seed=4), [35.0], config)
        assert isinstance(pev, MatchFailed) and pev.code == "SLAC_NO_MATCH"
        assert "above" in pev.reason and str(config.c_ev_match_signalattn_indirect) in pev.reason
        assert evse is None or isinstance(evse, MatchFailed)


@pytest.mark.faults
async def test_lost_sounds_and_profiles_still_match_when_enough_arrive():
    with plc_net(evses=1) as net:
        config = PowerlineConfig(seed=5, drop=0.25, drop_scope="sounding")
        pev, (evse,), plc = await _match(net, config, config=WIDE_WINDOW)  # every profile that arrives counts
        assert isinstance(pev, Matched) and isinstance(evse, Matched)
        evse_port = plc.core.ports[net.evses[0].plc_side.ifname]
        assert evse_port.counters["dropped"] > 0
        # the EVSE averaged exactly the profiles that reached it, and told the EV so
        assert evse.num_sounds == pev.num_sounds == evse_port.counters["profiles"] < WIDE_WINDOW.c_ev_match_mnbc


@pytest.mark.faults
async def test_timeouts_end_both_roles_cleanly():
    config = SlacConfig.shortened(tt_evse_slac_init=0.3)
    with plc_net(evses=1) as net:
        async with net.powerline(PowerlineConfig()):
            started = time.perf_counter()
            evse = await asyncio.wait_for(run_evse(net.evses[0].link, config), 2)
            assert isinstance(evse, MatchFailed) and evse.code == "SLAC_TIMEOUT"
            assert time.perf_counter() - started < 2.0  # TT_EVSE_SLAC_init (0.3 s) honoured, not FAST's 5 s
            pev = await asyncio.wait_for(run_pev(net.ev.link, config), config.tt_matching_repetition + 1)
            assert isinstance(pev, MatchFailed) and pev.code == "SLAC_NO_MATCH"


def test_reported_attenuation_is_the_mean_of_the_profile_groups():
    """The virtual modem's profile for a port averages to the configured attenuation (independent check)."""
    from slac.powerline import Powerline

    plc = Powerline(PowerlineConfig(seed=6))
    port = plc.attach("e", "evse", attenuation_db=12.0)
    means = [statistics.fmean(port.attenuation_profile()) for _ in range(20)]
    assert abs(statistics.fmean(means) - 12.0) < 0.5
