"""The compiled fast path alone (without the interpreter fallback) reproduces the vectors."""
import pytest

from exi._codec import load

from .conftest import PAYLOAD_SCHEMA, load_vectors, need_shared
from .fastpath import fast_decode, fast_encode

STREAMS = ([(v["name"], v["namespace"], v["exi_hex"]) for v in load_vectors("exi-josev-corpus.jsonl")
            if not v["fragment"]] +
           [(v["name"], v["ns"], v["exi_hex"]) for v in load_vectors("exi-cbv2g-unit.jsonl")] +
           [(f"session-{i}-{v['msg']}", PAYLOAD_SCHEMA[v["payload_type"]], v["exi_hex"])
            for i, v in enumerate(load_vectors("exi-session-ac.jsonl")) if v["payload_type"] in PAYLOAD_SCHEMA])


@pytest.mark.parametrize("name,schema,hexdata", STREAMS, ids=[s[0] for s in STREAMS])
def test_compiled_codec_decodes_and_encodes_the_vector_without_falling_back(name, schema, hexdata):
    need_shared()
    ss = load(schema)
    data = bytes.fromhex(hexdata)
    reference = ss.decode_with_element(data, False)[1]
    assert fast_decode(ss, data) == reference
    assert fast_encode(ss, reference) == data
