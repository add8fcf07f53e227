"""The EV emulator's scripted faults, and how our SECC answers each as the standard requires."""
import pytest

from iso15118.evcc import EvConfig, Evcc, run_in_process
from iso15118.evcc.faults import parse_fault
from iso15118.secc import SeccConfig
from iso15118.session.config import ConfigError
from iso15118.session.events import SessionSealed


def _sealed(result):
    return [e for e in result.secc_events if isinstance(e, SessionSealed)]


def test_late_charge_loop_request_trips_the_secc_0_5s_sequence_timeout():
    # The 3rd loop request follows a charge-loop response: 0.5 s sequence timeout [V2G20-1500].
    result = run_in_process(SeccConfig(), EvConfig(charge_loops=6, faults=("late:DC_ChargeLoopReq#3:0.7",)))
    assert result.secc.outcome == "timeout"
    assert [e.reason for e in _sealed(result)] == ["TIMEOUT_SEQUENCE"]
    assert result.summary["outcome"] == "aborted" and result.summary["faults"] == ["late:DC_ChargeLoopReq#3"]


def test_late_first_charge_loop_request_is_within_the_60s_after_power_delivery():
    result = run_in_process(SeccConfig(), EvConfig(charge_loops=3, faults=("late:DC_ChargeLoopReq:0.7",)))
    assert result.summary["outcome"] == "completed"


def test_late_request_within_60s_outside_the_loop_is_fine():
    result = run_in_process(SeccConfig(), EvConfig(charge_loops=3, faults=("late:ServiceDiscoveryReq:1.5",)))
    assert result.summary["outcome"] == "completed"


@pytest.mark.parametrize("request_name", ["AuthorizationSetupReq", "ScheduleExchangeReq", "DC_PreChargeReq",
                                          "DC_ChargeLoopReq", "SessionStopReq"])
def test_wrong_sequence_is_answered_failed_sequence_error_and_sealed(request_name):
    result = run_in_process(SeccConfig(), EvConfig(charge_loops=3, faults=(f"wrong-sequence:{request_name}",)))
    assert result.summary["outcome"] == "failed"
    assert result.summary["code"] == "FAILED_SequenceError"
    assert len(_sealed(result)) == 1


@pytest.mark.parametrize("request_name", ["ServiceDiscoveryReq", "DC_ChargeLoopReq", "DC_WeldingDetectionReq"])
def test_dropped_tcp_connection_is_sealed_by_the_secc(request_name):
    result = run_in_process(SeccConfig(), EvConfig(charge_loops=3, faults=(f"drop-tcp:{request_name}",)))
    assert result.summary["outcome"] == "aborted" and result.summary["code"] == "FAULT_DROP_TCP"
    assert result.secc.outcome == "aborted"
    assert [e.reason for e in _sealed(result)] == ["CONNECTION_LOST"]


def _pnc_run(pki, fault):
    from iso15118.secc import Station
    from iso15118.security.session_hooks import ContractSigner, ContractVerifier, MeteringVerifier
    verifier = ContractVerifier([pki.load_certificate("mo_root")])
    station = Station(SeccConfig(), contract_verifier=verifier,
                      metering_verifier=MeteringVerifier(verifier.contract_certificate))
    signer = ContractSigner(pki.load_private_key("contract"), pki.load_chain("contract"))
    return run_in_process(station, evcc=Evcc(EvConfig(auth="pnc", charge_loops=5, faults=(fault,)),
                                             contract_signer=signer))


def test_bad_authorization_signature_is_failed_signature_error(pki):
    result = _pnc_run(pki, "bad-signature:AuthorizationReq")
    assert result.summary["outcome"] == "failed" and result.summary["code"] == "FAILED_SignatureError"
    assert len(_sealed(result)) == 1


def test_bad_metering_confirmation_signature_is_failed_metering_signature_not_valid(pki):
    result = _pnc_run(pki, "bad-signature:MeteringConfirmationReq")
    assert result.summary["code"] == "FAILED_MeteringSignatureNotValid"
    assert len(_sealed(result)) == 1


@pytest.mark.parametrize("spec", ["late:DC_ChargeLoopReq", "explode:SessionSetupReq", "drop-tcp:Session",
                                  "late:DC_ChargeLoopReq:soon", "drop-tcp:DC_ChargeLoopReq#x"])
def test_malformed_fault_specs_are_config_errors(spec):
    with pytest.raises(ConfigError):
        parse_fault(spec)
