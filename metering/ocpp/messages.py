"""Pure builders of OCPP 2.0.1 payloads (snake_case dicts as the `ocpp` package takes them); no I/O.

Signed meter values follow the OCA application note "Signed Meter Values in OCPP" (facts metering.md §2.1–2.2):
`signedMeterData` = base64 of the whole OCMF record, `signingMethod` "" (OCMF carries SA), `encodingMethod`
"OCMF", `publicKey` = base64 of `oca:base16:asn1:<DER SPKI hex>` or "" when not sent.
"""
from __future__ import annotations

import base64
import datetime as dt
from typing import Protocol

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

MAX_SIGNED_METER_DATA = 2500  # SignedMeterValueType.signedMeterData maxLength (OCPP 2.0.1 JSON schema)

IMPORT_REGISTER = "Energy.Active.Import.Register"
EXPORT_REGISTER = "Energy.Active.Export.Register"


class SignedMeterReading(Protocol):
    """What the client needs from a reading; `metering.SignedReading` has these attributes."""

    wall: float  # POSIX seconds when the meter was asked to sign
    import_wh: int
    export_wh: int
    ocmf: str  # the OCMF record, verbatim ("" when unsigned)


def timestamp(wall: float) -> str:
    """RFC 3339 UTC with milliseconds, as the OCPP dateTime fields expect."""
    moment = dt.datetime.fromtimestamp(wall, dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def oca_public_key(public_key_der: bytes) -> str:
    return base64.b64encode(b"oca:base16:asn1:" + public_key_der.hex().upper().encode("ascii")).decode("ascii")


def signed_meter_value(ocmf: str, public_key: str) -> dict:
    data = base64.b64encode(ocmf.encode("utf-8")).decode("ascii")
    if len(data) > MAX_SIGNED_METER_DATA:
        raise ValueError(f"OCMF record of {len(ocmf)} bytes exceeds signedMeterData's "
                         f"{MAX_SIGNED_METER_DATA} base64 characters")
    return {"signed_meter_data": data, "signing_method": "", "encoding_method": "OCMF", "public_key": public_key}


def meter_value(reading: SignedMeterReading, context: str, public_key: str) -> dict:
    """Import and export register sampled values of one reading, each carrying the reading's OCMF record."""
    sampled = []
    for measurand, value in ((IMPORT_REGISTER, reading.import_wh), (EXPORT_REGISTER, reading.export_wh)):
        sv: dict = {"value": float(value), "context": context, "measurand": measurand,
                    "unit_of_measure": {"unit": "Wh", "multiplier": 0}}
        if reading.ocmf:
            sv["signed_meter_value"] = signed_meter_value(reading.ocmf, public_key)
        sampled.append(sv)
    return {"timestamp": timestamp(reading.wall), "sampled_value": sampled}


def id_token(token: str, token_type: str = "ISO14443") -> dict:
    """IdTokenType: `ISO14443` (RFID UID hex), `eMAID` (Plug & Charge contract), `Central`, `Local`, ..."""
    return {"id_token": token, "type": token_type}


def certificate_hash_data(certificate: x509.Certificate, issuer: x509.Certificate, responder_url: str = "",
                          algorithm: str = "SHA256") -> dict:
    """OCSPRequestDataType for Authorize.iso15118CertificateHashData: the certificate's OCSP CertID (RFC 6960 §4.1.1):
    hashes of the issuer's DER name and of its public key's BIT STRING contents, and the serial number in hex."""
    hash_class = {"SHA256": hashes.SHA256, "SHA384": hashes.SHA384, "SHA512": hashes.SHA512}[algorithm]

    def digest(data: bytes) -> str:
        h = hashes.Hash(hash_class())
        h.update(data)
        return h.finalize().hex()

    key_bits = _public_key_bits(issuer)
    return {"hash_algorithm": algorithm, "issuer_name_hash": digest(certificate.issuer.public_bytes()),
            "issuer_key_hash": digest(key_bits), "serial_number": format(certificate.serial_number, "x"),
            "responder_url": responder_url or _ocsp_url(certificate)}


def _public_key_bits(certificate: x509.Certificate) -> bytes:
    """The contents of subjectPublicKeyInfo's BIT STRING, in the encoding each key type puts there."""
    key = certificate.public_key()
    if isinstance(key, ec.EllipticCurvePublicKey):
        return key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    if isinstance(key, rsa.RSAPublicKey):
        return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _ocsp_url(certificate: x509.Certificate) -> str:
    try:
        aia = certificate.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    except x509.ExtensionNotFound:
        return ""
    ocsp = x509.AuthorityInformationAccessOID.OCSP
    return next((d.access_location.value for d in aia if d.access_method == ocsp), "")
