import pytest

from certs import PkiConfig, create_pki


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    return create_pki(tmp_path_factory.mktemp("pki-p521"))


@pytest.fixture(scope="session")
def pki_ed448(tmp_path_factory):
    return create_pki(tmp_path_factory.mktemp("pki-ed448"), PkiConfig(algorithm="ed448"))


@pytest.fixture(scope="session")
def pki_compat(tmp_path_factory):
    return create_pki(tmp_path_factory.mktemp("pki-compat"), PkiConfig(profile="compat"))


@pytest.fixture(scope="session")
def other_pki(tmp_path_factory):
    """Same names, different keys: a wrong root that looks right."""
    return create_pki(tmp_path_factory.mktemp("pki-other"))
