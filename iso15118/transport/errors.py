"""Base of the typed transport errors: every one carries a stable `code` that logs and callers match on."""
from __future__ import annotations


class TransportError(Exception):
    """Bad input at the transport layer; `code` is stable, `detail` names what is wrong and where."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail
