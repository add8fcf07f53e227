"""Command lines: v2g-plc-tool decode / --stats, v2g slac evse|pev|powerline as separate processes."""
from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import pytest
from scapy.utils import wrpcap

from slac import PowerlineConfig
from slac.frames import BROADCAST, CmAttenCharInd, CmSlacParmReq, build_frame
from tests.slac.plc_net import netns_run, plc_net

EV, EVSE = "02:00:00:00:00:01", "02:00:00:00:00:02"


def test_decode_prints_one_json_object_per_homeplug_frame_and_errors_with_offsets(tmp_path):
    ipv6 = bytes.fromhex("333300000001") + bytes.fromhex("020000000001") + b"\x86\xdd" + b"\x00" * 50
    atten = build_frame(CmAttenCharInd(source_address=EV, num_sounds=10, aag=[20] * 58), EVSE, EV)
    frames = [build_frame(CmSlacParmReq(run_id=bytes.fromhex("0102030405060708")), EV, BROADCAST), ipv6,
              atten, atten[:100]]
    capture = tmp_path / "slac.pcap"
    wrpcap(str(capture), frames, linktype=1)
    proc = subprocess.run([sys.executable, "-m", "slac", "decode", str(capture)], capture_output=True,
                          text=True, timeout=60)
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [line["frame"] for line in lines] == [1, 3, 4]
    assert lines[0]["mmtype"] == "CM_SLAC_PARM.REQ" and lines[0]["run_id"] == "0102030405060708"
    assert lines[1]["mmtype"] == "CM_ATTEN_CHAR.IND" and lines[1]["aag"] == [20] * 58
    assert lines[2]["error"] == "SLAC_FRAME_MALFORMED" and lines[2]["offset"] == 71
    assert proc.returncode == 1


def test_decode_of_a_missing_file_fails_without_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "slac", "decode", str(tmp_path / "none.pcap")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


@pytest.mark.netns
async def test_stats_reads_the_virtual_modem_over_raw_ethernet():
    with plc_net(evses=1) as net:
        async with net.powerline(PowerlineConfig(snr_db=22)):
            code, out, err = await netns_run(net.ev.endpoint.netns, "-m", "slac", "--stats", "-i",
                                              net.ev.endpoint.ifname, "--json")
    assert code == 0, err
    stats = json.loads(out)
    assert stats["version"].startswith("MAC-QCA7000") and stats["link_up"] is False  # no match yet


@pytest.mark.netns
async def test_evse_pev_and_powerline_commands_match_as_separate_processes():
    with plc_net(evses=1) as net:
        plc_ev, plc_evse = net.ev.plc_side.ifname, net.evses[0].plc_side.ifname
        net.close_links()
        powerline = await asyncio.create_subprocess_exec(
            "ip", "netns", "exec", net.plc_ns, sys.executable, "-m", "iso15118", "slac", "powerline", "--ev",
            plc_ev, "--evse", plc_evse, "--attenuation", "6", "--duration", "20",
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        powerline_err = b""
        async with asyncio.timeout(30):  # interpreter + scapy start-up, however long this machine takes
            while b"PowerlineReady" not in powerline_err and (line := await powerline.stderr.readline()):
                powerline_err += line
        # Three interpreters on a possibly loaded machine: an EV that repeats its attempts for 10 s in case the
        # EVSE process is not listening yet when the EV's first request goes out.
        evse = netns_run(net.evses[0].endpoint.netns, "-m", "iso15118", "slac", "evse", "-i",
                          net.evses[0].endpoint.ifname, "--fast", "--json", "--set", "tt_evse_slac_init=20")
        await asyncio.sleep(0.5)  # the EVSE starts first, as after CP state B
        pev = netns_run(net.ev.endpoint.netns, "-m", "iso15118", "slac", "pev", "-i", net.ev.endpoint.ifname,
                         "--fast", "--json", "--set", "tt_matching_repetition=10")
        (pev_code, pev_out, pev_err), (evse_code, evse_out, evse_err) = await pev, await evse
        powerline.terminate()  # SIGTERM: the powerline stops cleanly
        _, rest = await asyncio.wait_for(powerline.communicate(), 5)
        powerline_err += rest
    assert powerline.returncode == 0 and b"PowerlineReady" in powerline_err
    assert pev_code == 0, pev_err
    assert evse_code == 0, evse_err
    pev_result, evse_result = json.loads(pev_out), json.loads(evse_out)
    assert pev_result["peer_mac"] == net.evses[0].endpoint.mac and evse_result["peer_mac"] == net.ev.endpoint.mac
    assert pev_result["nid"] == evse_result["nid"] and abs(pev_result["attenuation_db"] - 6) <= 1
    assert pev_result["match_time_s"] > 0


def test_modem_command_is_documented_and_refuses_bad_usage_without_traceback(tmp_path):
    def run(*args):
        return subprocess.run([sys.executable, "-m", "iso15118", "slac", *args], capture_output=True, text=True,
                              timeout=60)
    overview = run("--help")
    assert overview.returncode == 0 and "modem -i IFACE --wire IFACE" in overview.stdout
    assert run("modem", "--help").returncode == 0
    assert run("modem", "-i", "x").returncode == 2  # --wire is required
    bad = tmp_path / "modem.toml"
    bad.write_text("beacon_interval = 'often'\n")
    proc = run("modem", "-i", "x", "--wire", "y", "--config", str(bad))
    assert proc.returncode == 2 and json.loads(proc.stderr)["code"] == "SLAC_CONFIG_ERROR"
    proc = run("modem", "-i", "x", "--wire", "y", "--drop", "1.5")
    assert proc.returncode == 2 and "probability" in json.loads(proc.stderr)["message"]
    proc = run("modem", "-i", "no-such-if0", "--wire", "no-such-if1")
    assert proc.returncode == 1 and json.loads(proc.stderr)["code"] == "SLAC_INTERFACE_ERROR"
