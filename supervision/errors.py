"""Typed supervision errors; each carries a stable `code` (DESIGN.md, error codes)."""
from __future__ import annotations

from v2gbase.errors import CodedError


class SupervisionError(CodedError):
    """Base of every supervision error; `code` is stable across releases."""

    code = "ERR_SUPERVISION"


class PilotFrameCorrupt(SupervisionError):
    """A control-pilot board line failed its CRC, its syntax or its value ranges."""

    code = "ERR_CP_FRAME_CORRUPT"


class PilotBoardError(SupervisionError):
    """The control-pilot board refused a command or did not acknowledge it in time."""

    code = "ERR_CP_BOARD"


class ConfigInvalid(SupervisionError):
    """A supervision configuration file names an unknown key or holds a value of the wrong type."""

    code = "ERR_SUPERVISION_CONFIG"
