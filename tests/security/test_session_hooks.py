"""The adapters for the -20 machines' hooks: Message trees in, trees out; and full in-process sessions where
the real SECC/EVCC machines call them."""
import pytest

from certs import CertificateError
from iso15118.evcc.inprocess import run_in_process
from iso15118.evcc.machine import Evcc
from iso15118.secc.station import Station
from iso15118.security.session_hooks import (CertificateInstallationService, ContractInstaller, ContractSigner,
                                             ContractVerifier, MeteringVerifier)
from iso15118.session import codec
from iso15118.session.actions import Send
from iso15118.session.config import EvConfig, SeccConfig
from iso15118.session.messages import Message

from .helpers import CHALLENGE, SESSION_ID


def _authorization_message(signer, challenge=CHALLENGE, sign=True):
    mode = signer.authorization_mode(challenge)
    header = {"SessionID": SESSION_ID, "TimeStamp": 1_700_000_000}
    if sign:
        header["Signature"] = signer.sign_authorization_mode(mode)
    return Message("AuthorizationReq", {"Header": header, "SelectedAuthorizationService": "PnC",
                                        "PnC_AReqAuthorizationMode": mode})


def _contract_signer(pki):
    return ContractSigner(pki.load_private_key("contract"), pki.load_chain("contract"))


def test_contract_verifier_accepts_what_the_contract_signer_produced(pki):
    message = _authorization_message(_contract_signer(pki))
    verifier = ContractVerifier([pki.load_certificate("mo_root")])
    assert verifier.verify(message, codec.encode(message), CHALLENGE) == ("OK", pki.emaid)
    assert verifier.contract_certificate(SESSION_ID) == pki.load_certificate("contract")


def test_contract_verifier_reports_the_response_code_of_a_failure(pki_p521, other_pki):
    message = _authorization_message(_contract_signer(pki_p521), sign=False)
    verifier = ContractVerifier([pki_p521.load_certificate("mo_root")])
    assert verifier.verify(message, codec.encode(message), CHALLENGE) == ("FAILED_SignatureError", "")
    untrusted = ContractVerifier([other_pki.load_certificate("mo_root")])
    signed = _authorization_message(_contract_signer(pki_p521))
    assert untrusted.verify(signed, codec.encode(signed), CHALLENGE)[0] == "WARNING_CertificateValidationError"
    assert untrusted.contract_certificate(SESSION_ID) is None


def _metering_message(signer, energy=12_345):
    data = {"Id": "SignedMeteringData", "SessionID": SESSION_ID,
            "MeterInfo": {"MeterID": "M1", "ChargedEnergyReadingWh": energy}, "Dynamic_SMDTControlMode": {}}
    header = {"SessionID": SESSION_ID, "TimeStamp": 1_700_000_000, "Signature": signer.sign_metering_data(data)}
    return Message("MeteringConfirmationReq", {"Header": header, "SignedMeteringData": data})


def test_metering_verifier_checks_against_the_sessions_certificate(pki, other_pki):
    message = _metering_message(_contract_signer(pki))
    raw = codec.encode(message)
    assert MeteringVerifier(lambda sid: pki.load_certificate("contract")).verify(message, raw)
    assert not MeteringVerifier(lambda sid: None).verify(message, raw)
    assert not MeteringVerifier(lambda sid: other_pki.load_certificate("contract")).verify(message, raw)


def test_metering_verifier_falls_back_to_the_tls_vehicle_certificate_in_eim(pki, other_pki):
    message = _metering_message(ContractSigner(pki.load_private_key("vehicle"), pki.load_chain("vehicle")))
    raw = codec.encode(message)
    no_contract = MeteringVerifier(lambda sid: None)
    assert no_contract.verify(message, raw, pki.cert_der("vehicle").read_bytes())
    assert not no_contract.verify(message, raw, other_pki.cert_der("vehicle").read_bytes())
    assert not no_contract.verify(message, raw)


def test_metering_verifier_rejects_values_changed_after_signing(pki_p521):
    message = _metering_message(_contract_signer(pki_p521))
    message.body["SignedMeteringData"]["MeterInfo"]["ChargedEnergyReadingWh"] = 1
    assert not MeteringVerifier(lambda sid: pki_p521.load_certificate("contract")).verify(
        message, codec.encode(message))


# --- the real machines calling the hooks ----------------------------------------------------------------------

def _run_metering_session(pki, signer_key, certificate):
    station = Station(SeccConfig(metering_confirmation=True),
                      metering_verifier=MeteringVerifier(lambda sid: certificate))
    signer = ContractSigner(signer_key, pki.load_chain("vehicle"))
    evcc = Evcc(EvConfig(service="dc"), metering_signer=signer)
    return run_in_process(station, evcc=evcc)


def test_full_session_with_a_signed_metering_confirmation_verified_by_the_secc(pki_p521):
    result = _run_metering_session(pki_p521, pki_p521.load_private_key("vehicle"),
                                   pki_p521.load_certificate("vehicle"))
    assert result.summary["metering_confirmations"] == 1
    assert result.summary["outcome"] == "completed"


def test_full_session_with_a_wrongly_signed_confirmation_fails_metering_signature(pki_p521, other_pki):
    result = _run_metering_session(pki_p521, other_pki.load_private_key("vehicle"),
                                   pki_p521.load_certificate("vehicle"))
    assert result.summary["outcome"] != "completed"
    assert result.evcc.code == "FAILED_MeteringSignatureNotValid"


def _sign_authorization_in_flight(signer):
    """Stands in for the EVCC-side wiring (Header.Signature of the PnC AuthorizationReq, not yet in the
    EVCC): signs the EV's AuthorizationReq as it leaves."""
    def intercept(side, send):
        if side != "ev" or send.message.name != "AuthorizationReq" or "PnC_AReqAuthorizationMode" not in send.message.body:
            return send
        body = dict(send.message.body)
        body["Header"] = {**body["Header"], "Signature": signer.sign_authorization_mode(body["PnC_AReqAuthorizationMode"])}
        message = Message("AuthorizationReq", body)
        return Send(send.payload_type, codec.encode(message), message)
    return intercept


@pytest.mark.parametrize("trusted", [True, False])
def test_full_pnc_session_authorized_by_the_contract_verifier(pki, other_pki, trusted):
    roots = [(pki if trusted else other_pki).load_certificate("mo_root")]
    verifier = ContractVerifier(roots, clock=lambda: 1_800_000_000.0)
    station = Station(SeccConfig(), contract_verifier=verifier)
    signer = _contract_signer(pki)
    evcc = Evcc(EvConfig(service="dc", auth="pnc"), contract_signer=signer)
    result = run_in_process(station, evcc=evcc, intercept=_sign_authorization_in_flight(signer))
    if trusted:
        assert result.summary["outcome"] == "completed"
        assert verifier.contract_certificate(result.secc.ctx.session_id) == pki.load_certificate("contract")
    else:
        assert result.summary["outcome"] != "completed"
        assert result.evcc.ctx.response_codes["AuthorizationRes"] == "WARNING_CertificateValidationError"


# --- CertificateInstallation through the hooks -------------------------------------------------------------------

def _installer(pki, roots_pki=None):
    return ContractInstaller(pki.load_private_key("oem_prov"), pki.load_chain("oem_prov"),
                             [(roots_pki or pki).load_certificate("v2g_root")], pki.pcid)


def _service(pki, oem_roots_pki=None):
    return CertificateInstallationService([(oem_roots_pki or pki).load_certificate("oem_root")],
                                          pki.load_private_key("contract"), pki.load_chain("contract"),
                                          pki.load_private_key("cps"), pki.load_chain("cps"))


def _installation_request(installer):
    body = installer.request_body()
    header = {"SessionID": SESSION_ID, "TimeStamp": 1_700_000_000, "Signature": installer.sign_request(body)}
    return Message("CertificateInstallationReq", {"Header": header, **body})


def test_certificate_installation_through_the_hooks_then_pnc_authorization(pki_p521):
    installer = _installer(pki_p521)
    request = _installation_request(installer)
    reply = _service(pki_p521).respond(request, codec.encode(request),
                                       {"SessionID": SESSION_ID, "TimeStamp": 1_700_000_001})
    assert reply.response_code == "OK" and reply.error is None
    response = Message("CertificateInstallationRes", {"ResponseCode": reply.response_code, **reply.body})
    raw = codec.encode(response)
    received, _ = codec.decode(0x8002, raw)
    signer = installer.accept(received, raw)
    # the delivered contract key authorizes a PnC session
    message = _authorization_message(signer)
    verifier = ContractVerifier([pki_p521.load_certificate("mo_root")])
    assert verifier.verify(message, codec.encode(message), CHALLENGE) == ("OK", pki_p521.emaid)


def test_installation_request_from_an_untrusted_oem_is_refused(pki_p521, other_pki):
    request = _installation_request(_installer(pki_p521))
    reply = _service(pki_p521, oem_roots_pki=other_pki).respond(request, codec.encode(request),
                                                                {"SessionID": SESSION_ID, "TimeStamp": 1})
    assert (reply.response_code, reply.body) == ("FAILED", {}) and reply.error.code == "ERR_CERT_UNTRUSTED"


def test_installation_request_with_a_bad_signature_is_a_signature_error(pki_p521, other_pki):
    request = _installation_request(_installer(pki_p521))
    request.body["Header"]["Signature"] = _installer(other_pki).sign_request(_installer(pki_p521).request_body())
    reply = _service(pki_p521).respond(request, codec.encode(request), {"SessionID": SESSION_ID, "TimeStamp": 1})
    assert reply.response_code == "FAILED_SignatureError" and reply.error.code == "ERR_SIG_INVALID"


def test_ev_rejects_an_installation_response_from_an_untrusted_cps(pki_p521, other_pki):
    request = _installation_request(_installer(pki_p521))
    reply = _service(pki_p521).respond(request, codec.encode(request), {"SessionID": SESSION_ID, "TimeStamp": 1})
    response = Message("CertificateInstallationRes", {"ResponseCode": reply.response_code, **reply.body})
    with pytest.raises(CertificateError):
        _installer(pki_p521, roots_pki=other_pki).accept(response, codec.encode(response))
