"""The site gateway process is killed (SIGKILL) in the middle of a session: on restart the meter seals the open
session with a signed final reading (OCMF TX "P") exactly once and the gateway ends the OCPP transaction with
it. The gateway runs as `python -m iso15118.site --config site.toml`; EV and CSMS run in the test process."""
import asyncio
import json
import signal
import sys
from pathlib import Path

import pytest
from pyocmf import OCMF

from iso15118.evcc import EvConfig, Evcc
from iso15118.evcc.client import run_session
from iso15118.security.session_hooks import ContractSigner
from iso15118.session.tls_contexts import ev_context
from metering import Journal
from metering.ocpp import LocalCsms
from tests.demo.artifact_checks import ended_end_record, meter_key_from_pem, transaction_code

pytestmark = pytest.mark.faults
REPO = Path(__file__).resolve().parents[2]


def _site_toml(tmp_path: Path, csms_url: str) -> Path:
    path = tmp_path / "site.toml"
    path.write_text(f"""
[site]
data_dir = "{tmp_path / 'data'}"
pki_dir = "{tmp_path / 'pki'}"
meter_time_scale = 60
tx_updated_interval_s = 0.3

[ocpp]
csms_url = "{csms_url}"
retry_back_off_wait_minimum = 0.2
retry_back_off_random_range = 0.1

[[connector]]
id = 1
evse_id = "DE*V2G*E0001"
sdp_port = 0
services = ["dc"]
""")
    return path


async def _start_gateway(config: Path) -> tuple[asyncio.subprocess.Process, dict]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "iso15118.site", "--config", str(config), cwd=REPO,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
    async with asyncio.timeout(60):
        while True:
            line = await proc.stdout.readline()
            assert line, "gateway exited before listening"
            event = json.loads(line)
            if event.get("event") == "listening":
                return proc, event


async def _wait_for(predicate, timeout: float = 20.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.05)


async def test_killed_gateway_seals_the_open_session_on_restart_and_ocpp_ended_carries_it(tmp_path):
    from certs import PkiConfig, create_pki
    pki = create_pki(tmp_path / "pki", PkiConfig())
    signer = ContractSigner(pki.load_private_key("contract"), pki.load_chain("contract"))
    async with LocalCsms() as csms:
        config = _site_toml(tmp_path, csms.url)
        proc, listening = await _start_gateway(config)
        evcc = Evcc(EvConfig(service="dc", auth="pnc", charge_loops=400, loop_period=0.05),
                    contract_signer=signer, metering_signer=signer)
        ev = asyncio.create_task(run_session(evcc, "::1", listening["port"], ssl_context=ev_context(tmp_path / "pki")))
        # Killed while charging, after the transaction reached the CSMS with at least one Updated.
        await _wait_for(lambda: any(e["eventType"] == "Updated" for e in csms.record.transaction_events))
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
        summary = await asyncio.wait_for(ev, 30)
        assert summary["outcome"] != "completed"
        sid = summary["session_id"]
        journal = Journal(str(tmp_path / "data" / "meter-1.sqlite"))
        assert journal.session_state(sid) == "open"  # nobody sealed it: the process died
        journal.close()

        proc, listening = await _start_gateway(config)
        try:
            assert listening["recovered"] == [sid]
            await _wait_for(lambda: any(e["eventType"] == "Ended" for e in csms.events(sid)))
        finally:
            proc.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(proc.wait(), 30) == 0
        journal = Journal(str(tmp_path / "data" / "meter-1.sqlite"))
        seals = journal.records(kind="session_seal", session_id=sid)
        journal.close()
        assert len(seals) == 1 and seals[0].body["reason"] == "restart"
        record = seals[0].body["ocmf"]
        assert transaction_code(record) == "P"  # OCMF: power failure / restart
        assert OCMF.from_string(record).verify_signature(meter_key_from_pem(tmp_path))
        events = csms.events(sid)
        assert [e["eventType"] for e in events].count("Ended") == 1
        assert ended_end_record(events[-1]) == record
        assert events[-1]["transactionInfo"]["stoppedReason"] == "Reboot"
        assert [e["seqNo"] for e in events] == list(range(len(events)))
