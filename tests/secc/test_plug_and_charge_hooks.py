"""`iso15118.secc.plug_and_charge_hooks`: the public way (used by `v2g secc` and the site gateway) to build a
Station's Plug & Charge hooks from a PKI directory."""
import pytest

from iso15118.secc import SeccConfig, Station, plug_and_charge_hooks


@pytest.fixture(scope="module")
def pki_dir(tmp_path_factory):
    from certs import PkiConfig, create_pki
    return str(create_pki(tmp_path_factory.mktemp("pki"), PkiConfig()).directory)


def test_without_a_pki_there_are_no_hooks():
    assert plug_and_charge_hooks(None) == {} and plug_and_charge_hooks("") == {}


def test_the_hooks_from_a_pki_fit_the_station(pki_dir):
    from iso15118.security.session_hooks import (CertificateInstallationService, ContractVerifier,
                                                 MeteringVerifier)
    hooks = plug_and_charge_hooks(pki_dir)
    station = Station(SeccConfig(), **hooks)
    assert isinstance(station.contract_verifier, ContractVerifier)
    assert isinstance(station.metering_verifier, MeteringVerifier)
    assert isinstance(station.certificate_installation, CertificateInstallationService)
