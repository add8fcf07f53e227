"""Bounded fuzzing: random and mutated streams into every decoder; only ExiError may come out.
The long run is `python -m exi.fuzz --iterations 1000000`."""
import exi
from exi import fuzz
from exi.generated import iso2
from exi.generated import xmldsig as ds

from .conftest import VECTORS


def _wildcard_and_relaxed_seeds() -> list[bytes]:
    """Streams that exercise SE(*), the qname string table, xs:anyType and the relaxed fragment grammar."""
    prop = ds.SignatureProperties(SignatureProperty=[ds.SignatureProperty(Target="#s", any=[
        exi.AnyElement(tag="{urn:x}T", attrib={"a": "1"}, content=["é", exi.AnyElement(tag="{urn:x}U")]), "t"])])
    obj = ds.Object(any=[exi.AnyElement(tag="{http://www.w3.org/2000/09/xmldsig#}KeyName", value="k"), "t"])
    return [exi.encode(prop, schema="xmldsig", element="SignatureProperties"),
            exi.encode(obj, schema="xmldsig", element="Object"),
            exi.encode(iso2.EMAID(Id="id3", value="DE8AAA1A2B3C4D5"), schema="iso2", fragment=True, element="eMAID")]


def test_random_and_mutated_streams_only_raise_exi_error_and_fast_path_agrees_with_interpreter():
    seeds = fuzz.load_seeds(VECTORS) + _wildcard_and_relaxed_seeds() * 8
    failures = fuzz.run(4000, seed=1, seeds=seeds)
    assert failures == [], failures[0][3]
