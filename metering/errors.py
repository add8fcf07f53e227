"""Typed metering errors; each carries a stable `code` that logs and callers match on (DESIGN.md, error codes)."""
from __future__ import annotations

from v2gbase.errors import CodedError


class MeteringError(CodedError):
    """Base of every metering error; `code` is stable across releases."""

    code = "ERR_METERING"


class DataCorrupt(MeteringError):
    """A checksum or CRC failed: a chip read frame, a journal record or a calibration file."""

    code = "ERR_MET_DATA_CORRUPT"


class SignatureInvalid(MeteringError):
    """A MeterSignature or an OCMF record does not verify with the given public key."""

    code = "ERR_SIG_INVALID"


class ResyncRequired(MeteringError):
    """The chip's cumulative energy register went backwards or reset; the totals were re-anchored."""

    code = "METER_RESYNC_REQUIRED"


class ConfigCrcChanged(MeteringError):
    """The chip's configuration CRC differs from the calibrated one (tamper or unexpected write)."""

    code = "ERR_MET_CONFIG_CRC"


class CalibrationLocked(MeteringError):
    """A locked calibration may only be replaced with an explicit unlock."""

    code = "ERR_MET_CAL_LOCKED"


class ChipNotResponding(MeteringError):
    """The transport timed out or the chip did not identify itself after reset."""

    code = "ERR_MET_NO_CHIP"


class SessionError(MeteringError):
    """A session operation that does not fit the session's state (unknown id, already open)."""

    code = "ERR_MET_SESSION"
