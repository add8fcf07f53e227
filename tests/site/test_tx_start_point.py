"""TxCtrlr.TxStartPoint in the gateway, changed by the CSMS over the real websocket (SetVariables): the next
session opens its transaction at the new point; what a start point reached before it (idToken, signed begin)
rides in Started, what comes after in Updated events (Authorized, SignedDataReceived)."""
import asyncio

from ocpp.v201 import call

from iso15118.evcc import EvConfig, Evcc
from iso15118.evcc.client import run_session
from iso15118.session.events import Authorized
from iso15118.site import ConnectorConfig, SiteConfig, SiteGateway
from metering.ocpp import LocalCsms


def _fault_once_authorized(site):
    """A pilot fault as soon as the session is authorized: before the EV can select a service."""
    def on_event(_connector, event):
        if isinstance(event, Authorized):
            asyncio.ensure_future(site[0].evses[1].abort("CP_STATE_E", "pilot in state E"))
    return on_event


async def _eim_session(data_dir, start_point: str | None, fault: bool = False):
    site_ref = []
    async with LocalCsms(heartbeat_interval=3600) as csms:
        config = SiteConfig(connectors=(ConnectorConfig(1, sdp_port=None, services=("ac",)),), tls=False,
                            data_dir=str(data_dir), meter_time_scale=60.0, tx_updated_interval_s=0.0,
                            ocpp={"csms_url": csms.url})
        async with SiteGateway(config, on_event=_fault_once_authorized(site_ref) if fault else None) as site:
            site_ref.append(site)
            await site.ocpp[1].wait_online(10)
            if start_point is not None:
                result = await csms.call("CS001", call.SetVariables(set_variable_data=[{
                    "component": {"name": "TxCtrlr"}, "variable": {"name": "TxStartPoint"},
                    "attribute_value": start_point}]))
                assert result.set_variable_result[0]["attribute_status"] == "Accepted"
            ev = Evcc(EvConfig(service="ac", auth="eim", charge_loops=3, loop_period=0.05))
            summary = await run_session(ev, "::1", site.evses[1].port)
            await site.drain(timeout=30)
    assert (summary["outcome"] == "completed") is not fault
    return csms.record, [(e["eventType"], e["triggerReason"], sorted({sv["context"] for mv in e.get("meterValue", [])
                                                          for sv in mv["sampledValue"]}), "idToken" in e)
            for e in csms.record.transaction_events]


async def test_start_point_power_path_closed_opens_charging_at_the_first_power_request(tmp_path):
    record, events = await _eim_session(tmp_path, "PowerPathClosed")
    assert events == [("Started", "ChargingStateChanged", ["Transaction.Begin"], True),
                      ("Ended", "ChargingStateChanged", ["Transaction.Begin", "Transaction.End"], False)]
    assert record.transaction_events[0]["transactionInfo"]["chargingState"] == "Charging"


async def test_by_default_a_fault_after_authorization_before_service_selection_ends_with_the_seal(tmp_path):
    from metering import Journal
    record, events = await _eim_session(tmp_path, None, fault=True)
    journal = Journal(str(tmp_path / "meter-1.sqlite"))
    try:
        [begin] = journal.records(kind="session_begin")
        [seal] = journal.records(kind="session_seal")
    finally:
        journal.close()
    assert seal.body["reason"] == "CP_STATE_E"
    assert events == [("Started", "Authorized", [], True),
                      ("Ended", "AbnormalCondition", ["Transaction.Begin", "Transaction.End"], False)]
    ended = record.transaction_events[-1]
    assert ended["transactionInfo"] == {"transactionId": begin.session_id, "chargingState": "Idle",
                                        "stoppedReason": "EmergencyStop"}
    assert {(v.context, v.ocmf) for v in record.signed_values} == {("Transaction.Begin", begin.body["ocmf"]),
                                                                    ("Transaction.End", seal.body["ocmf"])}


async def test_default_start_point_authorized_opens_with_the_token_then_reports_the_signed_begin(tmp_path):
    _, events = await _eim_session(tmp_path, None)
    assert events == [("Started", "Authorized", [], True),
                      ("Updated", "SignedDataReceived", ["Transaction.Begin"], False),
                      ("Ended", "ChargingStateChanged", ["Transaction.Begin", "Transaction.End"], False)]


async def test_start_point_ev_connected_set_by_the_csms_opens_before_authorization(tmp_path):
    _, events = await _eim_session(tmp_path, "EVConnected")
    assert events == [("Started", "EVDetected", [], False), ("Updated", "Authorized", [], True),
                      ("Updated", "SignedDataReceived", ["Transaction.Begin"], False),
                      ("Ended", "ChargingStateChanged", ["Transaction.Begin", "Transaction.End"], False)]


async def test_start_point_data_signed_set_by_the_csms_opens_with_the_signed_begin(tmp_path):
    _, events = await _eim_session(tmp_path, "DataSigned")
    assert events == [("Started", "SignedDataReceived", ["Transaction.Begin"], True),
                      ("Ended", "ChargingStateChanged", ["Transaction.Begin", "Transaction.End"], False)]


async def test_a_transaction_opened_before_the_metering_session_is_ended_with_a_signed_seal_after_a_restart(
        tmp_path):
    from metering import Journal
    from metering.ocpp import id_token
    tid = "0123456789abcdef"
    async with LocalCsms(heartbeat_interval=3600) as csms:
        config = SiteConfig(connectors=(ConnectorConfig(1, sdp_port=None, services=("ac",)),), tls=False,
                            data_dir=str(tmp_path), meter_time_scale=60.0, tx_updated_interval_s=0.0,
                            ocpp={"csms_url": csms.url})
        async with SiteGateway(config) as site:  # stopped right after Started (Authorized): no metering session yet
            await site.ocpp[1].wait_online(10)
            await site.ocpp[1].start_transaction(None, site.meters[1].public_key_der(), evse_id=1,
                                                 id_token=id_token("EVCC01", "Local"), transaction_id=tid)
            await site.ocpp[1].wait_idle(10)
        async with SiteGateway(config) as site:
            assert site.evses[1].recovered == [tid]
            await site.drain(timeout=30)
    journal = Journal(str(tmp_path / "meter-1.sqlite"))
    try:
        [begin] = journal.records(kind="session_begin", session_id=tid)
        [seal] = journal.records(kind="session_seal", session_id=tid)
    finally:
        journal.close()
    started, ended = csms.events(tid)
    assert (ended["eventType"], ended["transactionInfo"]["stoppedReason"], seal.body["reason"]) == (
        "Ended", "Reboot", "restart")
    assert {(v.context, v.ocmf) for v in csms.record.signed_values} == {("Transaction.Begin", begin.body["ocmf"]),
                                                                        ("Transaction.End", seal.body["ocmf"])}
