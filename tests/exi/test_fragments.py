"""Signature inputs are EXI fragments: SignedInfo with the xmldsig-only grammar, referenced elements with the
CommonMessages grammar, header octet and padding included (facts/exi.md §2.3, §7; facts/signatures.md §1)."""
import hashlib

import pytest

import exi
from exi._bits import BitWriter
from exi.generated.iso20 import PnC_AReqAuthorizationMode, SignedMeteringData
from exi.generated.iso20_types import MessageHeader
from exi.generated.xmldsig import (CanonicalizationMethod, DigestMethod, Reference, SignatureMethod, SignedInfo,
                                   Transform, Transforms)

from .conftest import load_vectors, need_shared

JOSEV = {v["name"]: v for v in load_vectors("exi-josev-corpus.jsonl")}
C14N = "http://www.w3.org/TR/canonical-exi/"


def _signed_info(digest: bytes) -> SignedInfo:
    return SignedInfo(
        CanonicalizationMethod=CanonicalizationMethod(Algorithm=C14N),
        SignatureMethod=SignatureMethod(Algorithm="http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512"),
        Reference=[Reference(URI="#id1", Transforms=Transforms(Transform=[Transform(Algorithm=C14N)]),
                             DigestMethod=DigestMethod(Algorithm="http://www.w3.org/2001/04/xmlenc#sha512"),
                             DigestValue=digest)])


def test_signed_info_fragment_uses_the_xmldsig_grammar_codes_32_and_46():
    data = exi.encode(_signed_info(bytes(64)), schema="xmldsig", fragment=True)
    assert data[:2] == bytes.fromhex("8081")  # 0x80, SE(SignedInfo) = 32 in 6 bits, then AT/SE choice `01`
    assert exi.decode(data, schema="xmldsig", fragment=True) == _signed_info(bytes(64))
    in_cm = exi.encode(_signed_info(bytes(64)), schema="iso20", fragment=True)
    assert in_cm[:2] == bytes.fromhex("8073")  # 230 in 9 bits with the CommonMessages set
    assert len(in_cm) == len(data) + 1


def test_certificate_installation_digest_is_sha256_of_the_oem_chain_fragment():
    need_shared()
    v = JOSEV["CertificateInstallationReq_signed_full"]
    msg = exi.decode(bytes.fromhex(v["exi_hex"]), schema="iso20")
    ref = msg.Header.Signature.SignedInfo.Reference[0]
    assert ref.URI == "#" + msg.OEMProvisioningCertificateChain.Id
    frag = exi.encode(msg.OEMProvisioningCertificateChain, schema="iso20", fragment=True,
                      element="OEMProvisioningCertificateChain")
    assert len(frag) == 1376 and frag[0] == 0x80
    assert hashlib.sha256(frag).digest() == ref.DigestValue
    assert exi.decode(frag, schema="iso20", fragment=True) == msg.OEMProvisioningCertificateChain


def test_signed_info_vector_decodes_as_an_xmldsig_fragment():
    need_shared()
    v = JOSEV["frag_SignedInfo_1ref_for_AuthorizationReq"]
    si = exi.decode(bytes.fromhex(v["exi_hex"]), schema="xmldsig", fragment=True)
    assert isinstance(si, SignedInfo) and si.Reference[0].URI == "#id1"
    assert exi.encode(si, schema="xmldsig", fragment=True).hex() == v["exi_hex"]


@pytest.mark.parametrize("obj,element", [
    (PnC_AReqAuthorizationMode(Id="id1", GenChallenge=bytes(range(16)),
                               ContractCertificateChain=None), "PnC_AReqAuthorizationMode"),
    (SignedMeteringData(Id="m1", SessionID=bytes(8), MeterInfo=None), "SignedMeteringData"),
])
def test_common_messages_fragments_round_trip(obj, element):
    from exi.generated import iso20, iso20_types
    if isinstance(obj, PnC_AReqAuthorizationMode):
        obj.ContractCertificateChain = iso20.ContractCertificateChain(
            Certificate=b"\x30\x82" + bytes(100), SubCertificates=iso20.SubCertificates(Certificate=[b"\x30" * 50]))
    else:
        obj.MeterInfo = iso20_types.MeterInfo(MeterID="M1", ChargedEnergyReadingWh=12345)
        obj.Dynamic_SMDTControlMode = iso20.Dynamic_SMDTControlMode()
    data = exi.encode(obj, schema="iso20", fragment=True)
    assert data[0] == 0x80
    element_name, back = exi.decode_element(data, schema="iso20", fragment=True)
    assert back == obj and element_name.endswith("}" + element)


def test_signed_installation_data_of_a_certificate_installation_res_round_trips_as_a_fragment():
    """The element the CPS signs (facts/signatures.md §2), as a CommonMessages fragment: SE code 231 of 9 bits."""
    need_shared()
    v = JOSEV["CertificateInstallationRes_secp521"]
    msg = exi.decode(bytes.fromhex(v["exi_hex"]), schema="iso20")
    data = exi.encode(msg.SignedInstallationData, schema="iso20", fragment=True)
    assert data[0] == 0x80 and int.from_bytes(data[1:3], "big") >> 7 == 231  # SE(SignedInstallationData)
    assert exi.decode(data, schema="iso20", fragment=True) == msg.SignedInstallationData
    assert msg.SignedInstallationData.SECP521_EncryptedPrivateKey is not None


def test_fragment_with_two_elements_or_none_is_refused():
    with pytest.raises(exi.ExiError):
        exi.decode(bytes([0x80, 46 << 2]), schema="xmldsig", fragment=True)  # ED straight away
    header = MessageHeader(SessionID=bytes(8), TimeStamp=1)
    with pytest.raises(exi.ExiError):
        exi.encode(header, schema="iso20", fragment=True, element="NotAnElement")


def _literal(w, text):
    w.write_uint(len(text) + 2)
    w.write(int.from_bytes(text.encode("ascii"), "big"), 8 * len(text))


def test_iso2_emaid_fragment_uses_the_relaxed_element_fragment_grammar():
    """{MsgBody}eMAID has two declarations (eMAIDType, and EMAIDType with an Id) so its fragment SE leads to the
    relaxed grammar of EXI §8.5.3 (facts/exi.md §2.3, pitfall 14). In the -2 set the attribute qnames, sorted by
    (local, uri), are Algorithm, Encoding, Id, {MsgBody}Id, {MsgDataTypes}Id, MimeType, {MsgDataTypes}Name,
    Target, Type, URI (n = 10; the Id of EMAIDType is qualified, attributeFormDefault="qualified"), and there
    are m = 243 element qnames. ElementFragment 0/1: n + 1 + m + 3 = 257 productions + escape -> 9 bits,
    {MsgDataTypes}Id = 4, CH = n + m + 3 = 256; ElementFragment 2: m + 3 = 246 + escape -> 8 bits, EE = m + 1 =
    244. FragmentContent: SE(eMAID) = 236 and ED = 244 in 8 bits. No shared vector holds a signed -2 message,
    so this is checked against the specification only."""
    from exi.generated.iso2 import EMAID
    w = BitWriter()
    w.write(0x80, 8)
    w.write(236, 8)  # SE({MsgBody}eMAID)
    w.write(4, 9)  # AT({MsgDataTypes}Id)
    _literal(w, "id3")
    w.write(256, 9)  # CH[untyped]
    _literal(w, "DE8AAA1A2B3C4D5")
    w.write(244, 8)  # EE in ElementFragment 2
    w.write(244, 8)  # ED
    expected = w.getvalue()
    emaid = EMAID(Id="id3", value="DE8AAA1A2B3C4D5")
    assert exi.encode(emaid, schema="iso2", fragment=True, element="eMAID") == expected
    assert exi.decode(expected, schema="iso2", fragment=True) == emaid
    xml = ('<b:eMAID xmlns:b="urn:iso:15118:2:2013:MsgBody" xmlns:t="urn:iso:15118:2:2013:MsgDataTypes" '
           't:Id="id3">DE8AAA1A2B3C4D5</b:eMAID>')
    assert exi.encode(xml, schema="iso2", fragment=True) == expected
    assert exi.from_xml(exi.to_xml(emaid, schema="iso2", element="eMAID"), schema="iso2") == emaid
    # without attributes the content fits the plain eMAIDType declaration: a str
    w = BitWriter()
    w.write(0x80, 8)
    w.write(236, 8)
    w.write(256, 9)
    _literal(w, "DE8AAA1A2B3C4D5")
    w.write(244, 8)
    w.write(244, 8)
    assert exi.decode(w.getvalue(), schema="iso2", fragment=True) == "DE8AAA1A2B3C4D5"
