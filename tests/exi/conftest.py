import json
import os

import pytest

SHARED = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared")
VECTORS = os.path.join(SHARED, "vectors")
SCHEMAS = os.path.join(SHARED, "schemas")

# V2GTP payload type -> schema set (facts/iso15118-20.md §1)
PAYLOAD_SCHEMA = {"0x8001": "apphand", "0x8002": "iso20", "0x8003": "iso20-ac", "0x8004": "iso20-dc"}


def load_vectors(name: str) -> list[dict]:
    path = os.path.join(VECTORS, name)
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def need_shared():
    if not os.path.isdir(VECTORS) or not os.path.isdir(SCHEMAS):
        pytest.skip("../shared (vectors and schemas) is not present next to the checkout")
