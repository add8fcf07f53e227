"""Plug & Charge end to end in process: the EVCC signs its AuthorizationReq with the contract key, the SECC
verifies signature and contract chain (iso15118.security hooks); CertificateInstallation delivers the contract
first when the EV has none; MeteringConfirmation signed with the contract key is verified and stored."""
import pytest

from iso15118.evcc import EvConfig, Evcc, run_in_process
from iso15118.secc import SeccConfig, Station
from iso15118.security.session_hooks import (CertificateInstallationService, ContractInstaller, ContractSigner,
                                             ContractVerifier, MeteringVerifier)
from iso15118.session.events import Authorized, SessionSealed


def _station(pki, **config):
    verifier = ContractVerifier([pki.load_certificate("mo_root")])
    service = CertificateInstallationService([pki.load_certificate("oem_root")], pki.load_private_key("contract"),
                                             pki.load_chain("contract"), pki.load_private_key("cps"),
                                             pki.load_chain("cps"))
    return Station(SeccConfig(**config), contract_verifier=verifier,
                   metering_verifier=MeteringVerifier(verifier.contract_certificate),
                   certificate_installation=service)


def _signer(pki):
    return ContractSigner(pki.load_private_key("contract"), pki.load_chain("contract"))


@pytest.mark.parametrize("service", ["dc_bpt", "ac"])
def test_pnc_session_is_authorized_by_contract_signature_and_metering_is_confirmed(pki, service):
    signer = _signer(pki)
    evcc = Evcc(EvConfig(service=service, auth="pnc", charge_loops=6), contract_signer=signer,
                metering_signer=signer)
    result = run_in_process(_station(pki), evcc=evcc)
    s = result.summary
    assert s["outcome"] == "completed" and s["auth"] == "PnC"
    authorized = [e for e in result.secc_events if isinstance(e, Authorized)]
    assert authorized and authorized[0].method == "PnC" and authorized[0].identity == pki.emaid
    assert s["metering_confirmations"] == 1
    stored = result.secc.ctx.connector.meter.confirmations[result.secc.ctx.session_id]
    assert len(stored) == 1


def test_contract_from_an_untrusted_mobility_operator_is_not_authorized(pki, other_pki):
    signer = _signer(other_pki)
    evcc = Evcc(EvConfig(auth="pnc", charge_loops=3), contract_signer=signer)
    result = run_in_process(_station(pki), evcc=evcc)
    assert result.summary["outcome"] != "completed"
    assert result.evcc.ctx.response_codes["AuthorizationRes"].startswith("WARNING_Certificate")
    assert result.summary["charge_loops"] == 0


def test_metering_confirmation_signed_with_another_key_fails_and_seals(pki, other_pki):
    evcc = Evcc(EvConfig(auth="pnc", charge_loops=6), contract_signer=_signer(pki),
                metering_signer=_signer(other_pki))
    result = run_in_process(_station(pki), evcc=evcc)
    assert result.summary["outcome"] == "failed"
    assert result.summary["code"] == "FAILED_MeteringSignatureNotValid"
    assert sum(isinstance(e, SessionSealed) for e in result.secc_events) == 1


def test_certificate_installation_then_pnc_with_the_delivered_contract(pki):
    installer = ContractInstaller(pki.load_private_key("oem_prov"), pki.load_chain("oem_prov"),
                                  [pki.load_certificate("v2g_root")], pki.pcid)
    evcc = Evcc(EvConfig(auth="pnc", charge_loops=3), contract_installer=installer)
    result = run_in_process(_station(pki, certificate_installation=True), evcc=evcc)
    s = result.summary
    assert s["outcome"] == "completed" and s["auth"] == "PnC" and s["contract_installed"] is True
    assert result.evcc.ctx.response_codes["CertificateInstallationRes"] == "OK"


def test_certificate_installation_from_an_unknown_oem_fails_with_a_schema_valid_response(pki, other_pki):
    installer = ContractInstaller(other_pki.load_private_key("oem_prov"), other_pki.load_chain("oem_prov"),
                                  [pki.load_certificate("v2g_root")], other_pki.pcid)
    evcc = Evcc(EvConfig(auth="pnc", charge_loops=3), contract_installer=installer)
    result = run_in_process(_station(pki, certificate_installation=True), evcc=evcc)
    assert result.summary["outcome"] == "failed"
    assert result.evcc.ctx.response_codes["CertificateInstallationRes"].startswith("FAILED")
    assert sum(isinstance(e, SessionSealed) for e in result.secc_events) == 1


def test_installation_not_offered_falls_back_to_eim(pki):
    installer = ContractInstaller(pki.load_private_key("oem_prov"), pki.load_chain("oem_prov"),
                                  [pki.load_certificate("v2g_root")], pki.pcid)
    evcc = Evcc(EvConfig(auth="pnc", charge_loops=3), contract_installer=installer)
    result = run_in_process(_station(pki, certificate_installation=False), evcc=evcc)
    assert result.summary["outcome"] == "completed" and result.summary["auth"] == "EIM"
