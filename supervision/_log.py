"""Structured logs: one JSON object per line, naming the event and, for errors, the code."""
from __future__ import annotations

import logging

from v2gbase.jsonlog import log_json

_logger = logging.getLogger("supervision")


def log(event: str, level: int = logging.INFO, **fields: object) -> None:
    log_json(_logger, level, {"component": "supervision", "event": event, **fields})
