"""Contract private-key delivery in CertificateInstallationRes (facts/signatures.md §3, iso15118-20.md §7.4).

The eMSP side (party U) makes an ephemeral key pair, agrees a shared secret Z with the EV's OEM provisioning
key (party V; its X448 key for the X448 variant) [V2G20-2535], derives a 256-bit key with the Concatenation
KDF over SHA-512 and OtherInfo = AlgorithmID 0x01 ‖ PartyUInfo 0x55 ‖ PartyVInfo 0x56, and encrypts the
contract private key with AES-256-GCM (random 96-bit IV, 128-bit tag) [V2G20-2494..2501].

Byte layouts:
  SECP521: DHPublicKey = 04 ‖ X(66) ‖ Y(66) (133 bytes) [V2G20-2573]; plaintext = private scalar as 66 bytes
           big-endian (7 leading zero bits); SECP521_EncryptedPrivateKey = IV(12) ‖ C(66) ‖ tag(16) = 94 bytes.
  X448:    DHPublicKey = 04 ‖ u(56) (57 bytes, not padded to 133) [V2G20-2574/2495]; plaintext = the 56-byte
           X448 private key; X448_EncryptedPrivateKey = 12 ‖ 56 ‖ 16 = 84 bytes [V2G20-2502].
  AAD [V2G20-2492]: PCID (18 ASCII characters) ‖ the contract certificate's SubjectKeyIdentifier as upper-case
           hex (16 characters for the 64-bit SKIs `certs.pki` issues).

Open point (facts/signatures.md §3): an Ed448 contract key is a 57-byte seed while the X448 field carries 56
bytes; no public implementation resolves it, so Ed448 contract keys are refused with ERR_KEY_UNSUPPORTED.
The X448 variant delivers X448 contract keys (certificate carrying the X448 public key).
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, x448
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.concatkdf import ConcatKDFHash

from .errors import KeyDeliveryError

OTHER_INFO = b"\x01\x55\x56"  # AlgorithmID 0x01, PartyUInfo 'U', PartyVInfo 'V' [V2G20-2535]
IV_LENGTH, TAG_LENGTH = 12, 16
P521_SCALAR_LENGTH, X448_KEY_LENGTH = 66, 56
LAYOUT = {"SECP521": (133, P521_SCALAR_LENGTH), "X448": (57, X448_KEY_LENGTH)}  # DHPublicKey, plaintext
# secp521r1 group order n (SEC 2 v2 §2.6.1), written in its 32-bit words
_P521_ORDER = int("01FF" + "FFFFFFFF" * 7 + "FFFFFFFA" + "51868783" "BF2F966B" "7FCC0148" "F709A5D0" "3BB5C9B8"
                  "899C47AE" "BB6FB71E" "91386409", 16)
_PCID = re.compile(r"[A-Z0-9]{18}")


@dataclass(frozen=True)
class EncryptedContractKey:
    """The SignedInstallationData fields that carry the key: ECDHCurve, DHPublicKey, *_EncryptedPrivateKey."""

    curve: str  # "SECP521" or "X448" (ecdhCurveType)
    dh_public_key: bytes
    encrypted_private_key: bytes


def _unwrap_error(rule: str, message: str) -> KeyDeliveryError:
    return KeyDeliveryError("ERR_KEY_UNWRAP", message, rule=rule)


def session_key(shared_secret: bytes) -> bytes:
    return ConcatKDFHash(hashes.SHA512(), 32, OTHER_INFO).derive(shared_secret)


def associated_data(pcid: str, contract_certificate: x509.Certificate) -> bytes:
    if not _PCID.fullmatch(pcid):
        raise KeyDeliveryError("ERR_KEY_UNSUPPORTED", f"PCID {pcid!r} is not 18 upper-case letters/digits",
                               rule="pcid")
    try:
        ski = contract_certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    except x509.ExtensionNotFound as exc:
        raise KeyDeliveryError("ERR_KEY_UNSUPPORTED", "contract certificate has no SubjectKeyIdentifier",
                               rule="aad") from exc
    return pcid.encode("ascii") + ski.hex().upper().encode("ascii")


def _curve_of(oem_key) -> str:
    if isinstance(oem_key, (ec.EllipticCurvePublicKey, ec.EllipticCurvePrivateKey)) and \
            isinstance(oem_key.curve, ec.SECP521R1):
        return "SECP521"
    if isinstance(oem_key, (x448.X448PublicKey, x448.X448PrivateKey)):
        return "X448"
    raise KeyDeliveryError("ERR_KEY_UNSUPPORTED", f"OEM provisioning key {type(oem_key).__name__} is neither "
                           "secp521r1 nor X448", rule="ecdh-curve")


def encrypt_contract_key(contract_key, contract_certificate: x509.Certificate, oem_public_key, pcid: str, *,
                         ephemeral_key=None, iv: bytes | None = None) -> EncryptedContractKey:
    """eMSP/CPS side. `ephemeral_key` and `iv` are for tests only; by default both are fresh and random."""
    curve = _curve_of(oem_public_key)
    aad = associated_data(pcid, contract_certificate)
    if curve == "SECP521":
        if not (isinstance(contract_key, ec.EllipticCurvePrivateKey)
                and isinstance(contract_key.curve, ec.SECP521R1)):
            raise KeyDeliveryError("ERR_KEY_UNSUPPORTED", "SECP521 delivery needs a secp521r1 contract key",
                                   rule="contract-key")
        ephemeral_key = ephemeral_key or ec.generate_private_key(ec.SECP521R1())
        shared = ephemeral_key.exchange(ec.ECDH(), oem_public_key)
        dh_public = ephemeral_key.public_key().public_bytes(serialization.Encoding.X962,
                                                            serialization.PublicFormat.UncompressedPoint)
        plaintext = contract_key.private_numbers().private_value.to_bytes(P521_SCALAR_LENGTH, "big")
    else:
        if not isinstance(contract_key, x448.X448PrivateKey):
            raise KeyDeliveryError("ERR_KEY_UNSUPPORTED", "X448 delivery carries a 56-byte X448 key; an Ed448 "
                                   "contract key (57-byte seed) has no defined encoding", rule="contract-key")
        ephemeral_key = ephemeral_key or x448.X448PrivateKey.generate()
        shared = ephemeral_key.exchange(oem_public_key)
        dh_public = b"\x04" + ephemeral_key.public_key().public_bytes(serialization.Encoding.Raw,
                                                                      serialization.PublicFormat.Raw)
        plaintext = contract_key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                               serialization.NoEncryption())
    iv = iv or os.urandom(IV_LENGTH)
    sealed = AESGCM(session_key(shared)).encrypt(iv, plaintext, aad)
    return EncryptedContractKey(curve, dh_public, iv + sealed)


def _same_public_key(private_key, certificate: x509.Certificate) -> bool:
    form = ((serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo))
    try:
        return private_key.public_key().public_bytes(*form) == certificate.public_key().public_bytes(*form)
    except (TypeError, ValueError):
        return False


def decrypt_contract_key(encrypted: EncryptedContractKey, oem_private_key, contract_certificate: x509.Certificate,
                         pcid: str):
    """EV side: recover the contract private key and check it belongs to `contract_certificate`.

    Any failure raises KeyDeliveryError (code ERR_KEY_UNWRAP, `rule` names the check); the EV then rejects
    the CertificateInstallationRes [V2G20-2504/2649].
    """
    curve = _curve_of(oem_private_key)
    if encrypted.curve != curve:
        raise _unwrap_error("ecdh-curve", f"ECDHCurve {encrypted.curve} does not match the OEM key ({curve})")
    dh_length, plain_length = LAYOUT[curve]
    dh_public = encrypted.dh_public_key
    if len(dh_public) != dh_length or dh_public[:1] != b"\x04":
        raise _unwrap_error("dh-public-key", f"DHPublicKey must be 0x04 followed by the key, {dh_length} bytes "
                            f"[V2G20-2572..2574], got {len(dh_public)}")
    blob = encrypted.encrypted_private_key
    if len(blob) != IV_LENGTH + plain_length + TAG_LENGTH:
        raise _unwrap_error("encrypted-length", f"{curve} encrypted key must be "
                            f"{IV_LENGTH + plain_length + TAG_LENGTH} bytes, got {len(blob)}")
    try:
        if curve == "SECP521":
            peer = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP521R1(), dh_public)
            shared = oem_private_key.exchange(ec.ECDH(), peer)
        else:
            shared = oem_private_key.exchange(x448.X448PublicKey.from_public_bytes(dh_public[1:]))
    except ValueError as exc:
        raise _unwrap_error("dh-public-key", f"DHPublicKey is not a valid {curve} key: {exc}") from exc
    try:
        plaintext = AESGCM(session_key(shared)).decrypt(blob[:IV_LENGTH], blob[IV_LENGTH:],
                                                        associated_data(pcid, contract_certificate))
    except InvalidTag as exc:
        raise _unwrap_error("gcm-tag", "authentication tag does not verify: ciphertext, IV, DHPublicKey, PCID "
                            "or certificate altered") from exc
    if curve == "SECP521":
        if plaintext[0] & 0xFE:
            raise _unwrap_error("p521-padding", "the 7 leading bits of the scalar are not zero [V2G20-2678]")
        scalar = int.from_bytes(plaintext, "big")
        if not 0 < scalar < _P521_ORDER:
            raise _unwrap_error("p521-range", "scalar outside 1..n-1 [V2G20-2507]")
        key = ec.derive_private_key(scalar, ec.SECP521R1())
    else:
        key = x448.X448PrivateKey.from_private_bytes(plaintext)
    if not _same_public_key(key, contract_certificate):
        raise _unwrap_error("key-matches-certificate", "decrypted key does not match the contract certificate "
                            "[V2G20-2507/2510]")
    return key
