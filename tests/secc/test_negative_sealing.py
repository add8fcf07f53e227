"""Every way a session goes wrong, with the metering package's Meter (emulated chip, signed journal) behind the
SECC: each out-of-sequence request, each timeout, each bad signature and bad certificate is answered with the
code the standard requires, and the metering session is sealed exactly once with a signed final reading.

Expected codes come from the standard (facts §4.5-§4.7, §5, §3.3): FAILED_SequenceError, V2G_SECC_Sequence_Timeout
(0.5 s in the loop, 60 s otherwise), the 55 s Ongoing limit, FAILED_SignatureError, FAILED_MeteringSignatureNotValid,
WARNING_Certificate* for an untrusted contract chain, FAILED for a refused certificate installation,
FAILED_ScheduleRenegotiation; a lost connection seals as CONNECTION_LOST.
"""
import pytest

from iso15118.evcc import EvConfig, Evcc, run_in_process
from iso15118.secc import SeccConfig, SimulatedCharger, Station
from iso15118.secc.metered import metered_connector
from iso15118.session.events import SessionSealed


@pytest.fixture
def meter(tmp_path):
    from metering import Meter, MeterConfig
    m = Meter(MeterConfig(journal_path=str(tmp_path / "journal.sqlite"), key_path=str(tmp_path / "meter.pem")))
    yield m
    m.close()


def _station(meter, pki, **config):
    from iso15118.security.session_hooks import CertificateInstallationService, ContractVerifier, MeteringVerifier
    verifier = ContractVerifier([pki.load_certificate("mo_root")])
    installation = CertificateInstallationService(
        [pki.load_certificate("oem_root")], pki.load_private_key("contract"), pki.load_chain("contract"),
        pki.load_private_key("cps"), pki.load_chain("cps"))
    return Station(SeccConfig(**config), lambda cfg: metered_connector(SimulatedCharger(cfg.charger), meter),
                   contract_verifier=verifier, metering_verifier=MeteringVerifier(verifier.contract_certificate),
                   certificate_installation=installation)


def _signer(pki):
    from iso15118.security.session_hooks import ContractSigner
    return ContractSigner(pki.load_private_key("contract"), pki.load_chain("contract"))


def _drop_secc_response(name):
    def intercept(side, send):
        return None if side == "secc" and send.message.name == name else send
    return intercept


def _renegotiation_ignored(station):
    count = {"n": 0}

    def intercept(side, send):
        if side == "secc" and send.message.name.endswith("ChargeLoopRes"):
            count["n"] += 1
            if count["n"] == 2:
                station.sessions[-1].request_renegotiation()
        return send
    return intercept


# id: (SECC config, EV config, EV hooks(pki, other_pki), intercept(station) or None,
#      (where the code is seen, expected code), expected seal reason)
CASES = {
    "out-of-sequence-in-loop": ({}, dict(faults=("wrong-sequence:DC_ChargeLoopReq",)), None, None,
                                ("ev", "FAILED_SequenceError"), "FAILED_SequenceError"),
    "out-of-sequence-before-authorization": ({}, dict(faults=("wrong-sequence:AuthorizationSetupReq",)), None,
                                             None, ("ev", "FAILED_SequenceError"), "FAILED_SequenceError"),
    "timeout-loop-0.5s": ({}, dict(faults=("late:DC_ChargeLoopReq#3:0.7",)), None, None,
                          ("secc", "TIMEOUT_SEQUENCE"), "TIMEOUT_SEQUENCE"),
    "timeout-60s": ({}, dict(faults=("late:ServiceDetailReq:61",)), None, None,
                    ("secc", "TIMEOUT_SEQUENCE"), "TIMEOUT_SEQUENCE"),
    "timeout-ongoing-55s": (dict(eim_ongoing_rounds=10_000), dict(loop_period=0.5), None, None,
                            ("ev", "FAILED"), "FAILED"),
    "dropped-tcp": ({}, dict(faults=("drop-tcp:DC_ChargeLoopReq#2",)), None, None,
                    ("secc", "CONNECTION_LOST"), "CONNECTION_LOST"),
    "bad-signature-authorization": ({}, dict(auth="pnc", faults=("bad-signature:AuthorizationReq",)),
                                    lambda pki, other: dict(contract_signer=_signer(pki)), None,
                                    ("ev", "FAILED_SignatureError"), "FAILED_SignatureError"),
    "bad-signature-metering-confirmation": (
        {}, dict(auth="pnc", faults=("bad-signature:MeteringConfirmationReq",)),
        lambda pki, other: dict(contract_signer=_signer(pki)), None,
        ("ev", "FAILED_MeteringSignatureNotValid"), "FAILED_MeteringSignatureNotValid"),
    "metering-confirmation-signed-by-another-key": (
        {}, dict(auth="pnc"), lambda pki, other: dict(contract_signer=_signer(pki), metering_signer=_signer(other)),
        None, ("ev", "FAILED_MeteringSignatureNotValid"), "FAILED_MeteringSignatureNotValid"),
    "bad-certificate-untrusted-contract": (
        {}, dict(auth="pnc"), lambda pki, other: dict(contract_signer=_signer(other)), None,
        ("AuthorizationRes", "WARNING_Certificate"), None),
    "bad-certificate-unknown-oem-installation": (
        dict(certificate_installation=True), dict(auth="pnc"),
        lambda pki, other: dict(contract_installer=_installer(other, pki)), None,
        ("CertificateInstallationRes", "FAILED"), "FAILED"),
    "schedule-renegotiation-ignored": (
        dict(metering_confirmation=False), dict(charge_loops=400, loop_period=0.2, follow_renegotiation_requests=False),
        None, _renegotiation_ignored, ("ev", "FAILED_ScheduleRenegotiation"), "FAILED_ScheduleRenegotiation"),
}

# Each unanswered request: the EV gives up after V2G_EVCC_Msg_Timeout and closes; the SECC seals on the lost
# connection (or, in the loop, possibly on its own 0.5 s sequence timeout, whichever comes first), or had
# already sealed normally when only the SessionStopRes was lost.
for _response, _reason in [("SessionSetupRes", "CONNECTION_LOST"), ("AuthorizationRes", "CONNECTION_LOST"),
                           ("ServiceDetailRes", "CONNECTION_LOST"), ("DC_CableCheckRes", "CONNECTION_LOST"),
                           ("PowerDeliveryRes", "CONNECTION_LOST"),
                           ("DC_ChargeLoopRes", {"CONNECTION_LOST", "TIMEOUT_SEQUENCE"}),
                           ("DC_WeldingDetectionRes", "CONNECTION_LOST"), ("SessionStopRes", "normal")]:
    CASES[f"timeout-ev-msg-{_response}"] = ({}, {}, None, lambda station, r=_response: _drop_secc_response(r),
                                            ("ev", "TIMEOUT_MSG"), _reason)


def _installer(oem_pki, pki):
    from iso15118.security.session_hooks import ContractInstaller
    return ContractInstaller(oem_pki.load_private_key("oem_prov"), oem_pki.load_chain("oem_prov"),
                             [pki.load_certificate("v2g_root")], oem_pki.pcid)


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_failure_is_answered_as_required_and_sealed_once_with_a_signed_final_reading(case, meter, pki, other_pki):
    from metering import verify_meter_info
    secc_config, ev_config, hooks, intercept, (where, code), seal_reason = CASES[case]
    station = _station(meter, pki, **secc_config)
    evcc = Evcc(EvConfig(**{"charge_loops": 6, **ev_config}), **(hooks(pki, other_pki) if hooks else {}))
    result = run_in_process(station, evcc=evcc, intercept=intercept(station) if intercept else None)
    if where == "ev":
        assert result.summary["code"] == code
    elif where == "secc":
        assert result.secc.outcome in ("timeout", "aborted") and any(
            e.reason == code for e in result.secc_events if isinstance(e, SessionSealed))
    else:
        assert result.evcc.ctx.response_codes[where].startswith(code)
    assert result.summary["outcome"] != "completed"
    sealed = [e for e in result.secc_events if isinstance(e, SessionSealed)]
    assert len(sealed) == 1
    if isinstance(seal_reason, set):
        assert sealed[0].reason in seal_reason
    elif seal_reason is not None:
        assert sealed[0].reason == seal_reason
    sid = sealed[0].session_id.hex()
    assert meter.journal.session_state(sid) == "sealed"
    seals = [r for r in meter.session_readings(sid) if r.kind == "session_seal"]
    assert len(seals) == 1  # exactly once
    verify_meter_info(seals[0].meter_info, meter.public_key_der())  # raises if the final reading is not signed
    assert [r.body.get("reason") for r in meter.journal.records(session_id=sid) if r.kind == "session_seal"] \
        == [sealed[0].reason]
