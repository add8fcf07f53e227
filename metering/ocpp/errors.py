"""Typed OCPP client errors with stable codes."""
from __future__ import annotations

from metering.errors import MeteringError


class OcppError(MeteringError):
    code = "ERR_OCPP"


class OcppOffline(OcppError):
    """A call that needs an answer now (Authorize) while no CSMS connection is up."""

    code = "OCPP_OFFLINE"


class OcppCallFailed(OcppError):
    """The CSMS answered with CALLERROR or not in time."""

    code = "OCPP_CALL_FAILED"


class OcppConfigInvalid(OcppError):
    code = "ERR_OCPP_CONFIG"


class TransactionClosed(OcppError):
    """An event for a transaction this station never opened or already ended."""

    code = "ERR_OCPP_TX_CLOSED"
