"""Contract key delivery: byte layout recomputed from the -20 recipe, both directions, tampering."""
import dataclasses
import datetime as dt
import hashlib
import os
import re
import subprocess

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, x448
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given, settings, strategies as st

from certs import EncryptedContractKey, KeyDeliveryError, decrypt_contract_key, encrypt_contract_key
from certs.pki import issue_certificate
from certs.profiles import ROLES


@pytest.fixture(scope="module")
def p521(pki):
    return {"key": pki.load_private_key("contract"), "cert": pki.load_certificate("contract"),
            "oem_private": pki.load_private_key("oem_prov"),
            "oem_public": pki.load_certificate("oem_prov").public_key(), "pcid": pki.pcid}


@pytest.fixture(scope="module")
def x448_material(pki_ed448):
    """X448 contract key in a certificate issued by the Ed448 MO Sub-CA 2; OEM side uses its X448 key."""
    contract_key = x448.X448PrivateKey.generate()
    cert = issue_certificate(ROLES["contract"], contract_key.public_key(),
                             pki_ed448.load_certificate("contract").subject, pki_ed448.load_certificate("mo_sub_ca2"),
                             pki_ed448.load_private_key("mo_sub_ca2"),
                             not_before=dt.datetime.now(dt.timezone.utc))
    oem = serialization.load_pem_private_key(pki_ed448.x448_key.read_bytes(), None)
    return {"key": contract_key, "cert": cert, "oem_private": oem, "oem_public": oem.public_key(),
            "pcid": pki_ed448.pcid}


def encrypt(material, **kwargs):
    return encrypt_contract_key(material["key"], material["cert"], material["oem_public"], material["pcid"],
                                **kwargs)


def decrypt(material, encrypted, pcid=None):
    return decrypt_contract_key(encrypted, material["oem_private"], material["cert"], pcid or material["pcid"])


def expected_aad(material):
    ski = material["cert"].extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    return material["pcid"].encode() + ski.hex().upper().encode()


def test_p521_layout_matches_the_recipe_computed_independently(p521):
    ephemeral = ec.generate_private_key(ec.SECP521R1())
    iv = bytes(range(12))
    encrypted = encrypt(p521, ephemeral_key=ephemeral, iv=iv)
    # recompute on the EV side from the text: Z = ECDH(x), K = SHA-512(00000001 || Z || 01 55 56)[:32]
    z = p521["oem_private"].exchange(ec.ECDH(), ephemeral.public_key())
    key = hashlib.sha512(b"\x00\x00\x00\x01" + z + b"\x01\x55\x56").digest()[:32]
    scalar = p521["key"].private_numbers().private_value.to_bytes(66, "big")
    assert scalar[0] <= 1  # 521 bits in 66 bytes: 7 leading zero bits
    aad = expected_aad(p521)
    assert len(aad) == 18 + 16
    assert encrypted.curve == "SECP521"
    assert encrypted.dh_public_key == b"\x04" + ephemeral.public_key().public_numbers().x.to_bytes(66, "big") \
        + ephemeral.public_key().public_numbers().y.to_bytes(66, "big")
    assert len(encrypted.dh_public_key) == 133
    assert encrypted.encrypted_private_key == iv + AESGCM(key).encrypt(iv, scalar, aad)
    assert len(encrypted.encrypted_private_key) == 94


def test_p521_round_trip_recovers_the_contract_key(p521):
    recovered = decrypt(p521, encrypt(p521))
    assert recovered.private_numbers() == p521["key"].private_numbers()


def test_each_delivery_uses_a_fresh_ephemeral_key_and_iv(p521):
    first, second = encrypt(p521), encrypt(p521)
    assert first.dh_public_key != second.dh_public_key
    assert first.encrypted_private_key[:12] != second.encrypted_private_key[:12]


def test_x448_layout_and_round_trip(x448_material):
    ephemeral = x448.X448PrivateKey.generate()
    encrypted = encrypt(x448_material, ephemeral_key=ephemeral, iv=b"\x07" * 12)
    z = x448_material["oem_private"].exchange(ephemeral.public_key())
    key = hashlib.sha512(b"\x00\x00\x00\x01" + z + b"\x01\x55\x56").digest()[:32]
    raw = x448_material["key"].private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                             serialization.NoEncryption())
    assert encrypted.curve == "X448"
    assert encrypted.dh_public_key == b"\x04" + ephemeral.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert len(encrypted.dh_public_key) == 57
    assert encrypted.encrypted_private_key == b"\x07" * 12 + AESGCM(key).encrypt(b"\x07" * 12, raw,
                                                                                 expected_aad(x448_material))
    assert len(encrypted.encrypted_private_key) == 84
    recovered = decrypt(x448_material, encrypted)
    assert recovered.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                   serialization.NoEncryption()) == raw


def test_ed448_contract_key_has_no_defined_transport(pki_ed448, x448_material):
    with pytest.raises(KeyDeliveryError) as info:
        encrypt_contract_key(pki_ed448.load_private_key("contract"), pki_ed448.load_certificate("contract"),
                             x448_material["oem_public"], pki_ed448.pcid)
    assert info.value.code == "ERR_KEY_UNSUPPORTED"


@pytest.mark.parametrize("field, index", [("encrypted_private_key", 0), ("encrypted_private_key", 12),
                                          ("encrypted_private_key", 50), ("encrypted_private_key", 93),
                                          ("dh_public_key", 40)])
def test_tampering_is_detected(p521, field, index):
    encrypted = encrypt(p521)
    data = bytearray(getattr(encrypted, field))
    data[index] ^= 0x01
    with pytest.raises(KeyDeliveryError) as info:
        decrypt(p521, dataclasses.replace(encrypted, **{field: bytes(data)}))
    assert info.value.code == "ERR_KEY_UNWRAP"
    assert info.value.rule in {"gcm-tag", "dh-public-key"}


def test_wrong_pcid_fails_authentication(p521):
    with pytest.raises(KeyDeliveryError) as info:
        decrypt(p521, encrypt(p521), pcid="ZZZZZZZZZZZZZZZZZZ")
    assert info.value.rule == "gcm-tag"


def test_key_for_another_certificate_is_refused(p521):
    stranger = dict(p521, key=ec.generate_private_key(ec.SECP521R1()))
    with pytest.raises(KeyDeliveryError) as info:
        decrypt(p521, encrypt(stranger))
    assert info.value.rule == "key-matches-certificate"


@pytest.mark.parametrize("change, rule", [
    ({"curve": "X448"}, "ecdh-curve"),
    ({"dh_public_key": b"\x02" + b"\x00" * 132}, "dh-public-key"),
    ({"dh_public_key": b"\x04" + b"\x00" * 56}, "dh-public-key"),
    ({"encrypted_private_key": b"\x00" * 93}, "encrypted-length"),
])
def test_malformed_fields_are_typed_errors(p521, change, rule):
    with pytest.raises(KeyDeliveryError) as info:
        decrypt(p521, dataclasses.replace(encrypt(p521), **change))
    assert info.value.rule == rule


def _encrypt_raw_scalar(material, plaintext):
    """Wrap arbitrary 66 plaintext bytes with the -20 recipe, bypassing the encrypt-side checks."""
    ephemeral = ec.generate_private_key(ec.SECP521R1())
    z = ephemeral.exchange(ec.ECDH(), material["oem_public"])
    key = hashlib.sha512(b"\x00\x00\x00\x01" + z + b"\x01\x55\x56").digest()[:32]
    iv = bytes(12)
    return EncryptedContractKey("SECP521", ephemeral.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint),
        iv + AESGCM(key).encrypt(iv, plaintext, expected_aad(material)))


def _p521_order_from_openssl():
    text = subprocess.run(["openssl", "ecparam", "-name", "secp521r1", "-param_enc", "explicit", "-text", "-noout"],
                          capture_output=True, text=True, check=True, timeout=30).stdout
    block = text.split("Order:", 1)[1].split("Cofactor", 1)[0]
    return int(re.sub(r"[^0-9a-f]", "", block), 16)


P521_N = _p521_order_from_openssl()


@pytest.mark.parametrize("scalar, rule", [(0, "p521-range"), (P521_N, "p521-range"),
                                          (P521_N + 1, "p521-range"), (1 << 521, "p521-padding")])
def test_decrypted_scalar_must_be_a_valid_p521_private_key(p521, scalar, rule):
    with pytest.raises(KeyDeliveryError) as info:
        decrypt(p521, _encrypt_raw_scalar(p521, scalar.to_bytes(66, "big")))
    assert info.value.rule == rule


def test_largest_valid_scalar_passes_the_range_check(p521):
    with pytest.raises(KeyDeliveryError) as info:  # n-1 is a valid key, just not the certificate's
        decrypt(p521, _encrypt_raw_scalar(p521, (P521_N - 1).to_bytes(66, "big")))
    assert info.value.rule == "key-matches-certificate"


def test_invalid_pcid_is_refused(p521):
    with pytest.raises(KeyDeliveryError):
        encrypt(dict(p521, pcid="short"))


@settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", 150)), deadline=None)
@given(curve=st.sampled_from(["SECP521", "X448", "P256"]),
       dh=st.one_of(st.binary(max_size=140), st.binary(min_size=132, max_size=132).map(b"\x04".__add__)),
       blob=st.one_of(st.binary(max_size=100), st.binary(min_size=94, max_size=94)))
def test_random_fields_raise_only_key_delivery_errors(p521, curve, dh, blob):
    with pytest.raises(KeyDeliveryError):
        decrypt(p521, EncryptedContractKey(curve, dh, blob))


@settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", 100)), deadline=None)
@given(dh=st.binary(min_size=56, max_size=56), blob=st.binary(min_size=84, max_size=84))
def test_random_x448_fields_raise_only_key_delivery_errors(x448_material, dh, blob):
    with pytest.raises(KeyDeliveryError):
        decrypt(x448_material, EncryptedContractKey("X448", b"\x04" + dh, blob))
