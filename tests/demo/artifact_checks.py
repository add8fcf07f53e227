"""Independent checks of a `v2g demo` session folder: every figure is recomputed from the files themselves
(pyocmf for the OCMF signatures, the meter's key file on disk, the CSMS's recorded events)."""
from __future__ import annotations

import base64
import json
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from pyocmf import OCMF

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def records(out: Path) -> list[str]:
    return (out / "records.ocmf").read_text(encoding="utf-8").splitlines()


def payload(record: str) -> dict:
    return json.loads(record.split("|")[1])


def import_kwh(record: str) -> float:
    """RV of the import register (OBIS 01-00:B0.08.00*FF) in a record."""
    return next(r["RV"] for r in payload(record)["RD"] if r["RI"] == "01-00:B0.08.00*FF")


def export_kwh(record: str) -> float:
    return next(r["RV"] for r in payload(record)["RD"] if r["RI"] == "01-00:C0.08.00*FF")


def transaction_code(record: str) -> str:
    """The TX of the import register reading (B, C, E, A, P ...)."""
    return next(r["TX"] for r in payload(record)["RD"] if r["RI"] == "01-00:B0.08.00*FF")


def public_key_hex(out: Path) -> str:
    return (out / "meter-key.pub.hex").read_text(encoding="ascii").strip()


def meter_key_from_pem(out: Path) -> str:
    """The meter's public key computed from its private key file (data/meter-1.pem), DER SPKI hex."""
    key = serialization.load_pem_private_key((out / "data" / "meter-1.pem").read_bytes(), None)
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return der.hex().upper()


def all_verify(out: Path) -> bool:
    key = public_key_hex(out)
    return all(OCMF.from_string(r).verify_signature(key) for r in records(out))


def csms_events(out: Path) -> list[dict]:
    return json.loads((out / "csms-transaction-events.json").read_text(encoding="utf-8"))


def ended_end_record(event: dict) -> str:
    for meter_value in event["meterValue"]:
        for sampled in meter_value["sampledValue"]:
            if sampled.get("context") == "Transaction.End" and "signedMeterValue" in sampled:
                return base64.b64decode(sampled["signedMeterValue"]["signedMeterData"]).decode("utf-8")
    raise AssertionError("Ended without a signed Transaction.End value")


def trace(out: Path, side: str) -> list[dict]:
    lines = (out / f"trace-{side}.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]
