"""Decoded -20 messages as plain trees, and which payload type / EXI grammar carries each message.

A `Message` is the message element's name plus its content as nested dicts keyed by the XSD element names
(lists for repeated elements, `bytes` for hexBinary/base64Binary, `int`/`bool`/`str` for simple values;
a substitution-group member or choice appears under its own element name). This is the form the machines
reason about and the trace prints; `iso15118.session.codec` converts it to and from EXI.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from iso15118.transport.v2gtp import PayloadType


APP_PROTOCOL_NS = "urn:iso:15118:2:2010:AppProtocol"
NS_COMMON = "urn:iso:std:iso:15118:-20:CommonMessages"
NS_DC = "urn:iso:std:iso:15118:-20:DC"
NS_AC = "urn:iso:std:iso:15118:-20:AC"
NS_ISO2 = "urn:iso:15118:2:2013:MsgDef"
NS_DIN = "urn:din:70121:2012:MsgDef"


@dataclass(frozen=True)
class Message:
    name: str
    body: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        return self.body[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.body.get(key, default)


def schema_of(name: str) -> str:
    """The exi schema name whose grammar encodes the message element `name`."""
    if name.startswith("supportedAppProtocol"):
        return "apphand"
    if name.startswith("DC_"):
        return "iso20-dc"
    if name.startswith("AC_"):
        return "iso20-ac"
    return "iso20"


def payload_type_of(name: str) -> int:
    """Main-stream payload type for a message (side streams are chosen by the sender explicitly)."""
    if name.startswith("MeteringConfirmation"):
        return PayloadType.METERING_CONFIRMATION
    return {"apphand": PayloadType.SAP, "iso20-dc": PayloadType.DC_MAINSTREAM,
            "iso20-ac": PayloadType.AC_MAINSTREAM}.get(schema_of(name), PayloadType.MAINSTREAM)


def response_name(request_name: str) -> str:
    return request_name[:-3] + "Res"


def request_name(response: str) -> str:
    return response[:-3] + "Req"


def rational(value: float) -> dict[str, int]:
    """RationalNumberType {Exponent int8, Value int16} closest to `value` (Value kept within int16)."""
    exponent = 0
    scaled = value
    while abs(scaled) > 32767 and exponent < 127:
        exponent += 1
        scaled = value / (10**exponent)
    while scaled != int(scaled) and abs(scaled * 10) <= 32767 and exponent > -3:
        exponent -= 1
        scaled = value / (10**exponent)
    return {"Exponent": exponent, "Value": int(round(scaled))}


def from_rational(number: dict[str, int] | None, default: float = 0.0) -> float:
    if number is None:
        return default
    return number["Value"] * 10.0 ** number["Exponent"]
