"""Fixtures shared by every test package: one set of PKIs per test session (creating one costs a few hundred
milliseconds of key generation, and no test changes the certificates it is given)."""
import pytest
from hypothesis import HealthCheck, settings

from certs import PkiConfig, create_pki

# Property tests judge the code, not the machine's speed: no per-example deadline and no "data generation is too
# slow" health check (both trip on a loaded CI box). Explicit @settings inherit this for what they leave unset.
settings.register_profile("suite", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("suite")


@pytest.fixture(scope="session")
def pki_p521(tmp_path_factory):
    return create_pki(tmp_path_factory.mktemp("pki-p521"))


@pytest.fixture(scope="session")
def pki_ed448(tmp_path_factory):
    return create_pki(tmp_path_factory.mktemp("pki-ed448"), PkiConfig(algorithm="ed448"))


@pytest.fixture(scope="session")
def pki_compat(tmp_path_factory):
    return create_pki(tmp_path_factory.mktemp("pki-compat"), PkiConfig(profile="compat"))


@pytest.fixture(scope="session")
def other_pki(tmp_path_factory):
    """Same names and algorithm as pki_p521, different keys: a wrong root that looks right."""
    return create_pki(tmp_path_factory.mktemp("pki-other"))


@pytest.fixture(scope="session")
def pki(pki_p521):
    """The default -20 PKI (P-521); a package may override it, e.g. to run over several algorithms."""
    return pki_p521
