"""The one exception type of the codec; `code` is stable and meant for programs, the text for people."""
from __future__ import annotations

# Stable error codes
TRUNCATED = "ERR_EXI_TRUNCATED"  # the stream ends inside an event or value
BAD_HEADER = "ERR_EXI_BAD_HEADER"  # first octet is not 0x80
INVALID_EVENT_CODE = "ERR_EXI_INVALID_EVENT_CODE"  # an event code no production of the state has
UNSUPPORTED_EVENT = "ERR_EXI_UNSUPPORTED_EVENT"  # a deviation event the codec does not accept (e.g. SE(*) at the root)
UNTYPED_VALUE = "ERR_EXI_UNTYPED_VALUE"  # a lax encoder sent CH[untyped]: the value did not fit its type
NIL = "ERR_EXI_NIL"  # a lax encoder sent xsi:nil on an element that is not nillable (`.value`: the boolean)
UNKNOWN_ATTRIBUTE = "ERR_EXI_UNKNOWN_ATTRIBUTE"  # AT(*) for an undeclared attribute (`.value`: (name, text))
PREMATURE_END = "ERR_EXI_PREMATURE_END"  # undeclared EE: mandatory content is missing
VALUE_OUT_OF_RANGE = "ERR_EXI_VALUE_OUT_OF_RANGE"  # integer outside its XSD range, unknown enumeration index
LENGTH_VIOLATION = "ERR_EXI_LENGTH_VIOLATION"  # string/binary longer or shorter than its XSD facets allow
VALUE_TABLE_HIT = "ERR_EXI_VALUE_TABLE_HIT"  # string value-table reference; capacity is 0 in ISO 15118
TRAILING_DATA = "ERR_EXI_TRAILING_DATA"  # whole octets left after the end of the document
INVALID_CONTENT = "ERR_EXI_INVALID_CONTENT"  # object/XML does not match the schema (missing/unexpected element)
INVALID_VALUE = "ERR_EXI_INVALID_VALUE"  # a value of the wrong Python type or unparsable XML text
UNKNOWN_SCHEMA = "ERR_EXI_UNKNOWN_SCHEMA"  # schema name or namespace not one of the grammar sets
INVALID_XML = "ERR_EXI_INVALID_XML"  # XML input is not well-formed


class ExiError(ValueError):
    """Raised for every malformed stream, unencodable value or unknown schema.

    `code` is one of the ERR_EXI_* constants of `exi.errors`; `bit_offset` is the position in the stream (for
    decoding: where the failing event or value starts) and `state` names the grammar state, e.g.
    "SessionSetupReq state 2". Both are None where they do not apply."""

    def __init__(self, code: str, message: str, bit_offset: int | None = None, state: str | None = None):
        super().__init__(code, message)
        self.code = code
        self.message = message
        self.bit_offset = bit_offset
        self.state = state
        self.path: list[str] = []  # element names from the root down to where it failed

    def __str__(self) -> str:
        where = []
        if self.path:
            where.append("in " + "/".join(self.path))
        if self.bit_offset is not None:
            where.append(f"bit {self.bit_offset}")
        if self.state is not None:
            where.append(self.state)
        return f"{self.code}: {self.message}" + (f" ({', '.join(where)})" if where else "")
