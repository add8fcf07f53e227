"""Call the compiled encoders/decoders directly (no interpreter fallback), to prove the fast path itself works."""
import dataclasses

from exi.wildcard import AnyElement

HEADER = 0x80


def needs_interpreter(obj) -> bool:
    """Values the compiled code hands to the interpreter on purpose: wildcard content (SE(*) and the stream's
    qname string table)."""
    if isinstance(obj, AnyElement):
        return True
    if isinstance(obj, list):
        return any(needs_interpreter(x) for x in obj)
    if dataclasses.is_dataclass(obj):
        return any(needs_interpreter(getattr(obj, f.name)) for f in dataclasses.fields(obj))
    return False


def fast_encode(ss, obj) -> bytes:
    _qn, code, g = ss.element_for(obj, None, False)
    fn = ss.compiler.encoder(g)
    a = fn(obj, (((1 << 8) | HEADER) << ss.document_bits) | code)
    n = a.bit_length() - 1
    pad = -n & 7
    return ((a << pad) ^ (1 << (n + pad))).to_bytes((n + pad) >> 3, "big")


def fast_decode(ss, data: bytes):
    end = len(data) * 8
    val = int.from_bytes(data, "big")
    code = (val >> (end - 8 - ss.document_bits)) & ((1 << ss.document_bits) - 1)
    obj, p = ss.compiler.decoder(ss.document[code][1])(val, end, 8 + ss.document_bits)
    assert end - p < 8
    return obj
