"""Typed SLAC/PLC errors; every one carries a stable `code` that logs and callers match on."""
from __future__ import annotations


class SlacError(Exception):
    code = "SLAC_ERROR"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_dict(self) -> dict:
        return {"code": self.code, "message": self.message}


class FrameError(SlacError):
    """A HomePlug frame that cannot be dissected; `offset` is the byte offset from the frame start."""

    code = "SLAC_FRAME_MALFORMED"

    def __init__(self, message: str, offset: int, field: str | None = None) -> None:
        super().__init__(f"{message} at offset {offset}" + (f" (field {field})" if field else ""))
        self.offset = offset
        self.field = field

    def to_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "offset": self.offset, "field": self.field}


class ModemError(SlacError):
    """The local PLC modem refused or did not answer a request (SET_KEY, vendor query)."""

    code = "SLAC_MODEM_ERROR"


class PlcLinkLost(SlacError):
    """SNR stayed below the threshold for too long, or the modem stopped answering (DESIGN.md error codes)."""

    code = "PLC_LINK_LOST"
