"""Structured logs: one JSON object per line, naming the error code."""
from __future__ import annotations

import json
import logging


def log_event(logger: logging.Logger, event: str, level: int = logging.INFO, **fields) -> None:
    if logger.isEnabledFor(level):
        record = {"event": event}
        record.update({k: (v.hex() if isinstance(v, bytes) else v) for k, v in fields.items()})
        logger.log(level, json.dumps(record, default=str))
