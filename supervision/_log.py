"""Structured logs: one JSON object per line, naming the event and, for errors, the code."""
from __future__ import annotations

import json
import logging

_logger = logging.getLogger("supervision")


def log(event: str, level: int = logging.INFO, **fields: object) -> None:
    _logger.log(level, json.dumps({"component": "supervision", "event": event, **fields}, default=str))
