"""Interop with pyslac 0.8.3 (PyPI), an independent SLAC EVSE implementation.

pyslac is installed in its own venv (~/.cache/v2g-interop/pyslac; it needs marshmallow<4) and runs as a
separate process inside the EVSE's network namespace; our PEV matches it through the virtual powerline.
Run alone: `python3 -m pytest -q -m interop tests/slac`.
"""
from __future__ import annotations

import asyncio
import json
import subprocess
import time
from pathlib import Path

import pytest

from slac import Matched, PowerlineConfig, SlacConfig, nid_from_nmk, run_pev
from slac.frames import (
    CmAttenCharInd,
    CmAttenCharRsp,
    CmAttenProfileInd,
    CmMnbcSoundInd,
    CmSetKeyReq,
    CmSlacMatchCnf,
    CmSlacMatchReq,
    CmSlacParmCnf,
    CmSlacParmReq,
    CmStartAttenCharInd,
)
from tests.interop_env import cached_venv
from tests.slac.plc_net import plc_net

pytestmark = pytest.mark.interop
PEER = Path(__file__).with_name("pyslac_peer.py")
RUN_ID = bytes.fromhex("0102030405060708")
PEV, EVSE = "02:00:00:00:00:01", "02:00:00:00:00:02"
NMK, NID = bytes(range(16)), bytes.fromhex("b0f2e695666b03")
AAG = [(7 * g) % 50 for g in range(58)]


@pytest.fixture(scope="session")
def pyslac_python() -> str:
    return cached_venv("pyslac", ["pyslac==0.8.3", "marshmallow<4"])


def test_our_payloads_equal_pyslac_packing(pyslac_python):
    proc = subprocess.run([pyslac_python, str(PEER), "frames"], capture_output=True, text=True, timeout=60)
    theirs = {name: bytes.fromhex(h) for name, h in json.loads(proc.stdout).items()}
    ours = {
        "CM_SET_KEY.REQ": CmSetKeyReq(nid=NID, new_key=NMK),
        "CM_SLAC_PARM.REQ": CmSlacParmReq(run_id=RUN_ID),
        "CM_SLAC_PARM.CNF": CmSlacParmCnf(forwarding_sta=PEV, run_id=RUN_ID),
        "CM_START_ATTEN_CHAR.IND": CmStartAttenCharInd(num_sounds=10, time_out=6, forwarding_sta=PEV,
                                                       run_id=RUN_ID),
        "CM_MNBC_SOUND.IND": CmMnbcSoundInd(cnt=9, run_id=RUN_ID, rnd=(0xFF01).to_bytes(16, "big")),
        "CM_ATTEN_PROFILE.IND": CmAttenProfileInd(pev_mac=PEV, aag=AAG),
        "CM_ATTEN_CHAR.IND": CmAttenCharInd(source_address=PEV, run_id=RUN_ID, num_sounds=10, aag=AAG),
        "CM_ATTEN_CHAR.RSP": CmAttenCharRsp(source_address=PEV, run_id=RUN_ID),
        "CM_SLAC_MATCH.REQ": CmSlacMatchReq(pev_mac=PEV, evse_mac=EVSE, run_id=RUN_ID),
        "CM_SLAC_MATCH.CNF": CmSlacMatchCnf(pev_mac=PEV, evse_mac=EVSE, run_id=RUN_ID, nid=NID, nmk=NMK),
    }
    for name, msg in ours.items():
        mine = bytes(msg)
        if name == "CM_SLAC_MATCH.REQ":
            # pyslac packs MVFLength big-endian (facts/slac.md §2); HomePlug fields are little-endian.
            assert mine[2:4] == (0x3E).to_bytes(2, "little") and theirs[name][2:4] == (0x3E).to_bytes(2, "big")
            mine, theirs[name] = mine[:2] + mine[4:], theirs[name][:2] + theirs[name][4:]
        assert mine == theirs[name], name


@pytest.mark.netns
async def test_our_pev_matches_the_pyslac_evse_through_the_virtual_modem(pyslac_python):
    with plc_net(evses=1) as net:
        evse_host = net.evses[0].endpoint
        async with net.powerline(PowerlineConfig(seed=7)):
            proc = await asyncio.create_subprocess_exec(
                "ip", "netns", "exec", evse_host.netns, pyslac_python, str(PEER), "evse", evse_host.ifname,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            try:
                line = await asyncio.wait_for(proc.stdout.readline(), 30)
                assert json.loads(line) == {"event": "ready"}, (line, await proc.stderr.read(2000))
                started = time.perf_counter()
                # spec timers: pyslac answers with TIME_OUT 6 (600 ms) and reads frames with 1 s timeouts
                result = await run_pev(net.ev.link, SlacConfig())
                elapsed = time.perf_counter() - started
                assert isinstance(result, Matched), result
                evse = json.loads(await asyncio.wait_for(proc.stdout.readline(), 5))
            finally:
                if proc.returncode is None:
                    proc.kill()
                await proc.wait()
        print(f"pyslac EVSE match time with spec timers: {elapsed:.3f} s")
        assert evse["event"] == "matched"
        assert result.peer_mac == evse_host.mac
        assert result.nmk.hex() == evse["nmk"] and result.nid.hex() == evse["nid"] == nid_from_nmk(result.nmk).hex()
        assert evse["pev_mac"] == net.ev.endpoint.mac.replace(":", "") and evse["run_id"] == result.run_id.hex()
