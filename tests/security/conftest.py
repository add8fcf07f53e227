import json
import os

import pytest

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


@pytest.fixture(scope="session", params=["p521", "ed448"])
def pki(request):
    return request.getfixturevalue(f"pki_{request.param}")
