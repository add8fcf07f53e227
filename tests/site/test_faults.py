"""Fault tests through the full stack (virtual PLC + SLAC, SDP, TLS 1.3, -20 DC, pty pilot board, simulated-time
meter, local OCPP CSMS): every fault ends the session with exactly one seal in the meter's journal, a signed
final reading that verifies with pyocmf, and an OCPP Ended event carrying that very record."""
import asyncio
import base64

import pytest
from ocpp.v201.enums import ReasonEnumType, TriggerReasonEnumType
from pyocmf import OCMF

from iso15118.demo import DemoOptions, run_demo
from metering import Journal
from tests.demo import artifact_checks as check

pytestmark = pytest.mark.faults

# fault → (seal reason, OCPP stoppedReason) expected. The OCMF end of an aborted transaction is TX "A" (abort
# by error, OCMF §1.3) whatever the fault.
FAULTS = {
    "cp-e": ("CP_STATE_E", "EmergencyStop"),
    "cp-f": ("CP_STATE_F", "EmergencyStop"),
    "pwm-loss": ("CP_PWM_LOST", "Other"),
    "snr-drop": ("PLC_LINK_LOST", "Other"),
    "tcp-cut": ("CONNECTION_LOST", "Other"),
}


def _run(tmp_path, fault: str | None):
    # 12 loops (1.2 s real, 72 s of meter time) before the fault: with 4, a loaded box sometimes did not step the
    # simulated meter clock between the begin and the fault, and the seal showed no energy at all.
    options = DemoOptions(service="dc", auth="pnc", fault=fault, out=tmp_path, charge_loops=40,
                          fault_after_loops=12, quiet=True)
    return asyncio.run(run_demo(options))


def _seals(out, session_id: str):
    journal = Journal(str(out / "data" / "meter-1.sqlite"))
    try:
        return journal.records(kind="session_seal", session_id=session_id)
    finally:
        journal.close()


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_fault_seals_once_with_a_signed_final_reading_that_ocpp_ended_carries(tmp_path, fault):
    result = _run(tmp_path, fault)
    reason, stopped = FAULTS[fault]
    sid = result["session_id"]
    assert result["ev"]["outcome"] != "completed"
    seals = _seals(tmp_path, sid)
    assert len(seals) == 1 and seals[0].body["reason"] == reason
    seal_record = seals[0].body["ocmf"]
    assert OCMF.from_string(seal_record).verify_signature(check.public_key_hex(tmp_path))
    assert check.transaction_code(seal_record) == "A"
    events = check.csms_events(tmp_path)
    ended = [e for e in events if e["eventType"] == "Ended"]
    assert len(ended) == 1 and events[-1] is ended[0]
    assert check.ended_end_record(ended[0]) == seal_record
    assert ended[0]["transactionInfo"].get("stoppedReason") == stopped
    assert ended[0]["transactionInfo"]["stoppedReason"] in {r.value for r in ReasonEnumType}
    assert ended[0]["triggerReason"] in {r.value for r in TriggerReasonEnumType}
    # Power stopped with the fault: the seal's energy is what flowed up to it, not a full session's.
    assert check.import_kwh(seal_record) - check.import_kwh(check.records(tmp_path)[0]) > 0


def test_csms_outage_mid_session_every_event_arrives_once_in_order_with_offline_flags(tmp_path):
    result = _run(tmp_path, "csms-offline")
    assert result["ev"]["outcome"] == "completed"
    events = check.csms_events(tmp_path)
    assert [e["seqNo"] for e in events] == list(range(len(events)))  # once each, in order
    assert result["csms"]["duplicates"] == 0
    kinds = [e["eventType"] for e in events]
    assert kinds[0] == "Started" and kinds[-1] == "Ended" and kinds.count("Ended") == 1
    offline = [e.get("offline", False) for e in events]
    assert not offline[0] and offline[-1]  # Started before the outage; Ended queued while it lasted
    assert offline == sorted(offline)  # once offline, every later event was queued offline
    seals = _seals(tmp_path, result["session_id"])
    assert len(seals) == 1 and check.ended_end_record(events[-1]) == seals[0].body["ocmf"]
    for event in events:
        for value in event.get("meterValue", []):
            for sampled in value["sampledValue"]:
                record = base64.b64decode(sampled["signedMeterValue"]["signedMeterData"]).decode()
                assert OCMF.from_string(record).verify_signature(check.public_key_hex(tmp_path))
