"""Typed signature errors: a stable `code` plus the ISO 15118-20 ResponseCode the SECC answers with."""
from __future__ import annotations

ERR_SIG_INVALID = "ERR_SIG_INVALID"


class SignatureError(Exception):
    """An XML signature over EXI failed: missing, malformed, not allowed by -20, wrong digest or wrong key.

    `code` is always ERR_SIG_INVALID; `response_code` is the -20 ResponseCode to answer with
    (FAILED_SignatureError, or FAILED_MeteringSignatureNotValid for a MeteringConfirmationReq); `rule` names
    the check that failed (e.g. "digest", "signature-value", "reference-set").
    """

    code = ERR_SIG_INVALID

    def __init__(self, message: str, *, rule: str, response_code: str = "FAILED_SignatureError"):
        super().__init__(f"{ERR_SIG_INVALID} [{rule}]: {message}")
        self.rule = rule
        self.response_code = response_code
        self.detail = message

    def with_response_code(self, response_code: str) -> "SignatureError":
        """The same failure answered with another ResponseCode (the message type decides it)."""
        clone = SignatureError(self.detail, rule=self.rule, response_code=response_code)
        clone.__cause__ = self.__cause__
        return clone

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "response_code": self.response_code, "rule": self.rule, "message": self.detail}
