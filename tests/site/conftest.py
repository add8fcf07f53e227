"""Shared site-test fixtures."""
import pytest


@pytest.fixture(scope="module")
def pki_dir(tmp_path_factory):
    from certs import PkiConfig, create_pki
    return str(create_pki(tmp_path_factory.mktemp("pki"), PkiConfig()).directory)
