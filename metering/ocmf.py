"""OCMF records (`OCMF|payload|signature`, FV 1.0; facts/metering.md §1).

The payload string is built here field by field (never re-serialised through a JSON library after signing),
signed as its exact UTF-8 bytes (ECDSA P-256 / SHA-256, DER hex in SD) and stored verbatim.
"""
from __future__ import annotations

import base64
import binascii
import json
import time
from dataclasses import dataclass, field

from metering.clock import SyncState
from metering.errors import SignatureInvalid
from metering.signing import Signer, verify_der

FORMAT_VERSION = "1.0"
SIGNATURE_ALGORITHM = "ECDSA-secp256r1-SHA256"
OBIS_IMPORT = "01-00:B0.08.00*FF"  # total mains active energy import (OCMF 1.4 table 25)
OBIS_EXPORT = "01-00:C0.08.00*FF"  # total mains active energy export
CURRENT_TYPES = ("AC", "DC")  # RT, facts/metering.md §1.3: no default, so always written


@dataclass(frozen=True)
class OcmfIdentity:
    gateway_id: str = "V2G-STACK EVSE"
    gateway_serial: str = "GW0001"
    gateway_version: str = "0.1.0"
    meter_vendor: str = "V2G-STACK"
    meter_model: str = "ADE9000-EMU"
    meter_serial: str = "EMU-0001"
    meter_firmware: str = "1"


@dataclass(frozen=True)
class OcmfUser:
    """Identification group, present exactly for transactions (IS, IL, IF, IT, ID)."""

    assigned: bool = True
    level: str = "TRUSTED"
    flags: tuple[str, ...] = ("OCPP_AUTH_TLS",)
    id_type: str = "CENTRAL"
    id: str = ""


@dataclass(frozen=True)
class OcmfReading:
    """One point in time: the import and the export register (two RD entries)."""

    wall: float
    sync: SyncState
    import_wh: int
    export_wh: int
    tx: str | None = None  # B, C, X, E, L, R, A, P, S, T; None for fiscal readings
    status: str = "G"
    error_flags: str = ""
    current_type: str = "AC"  # RT: the session's supply (AC, or DC for -20 DC/DC-BPT sessions)

    def __post_init__(self) -> None:
        if self.current_type not in CURRENT_TYPES:
            raise ValueError(f"OCMF RT must be one of {CURRENT_TYPES}, not {self.current_type!r}")


def format_time(wall: float, sync: SyncState) -> str:
    """`YYYY-MM-DDThh:mm:ss,fff+0000 S` (comma before ms, no colon in the offset), always UTC."""
    millis = int(round(wall * 1000))
    seconds, ms = divmod(millis, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f",{ms:03d}+0000 {sync.value}"


def format_kwh(wh: int) -> str:
    """RV in kWh with three decimals: the register's whole Wh, verbatim (no float rounding)."""
    return f"{wh // 1000}.{wh % 1000:03d}"


def _string(value: str) -> str:
    text = json.dumps(value, ensure_ascii=False)
    if "|" in text:
        raise ValueError("'|' is forbidden inside OCMF sections")
    return text


def build_payload(identity: OcmfIdentity, pagination: str, readings: list[OcmfReading],
                  user: OcmfUser | None = None) -> str:
    parts = [
        f'"FV":{_string(FORMAT_VERSION)}', f'"GI":{_string(identity.gateway_id)}',
        f'"GS":{_string(identity.gateway_serial)}', f'"GV":{_string(identity.gateway_version)}',
        f'"PG":{_string(pagination)}', f'"MV":{_string(identity.meter_vendor)}',
        f'"MM":{_string(identity.meter_model)}', f'"MS":{_string(identity.meter_serial)}',
        f'"MF":{_string(identity.meter_firmware)}',
    ]
    if user is not None:
        parts += [f'"IS":{"true" if user.assigned else "false"}', f'"IL":{_string(user.level)}',
                  f'"IF":[{",".join(_string(flag) for flag in user.flags)}]', f'"IT":{_string(user.id_type)}',
                  f'"ID":{_string(user.id)}']
    entries = []
    for reading in readings:
        registers = [(OBIS_IMPORT, reading.import_wh, reading.tx), (OBIS_EXPORT, reading.export_wh, reading.tx)]
        if reading.tx is not None and reading.tx != "C":
            # Verifiers (TPS, pyocmf) bill exactly one law-relevant B and one end reading per transaction, and
            # both OBIS registers are law-relevant: the import register carries B/E, the export register (V2G
            # discharge) rides along as an intermediate `C` reading — after B, before E.
            registers[1] = (OBIS_EXPORT, reading.export_wh, "C")
            if reading.tx != "B":
                registers.reverse()
        for register, wh, tx in registers:
            fields = [f'"TM":{_string(format_time(reading.wall, reading.sync))}']
            if tx is not None:
                fields.append(f'"TX":{_string(tx)}')
            fields += [f'"RV":{format_kwh(wh)}', f'"RI":{_string(register)}', '"RU":"kWh"',
                       f'"RT":{_string(reading.current_type)}', f'"EF":{_string(reading.error_flags)}',
                       f'"ST":{_string(reading.status)}']
            entries.append("{" + ",".join(fields) + "}")
    parts.append(f'"RD":[{",".join(entries)}]')
    return "{" + ",".join(parts) + "}"


def sign_payload(payload: str, signer: Signer) -> str:
    """The complete record; SD is the DER signature over the payload's exact UTF-8 bytes, upper-case hex."""
    signature = signer.sign(payload.encode("utf-8")).hex().upper()
    return f'OCMF|{payload}|{{"SA":"{SIGNATURE_ALGORITHM}","SD":"{signature}"}}'


@dataclass(frozen=True)
class OcmfRecord:
    payload: str
    signature: dict = field(default_factory=dict)

    @property
    def data(self) -> dict:
        return json.loads(self.payload)


def parse_record(record: str) -> OcmfRecord:
    sections = record.split("|")
    if len(sections) != 3 or sections[0] != "OCMF":
        raise SignatureInvalid("not an OCMF record (OCMF|payload|signature)", sections=len(sections))
    try:
        json.loads(sections[1])
        signature = json.loads(sections[2])
    except ValueError as exc:
        raise SignatureInvalid("OCMF section is not JSON", reason=str(exc)) from exc
    if not isinstance(signature, dict):
        raise SignatureInvalid("OCMF signature section is not an object")
    return OcmfRecord(payload=sections[1], signature=signature)


def verify_record(record: str, public_key_der: bytes) -> OcmfRecord:
    """Verify SD over the payload bytes as transmitted; raises SignatureInvalid (ERR_SIG_INVALID)."""
    parsed = parse_record(record)
    sig = parsed.signature
    if sig.get("SA", SIGNATURE_ALGORITHM) != SIGNATURE_ALGORITHM:
        raise SignatureInvalid("unsupported OCMF signature algorithm", SA=sig.get("SA"))
    if sig.get("SM", "application/x-der") != "application/x-der":
        raise SignatureInvalid("unsupported OCMF signature MIME type", SM=sig.get("SM"))
    try:
        if sig.get("SE", "hex") == "base64":
            der = base64.b64decode(sig["SD"], validate=True)
        elif sig.get("SE", "hex") == "hex":
            der = bytes.fromhex(sig["SD"])
        else:
            raise SignatureInvalid("unsupported OCMF signature encoding", SE=sig.get("SE"))
    except (KeyError, TypeError, ValueError, binascii.Error) as exc:
        raise SignatureInvalid("OCMF SD missing or not decodable") from exc
    try:
        signed = parsed.payload.encode("utf-8")
    except UnicodeEncodeError as exc:  # lone surrogates cannot be what was signed
        raise SignatureInvalid("OCMF payload is not encodable as UTF-8") from exc
    verify_der(public_key_der, der, signed)
    return parsed
