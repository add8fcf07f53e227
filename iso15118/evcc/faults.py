"""Scripted fault injection for the EV emulator (conformance testing of SECCs).

Each spec applies once, to the first request of the named type, or to its n-th with `<Request>#n`:
    late:<Request>:<seconds>   send it that much later than normal (provokes the SECC's sequence timeout)
    wrong-sequence:<Request>   send a SessionSetupReq in its place (the SECC must answer FAILED_SequenceError)
    drop-tcp:<Request>         close the connection instead of sending it (the SECC must seal the session)
    bad-signature:<Request>    flip a bit of its Header SignatureValue (PnC AuthorizationReq,
                               MeteringConfirmationReq, CertificateInstallationReq)
"""
from __future__ import annotations

from dataclasses import dataclass

from iso15118.session.config import ConfigError

KINDS = ("late", "wrong-sequence", "drop-tcp", "bad-signature")


@dataclass(frozen=True)
class Fault:
    kind: str
    request: str
    occurrence: int = 1
    seconds: float = 0.0


def parse_fault(spec: str) -> Fault:
    parts = spec.split(":")
    request, _, nth = parts[1].partition("#") if len(parts) > 1 else ("", "", "")
    if parts[0] not in KINDS or len(parts) != (3 if parts[0] == "late" else 2) or not request.endswith("Req"):
        raise ConfigError(f"bad fault {spec!r}; expected one of {', '.join(k + ':<Request>[#n]' for k in KINDS)}"
                          " (late takes :<seconds> too)")
    try:
        seconds = float(parts[2]) if parts[0] == "late" else 0.0
        occurrence = int(nth) if nth else 1
    except ValueError as exc:
        raise ConfigError(f"bad fault {spec!r}: {exc}") from exc
    return Fault(parts[0], request, occurrence, seconds)


class FaultPlan:
    def __init__(self, specs: tuple[str, ...]) -> None:
        self._pending = [parse_fault(spec) for spec in specs]
        self._sent: dict[str, int] = {}
        self.applied: list[str] = []

    def for_request(self, request: str) -> dict[str, Fault]:
        """Faults (by kind) for the next request of this name; each is consumed."""
        self._sent[request] = self._sent.get(request, 0) + 1
        due = {f.kind: f for f in self._pending if f.request == request and f.occurrence == self._sent[request]}
        for fault in due.values():
            self._pending.remove(fault)
            self.applied.append(f"{fault.kind}:{fault.request}#{fault.occurrence}")
        return due


def corrupt_signature(header: dict) -> None:
    """Flip one bit of the SignatureValue so the signature no longer verifies."""
    value = header.get("Signature", {}).get("SignatureValue")
    if value:
        data = bytearray(value["value"])
        data[len(data) // 2] ^= 0x01
        value["value"] = bytes(data)
