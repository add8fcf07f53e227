"""Structured logs: one JSON object per line, always naming the error or event code."""
from __future__ import annotations

import logging

from v2gbase.jsonlog import log_json

_logger = logging.getLogger("metering")


def log_event(code: str, message: str, level: int = logging.WARNING, **fields: object) -> None:
    log_json(_logger, level, {"code": code, "message": message, **fields})
