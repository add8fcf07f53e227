"""Structured logs: one JSON object per line, always naming the error or event code."""
from __future__ import annotations

import json
import logging

_logger = logging.getLogger("metering")


def log_event(code: str, message: str, level: int = logging.WARNING, **fields: object) -> None:
    _logger.log(level, json.dumps({"code": code, "message": message, **fields}, default=str, sort_keys=True))
