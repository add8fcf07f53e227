"""Plug & Charge through the gateway: the CSMS authorizes the contract (OCPP 2.0.1 Authorize with the eMAID and
the ISO 15118 certificate hash data) before the SECC accepts it. With TxStartPoint Authorized (default) the
transaction starts with the contract's idToken; with EVConnected it starts when the EV connects and a refused
contract or an early fault still ends it with the seal's signed values."""
import pytest
from cryptography.x509.oid import NameOID

from iso15118.evcc import EvConfig, Evcc
from iso15118.evcc.client import run_session
from iso15118.site import ConnectorConfig, SiteConfig, SiteGateway
from metering import Journal
from metering.ocpp import LocalCsms


async def _pnc_session(pki_dir, data_dir, blocked: set[str] = frozenset(), authorize_delay_s: float = 0.0,
                       trace=None, ocpp: dict | None = None, prepare=None):
    """`prepare(csms, site)` runs once the gateway is online, before the EV connects."""
    from certs import Pki
    from iso15118.security.session_hooks import ContractSigner
    from iso15118.session.tls_contexts import ev_context
    pki = Pki.load(pki_dir)
    signer = ContractSigner(pki.load_private_key("contract"), pki.load_chain("contract"))
    async with LocalCsms(heartbeat_interval=3600) as csms:
        csms.blocked_tokens.update(blocked)
        if authorize_delay_s:
            csms.delay_next("Authorize", 1, authorize_delay_s)
        config = SiteConfig(connectors=(ConnectorConfig(1, sdp_port=None, services=("dc",)),),
                            data_dir=str(data_dir), pki_dir=pki_dir, meter_time_scale=60.0,
                            ocpp={"csms_url": csms.url, **(ocpp or {})})
        async with SiteGateway(config, trace=trace) as site:
            await site.ocpp[1].wait_online(10)  # (offline, the verified contract is accepted without the CSMS)
            if prepare is not None:
                prepare(csms, site)
            ev = Evcc(EvConfig(service="dc", auth="pnc", charge_loops=3, loop_period=0.05),
                      contract_signer=signer, metering_signer=signer)
            summary = await run_session(ev, "::1", site.evses[1].port, ssl_context=ev_context(pki_dir))
            await site.drain(timeout=30)
        return summary, csms.record, pki


def _emaid(pki) -> str:
    return pki.load_chain("contract")[0].subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value


async def test_pnc_contract_is_authorized_by_the_csms_with_its_certificate_hash_data(pki_dir, tmp_path):
    from metering.ocpp import certificate_hash_data
    summary, record, pki = await _pnc_session(pki_dir, tmp_path)
    assert summary["outcome"] == "completed"
    [auth] = record.authorizations
    assert auth["id_token"] == {"id_token": _emaid(pki), "type": "eMAID"}
    contract, sub_ca = pki.load_chain("contract")[:2]
    assert auth["iso15118_certificate_hash_data"][0] == certificate_hash_data(contract, sub_ca)
    triggers = [(e["eventType"], e["triggerReason"]) for e in record.transaction_events]
    assert triggers[:2] == [("Started", "Authorized"), ("Updated", "SignedDataReceived")] and triggers[-1][0] == "Ended"
    assert record.transaction_events[0]["idToken"] == {"idToken": _emaid(pki), "type": "eMAID"}


def _journal_session(data_dir):
    journal = Journal(str(data_dir / "meter-1.sqlite"))
    try:
        [begin] = journal.records(kind="session_begin")
        [seal] = journal.records(kind="session_seal")
        return begin.session_id, begin.body["ocmf"], seal.body
    finally:
        journal.close()


async def test_a_contract_the_csms_blocks_ends_its_transaction_deauthorized_with_the_seal(pki_dir, tmp_path):
    from certs import Pki
    summary, record, _ = await _pnc_session(pki_dir, tmp_path, blocked={_emaid(Pki.load(pki_dir))},
                                            ocpp={"TxStartPoint": "EVConnected"})
    assert summary["outcome"] != "completed"
    assert len(record.authorizations) == 1
    session_id, begin_ocmf, seal = _journal_session(tmp_path)
    started, ended = record.transaction_events
    assert (started["eventType"], started["triggerReason"]) == ("Started", "EVDetected")
    assert started["transactionInfo"]["transactionId"] == ended["transactionInfo"]["transactionId"] == session_id
    assert (ended["eventType"], ended["triggerReason"], ended["transactionInfo"]["stoppedReason"]) == (
        "Ended", "Deauthorized", "DeAuthorized")
    signed = {(v.context, v.ocmf) for v in record.signed_values}
    assert signed == {("Transaction.Begin", begin_ocmf), ("Transaction.End", seal["ocmf"])}


async def test_by_default_a_refused_contract_opens_no_transaction_and_its_seal_is_logged(pki_dir, tmp_path, caplog):
    from certs import Pki
    summary, record, _ = await _pnc_session(pki_dir, tmp_path, blocked={_emaid(Pki.load(pki_dir))})
    assert summary["outcome"] != "completed"
    assert record.transaction_events == []
    session_id, _, _ = _journal_session(tmp_path)  # sealed in the meter journal all the same, and logged
    assert "seal_without_transaction" in caplog.text and session_id in caplog.text


async def test_from_ev_connected_a_pilot_fault_during_authorization_ends_the_transaction_with_the_seal(
        pki_dir, tmp_path):
    import asyncio

    def fault_when_authorize_arrives(csms, site):
        def on_call(_station, action, _payload):
            if action == "Authorize":  # the SECC answers Ongoing meanwhile: no service selected yet
                asyncio.ensure_future(site.evses[1].abort("CP_STATE_E", "pilot in state E"))
        csms.on_call = on_call
        csms.delay_next("Authorize", 1, 1.0)  # the answer comes after the fault

    summary, record, _ = await _pnc_session(pki_dir, tmp_path, prepare=fault_when_authorize_arrives,
                                            ocpp={"TxStartPoint": "EVConnected"})
    assert summary["outcome"] != "completed"
    session_id, begin_ocmf, seal = _journal_session(tmp_path)
    assert seal["reason"] == "CP_STATE_E"
    started, ended = record.transaction_events
    assert (started["triggerReason"], "meterValue" in started) == ("EVDetected", False)
    assert ended["transactionInfo"]["transactionId"] == session_id
    # A pilot in state E is an emergency stop in OCPP terms (ReasonEnumType), whatever the session state.
    assert (ended["triggerReason"], ended["transactionInfo"]["stoppedReason"]) == ("AbnormalCondition",
                                                                                   "EmergencyStop")
    assert {(v.context, v.ocmf) for v in record.signed_values} == {("Transaction.Begin", begin_ocmf),
                                                                    ("Transaction.End", seal["ocmf"])}


async def test_the_ev_repeating_its_signed_request_while_the_csms_decides_is_verified_once(pki_dir, tmp_path,
                                                                                          monkeypatch):
    from iso15118.security.session_hooks import ContractVerifier
    verified = []
    original = ContractVerifier.verify

    def counting(self, request, raw, gen_challenge):
        verified.append(request["Header"]["SessionID"])
        return original(self, request, raw, gen_challenge)

    monkeypatch.setattr(ContractVerifier, "verify", counting)
    requests = []

    def trace(direction, _payload_type, message, _now):
        if direction == "rx" and message.name == "AuthorizationReq":
            requests.append(message)

    # The CSMS answers Authorize after 0.5 s; the EV repeats AuthorizationReq every 0.05 s meanwhile.
    summary, record, _ = await _pnc_session(pki_dir, tmp_path, authorize_delay_s=0.5, trace=trace)
    assert summary["outcome"] == "completed"
    assert len(record.authorizations) == 1
    assert len(requests) >= 3, "the EV did not repeat its request while Ongoing"
    assert len(verified) == 1


def test_a_repeated_request_with_other_signed_content_is_verified_again():
    from iso15118.session.messages import Message
    from iso15118.site.authorize import RepeatedRequestVerifier

    class Verifier:
        calls = 0

        def verify(self, request, raw, gen_challenge):
            Verifier.calls += 1
            return ("OK", "EMAID1") if request["Header"]["Signature"] == "good" else ("FAILED_SignatureError", "")

    def request(signature, chain=b"chain"):
        return Message("AuthorizationReq", {"Header": {"SessionID": b"S1", "Signature": signature},
                                            "PnC_AReqAuthorizationMode": {"GenChallenge": b"c", "Chain": chain}})

    verifier = RepeatedRequestVerifier(Verifier())
    assert verifier.verify(request("good"), b"", b"c") == ("OK", "EMAID1")
    assert verifier.verify(request("good"), b"", b"c") == ("OK", "EMAID1")
    assert Verifier.calls == 1
    assert verifier.verify(request("forged"), b"", b"c") == ("FAILED_SignatureError", "")
    assert verifier.verify(request("good", chain=b"other"), b"", b"c") == ("OK", "EMAID1")
    assert verifier.verify(request("good", chain=b"other"), b"", b"other challenge") == ("OK", "EMAID1")
    assert Verifier.calls == 4
