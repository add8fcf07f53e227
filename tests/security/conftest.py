import json
import os

import pytest

from certs import PkiConfig, create_pki

VECTORS = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "vectors")


def josev_vector(name: str) -> dict:
    path = os.path.join(VECTORS, "exi-josev-corpus.jsonl")
    if not os.path.exists(path):
        pytest.skip("../shared/vectors is not present next to the checkout")
    with open(path, encoding="utf-8") as f:
        for line in f:
            vector = json.loads(line)
            if vector["name"] == name:
                return vector
    raise LookupError(name)


@pytest.fixture(scope="session")
def pki_p521(tmp_path_factory):
    return create_pki(tmp_path_factory.mktemp("sec-pki-p521"))


@pytest.fixture(scope="session")
def pki_ed448(tmp_path_factory):
    return create_pki(tmp_path_factory.mktemp("sec-pki-ed448"), PkiConfig(algorithm="ed448"))


@pytest.fixture(scope="session")
def pki_compat(tmp_path_factory):
    return create_pki(tmp_path_factory.mktemp("sec-pki-compat"), PkiConfig(profile="compat"))


@pytest.fixture(scope="session")
def other_pki(tmp_path_factory):
    """Same names and algorithm as pki_p521, different keys: a wrong root that looks right."""
    return create_pki(tmp_path_factory.mktemp("sec-pki-other"))


@pytest.fixture(scope="session", params=["p521", "ed448"])
def pki(request):
    return request.getfixturevalue(f"pki_{request.param}")
