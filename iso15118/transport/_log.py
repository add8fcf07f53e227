"""Structured log lines for the transport adapters: one JSON object per line, naming the event and error code."""
from __future__ import annotations

import logging
from typing import Any

from v2gbase.jsonlog import log_json


def log_event(logger: logging.Logger, level: int, event: str, **fields: Any) -> None:
    log_json(logger, level, {"event": event, **fields})
