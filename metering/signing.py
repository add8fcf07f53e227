"""Meter key and MeterSignature (ISO 15118-20 MeterInfo).

The signer is one small interface (`Signer`) so a PKCS#11 token or a TPM can replace the file key: it exposes
the public key (DER SubjectPublicKeyInfo) and signs bytes with ECDSA P-256 / SHA-256, returning DER.

MeterSignature (facts/signatures.md §4: -20 leaves its content to the meter) is the raw 64-byte r‖s ECDSA
P-256 / SHA-256 signature over this canonical byte layout of the MeterInfo values (all integers big-endian):

    offset  size  field
    0       2     magic "MI"
    2       1     layout version = 0x01
    3       1     n = length of MeterID in UTF-8 bytes (MeterID ≤ 32 characters)
    4       n     MeterID, UTF-8
    4+n     8     ChargedEnergyReadingWh, uint64
    12+n    1+8   BPT_DischargedEnergyReadingWh: presence byte (0x00 absent / 0x01 present) + uint64 (0 if absent)
    21+n    1+8   CapacitiveEnergyReadingVARh: presence + uint64
    30+n    1+8   BPT_InductiveEnergyReadingVARh: presence + uint64
    39+n    1+2   MeterStatus: presence + int16 (two's complement)
    42+n    1+8   MeterTimestamp: presence + uint64 (Unix seconds, like the -20 header TimeStamp)
    51+n          end
"""
from __future__ import annotations

import os
import struct
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from metering.errors import SignatureInvalid

METER_INFO_MAGIC = b"MI\x01"
P256_COORDINATE_BYTES = 32


class Signer(Protocol):
    """ECDSA P-256 / SHA-256 signing key; implementations: FileKeySigner, later PKCS#11 / TPM."""

    def public_key_der(self) -> bytes: ...

    def sign(self, data: bytes) -> bytes:
        """DER ECDSA-Sig-Value over SHA-256(data)."""
        ...


class FileKeySigner:
    """A PEM key file, created with mode 0600 if missing; the private key never leaves this object."""

    def __init__(self, path: str | os.PathLike, create: bool = True) -> None:
        path = Path(path)
        if not path.exists():
            if not create:
                raise FileNotFoundError(path)
            key = ec.generate_private_key(ec.SECP256R1())
            pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(pem)
                handle.flush()
                os.fsync(handle.fileno())
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
            raise ValueError("meter key must be ECDSA P-256")
        self._key = key

    def public_key_der(self) -> bytes:
        return self._key.public_key().public_bytes(serialization.Encoding.DER,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo)

    def sign(self, data: bytes) -> bytes:
        return self._key.sign(data, ec.ECDSA(hashes.SHA256()))


def der_to_raw(signature_der: bytes) -> bytes:
    r, s = decode_dss_signature(signature_der)
    return r.to_bytes(P256_COORDINATE_BYTES, "big") + s.to_bytes(P256_COORDINATE_BYTES, "big")


def raw_to_der(signature_raw: bytes) -> bytes:
    if len(signature_raw) != 2 * P256_COORDINATE_BYTES:
        raise SignatureInvalid("MeterSignature must be 64 bytes r‖s", length=len(signature_raw))
    return encode_dss_signature(int.from_bytes(signature_raw[:32], "big"), int.from_bytes(signature_raw[32:], "big"))


def load_public_key(public_key_der: bytes) -> ec.EllipticCurvePublicKey:
    try:
        key = serialization.load_der_public_key(public_key_der)
    except ValueError as exc:
        raise SignatureInvalid("public key is not DER SubjectPublicKeyInfo") from exc
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise SignatureInvalid("public key is not ECDSA P-256")
    return key


def verify_der(public_key_der: bytes, signature_der: bytes, data: bytes) -> None:
    try:
        load_public_key(public_key_der).verify(signature_der, data, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError) as exc:
        raise SignatureInvalid("signature does not verify") from exc


@dataclass(frozen=True)
class MeterInfo:
    """The values of ISO 15118-20 MeterInfoType; `meter_signature` = raw r‖s over `signed_bytes()`."""

    meter_id: str
    charged_wh: int
    discharged_wh: int | None = None
    capacitive_varh: int | None = None
    inductive_varh: int | None = None
    meter_status: int | None = None
    meter_timestamp: int | None = None
    meter_signature: bytes | None = None

    def signed_bytes(self) -> bytes:
        meter_id = self.meter_id.encode("utf-8")
        if len(self.meter_id) > 32:
            raise ValueError("MeterID is at most 32 characters (meterIDType)")

        def optional(fmt: str, value: int | None) -> bytes:
            return struct.pack(">B" + fmt, value is not None, 0 if value is None else value)

        return (METER_INFO_MAGIC + struct.pack(">B", len(meter_id)) + meter_id
                + struct.pack(">Q", self.charged_wh)
                + optional("Q", self.discharged_wh) + optional("Q", self.capacitive_varh)
                + optional("Q", self.inductive_varh) + optional("h", self.meter_status)
                + optional("Q", self.meter_timestamp))


def sign_meter_info(info: MeterInfo, signer: Signer) -> MeterInfo:
    return replace(info, meter_signature=der_to_raw(signer.sign(info.signed_bytes())))


def verify_meter_info(info: MeterInfo, public_key_der: bytes) -> None:
    """Raises SignatureInvalid (ERR_SIG_INVALID) unless MeterSignature verifies over the MeterInfo values."""
    if info.meter_signature is None:
        raise SignatureInvalid("MeterInfo carries no MeterSignature")
    verify_der(public_key_der, raw_to_der(info.meter_signature), info.signed_bytes())
