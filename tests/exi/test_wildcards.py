"""xs:any content (xmldsig): SE(*), the qname string table, and unknown elements sent as xsi:type xs:anyType
the way EXIficient does with the EXI Profile limits Josev sets (exi/wildcard.py; facts/exi.md §4.3, §4.5, §6).
Expected bits are written out from EXI 1.0 §6, §7.1.7, §7.3, §8.4.3, §8.5.4 with the BitWriter primitives."""
import pytest

import exi
from exi import errors
from exi._bits import BitWriter
from exi.generated import xmldsig as ds
from exi.wildcard import AnyElement

DS = "http://www.w3.org/2000/09/xmldsig#"
# xmldsig-only schema set: 24 globals sorted (… SignatureProperties 17, SignatureProperty 18, SignatureValue 19,
# SignedInfo 20 …) + SE(*) = 25 productions -> 5 bits (facts/exi.md §2.2)
SIGNATURE_PROPERTY = 18
# initial URI partition "", xml, xsi, xsd, xmldsig (§4.5): 5 entries
XSD_NAMES_BEFORE_ANYTYPE = 12  # ENTITIES … NOTATION, Name, QName, anySimpleType, then anyType (EXI Appendix D.3)


def _literal(w: BitWriter, text: str, offset: int) -> None:
    w.write_uint(len(text) + offset)
    for c in text:
        w.write_uint(ord(c))


def _any_type_marker(w: BitWriter, uri_entries: int) -> None:
    """Built-in StartTagContent AT(*) = 0.1 (2 bits), qname xsi:type, QName value xs:anyType (EXI Profile §2.1)."""
    w.write(0b01, 2)
    width = uri_entries.bit_length()  # ceil(log2(entries + 1))
    w.write(2 + 1, width)  # XSI is URI id 2
    w.write_uint(0)
    w.write(1, 1)  # "type" in (nil, type)
    w.write(3 + 1, width)  # XSD is URI id 3
    w.write_uint(0)
    w.write(XSD_NAMES_BEFORE_ANYTYPE, 6)  # 46 XSD names -> 6 bits


def test_unknown_element_under_xs_any_is_sent_as_xsi_type_any_type_and_its_qname_is_learned():
    prop = ds.SignatureProperty(Target="#s", any=[AnyElement(tag="{urn:x}T", content=["7"]),
                                                  AnyElement(tag="{urn:x}T")])
    w = BitWriter()
    w.write(0x80, 8)
    w.write(SIGNATURE_PROPERTY, 5)
    w.write(1, 2)  # state 0 {AT(Id), AT(Target)} + escape: AT(Target)
    _literal(w, "#s", 2)
    w.write(0, 2)  # {SE(*), CH (mixed)} + escape: SE(*)
    w.write(0, 3)  # URI miss (5 entries -> 3 bits), then the URI as length + characters
    _literal(w, "urn:x", 0)
    _literal(w, "T", 1)  # local-name miss: length + 1
    _any_type_marker(w, 6)  # the partition now holds 6 URIs: still 3 bits
    w.write(3, 3)  # xs:anyType state 0 {AT(*), SE(*), EE, CH} + escape: CH
    _literal(w, "7", 2)
    w.write(1, 2)  # state 1 {SE(*), EE, CH} + escape: EE
    w.write(0, 2)  # SignatureProperty loop state {SE(*), EE, CH}: SE(*)
    w.write(5 + 1, 3)  # URI hit: "urn:x" was appended as id 5
    w.write_uint(0)  # local-name hit, 1 entry -> 0 bits
    _any_type_marker(w, 6)
    w.write(2, 3)  # xs:anyType state 0: EE
    w.write(1, 2)  # SignatureProperty: EE
    expected = w.getvalue()
    assert exi.encode(prop, schema="xmldsig", element="SignatureProperty") == expected
    assert exi.decode(expected, schema="xmldsig") == prop


def test_element_unknown_to_the_schema_in_the_built_in_grammar_without_xsi_type_decodes():
    """A non-profile encoder uses the (unlearned) built-in grammar: StartTagContent {EE, AT(*), SE(*), CH} as
    0.x (2 bits), ElementContent {EE 0, SE(*) 1.0, CH 1.1}."""
    w = BitWriter()
    w.write(0x80, 8)
    w.write(SIGNATURE_PROPERTY, 5)
    w.write(1, 2)
    _literal(w, "#s", 2)
    w.write(0, 2)  # SE(*)
    w.write(0, 3)
    _literal(w, "urn:x", 0)
    _literal(w, "T", 1)
    w.write(0b01, 2)  # AT(*)
    w.write(0 + 1, 3)  # URI "" (id 0)
    _literal(w, "a", 1)  # local-name miss in the "" partition
    _literal(w, "v", 2)  # value
    w.write(0b11, 2)  # CH
    _literal(w, "x", 2)
    w.write(0b1, 1)  # ElementContent: second level
    w.write(0b0, 1)  # SE(*)
    w.write(5 + 1, 3)  # "urn:x" hit
    _literal(w, "U", 1)
    w.write(0b00, 2)  # child: EE at once
    w.write(0, 1)  # EE
    w.write(1, 2)  # SignatureProperty: EE
    prop = exi.decode(w.getvalue(), schema="xmldsig")
    assert prop.any == [AnyElement(tag="{urn:x}T", attrib={"a": "v"}, content=["x", AnyElement(tag="{urn:x}U")])]


def test_global_element_under_xs_any_uses_its_schema_grammar_and_stays_typed():
    key = AnyElement(tag="{%s}KeyName" % DS, value="k1")
    props = AnyElement(tag="{%s}SignatureProperties" % DS, value=ds.SignatureProperties(SignatureProperty=[
        ds.SignatureProperty(Target="#s", any=[AnyElement(tag="{urn:x}T", attrib={"{urn:x}a": "1"})])]))
    obj = ds.Object(Id="o1", any=["text", key, props])
    data = exi.encode(obj, schema="xmldsig", element="Object")
    assert exi.decode(data, schema="xmldsig") == obj
    xml = exi.to_xml(obj, schema="xmldsig", element="Object")
    assert "<ds:KeyName>k1</ds:KeyName>" in xml and exi.from_xml(xml) == obj and exi.encode(xml) == data
    # KeyName through its own grammar: SE(*), qname hits, CH 0, literal, EE 0 -- no xsi:type, so shorter than
    # the same text inside an element the schema does not know
    unknown = ds.Object(Id="o1", any=["text", AnyElement(tag="{%s}KeyNameX" % DS, content=["k1"]), props])
    assert len(exi.encode(unknown, schema="xmldsig", element="Object")) > len(data)


def test_signature_with_key_info_wildcards_round_trips_in_a_20_message():
    from exi.generated.iso20 import SessionStopReq
    from exi.generated.iso20_types import MessageHeader
    sig = ds.Signature(
        SignedInfo=ds.SignedInfo(
            CanonicalizationMethod=ds.CanonicalizationMethod(Algorithm="http://www.w3.org/TR/canonical-exi/"),
            SignatureMethod=ds.SignatureMethod(Algorithm="x"),
            Reference=[ds.Reference(URI="#id1", DigestMethod=ds.DigestMethod(Algorithm="y"), DigestValue=b"1")]),
        SignatureValue=ds.SignatureValue(value=bytes(8)),
        KeyInfo=ds.KeyInfo(X509Data=[ds.X509Data(X509SKI=[b"k"], any=[AnyElement(tag="{urn:oem}Hint",
                                                                                 content=["Größe €"])])]))
    msg = SessionStopReq(Header=MessageHeader(SessionID=bytes(8), TimeStamp=1, Signature=sig),
                         ChargingSession="Terminate")
    assert exi.decode(exi.encode(msg), schema="iso20") == msg


@pytest.mark.parametrize("item,code", [
    (AnyElement(tag="{%s}KeyName" % DS), errors.INVALID_CONTENT),  # schema element without its value
    (AnyElement(tag="{urn:x}T", value=1), errors.INVALID_CONTENT),  # typed value for an unknown element
    ("", errors.INVALID_CONTENT),
    (42, errors.INVALID_VALUE),
])
def test_malformed_wildcard_items_are_refused(item, code):
    with pytest.raises(exi.ExiError) as e:
        exi.encode(ds.Object(any=[item]), schema="xmldsig", element="Object")
    assert e.value.code == code


def test_text_where_the_type_is_not_mixed_is_refused():
    with pytest.raises(exi.ExiError) as e:
        exi.encode(ds.X509Data(X509SKI=[b"k"], any=["text"]), schema="xmldsig", element="X509Data")
    assert e.value.code == errors.INVALID_CONTENT


def test_wildcard_namespace_and_strictness_are_enforced_when_encoding():
    # ds:SignatureProperty: <any namespace="##other" processContents="lax"/>; ds:CanonicalizationMethod:
    # <any namespace="##any"/> (strict: only declared elements)
    with pytest.raises(exi.ExiError) as e:
        exi.encode(ds.SignatureProperty(Target="#s", any=[AnyElement(tag="{%s}Foo" % DS)]), schema="xmldsig",
                   element="SignatureProperty")
    assert e.value.code == errors.INVALID_CONTENT
    method = ds.CanonicalizationMethod(Algorithm="a", any=[AnyElement(tag="{urn:x}T")])
    with pytest.raises(exi.ExiError) as e:
        exi.encode(method, schema="xmldsig", element="CanonicalizationMethod")
    assert e.value.code == errors.INVALID_CONTENT
    method.any = [AnyElement(tag="{%s}KeyName" % DS, value="k")]
    assert exi.decode(exi.encode(method, schema="xmldsig", element="CanonicalizationMethod"),
                      schema="xmldsig") == method
