"""The base of the typed errors that carry a stable `code` (DESIGN.md, error codes)."""
from __future__ import annotations


class CodedError(Exception):
    """`code` is a class attribute, stable across releases; `details` name what was wrong and where."""

    code = "ERR"

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.details = details
