"""Structured logs (DESIGN.md): one JSON object per line, naming the event and, for errors, the code."""
from __future__ import annotations

import json
import logging


def log_json(logger: logging.Logger, level: int, record: dict) -> None:
    """`record` as one sorted JSON line; values JSON cannot hold (paths, enums, times) are written as str()."""
    if logger.isEnabledFor(level):
        logger.log(level, json.dumps(record, default=str, sort_keys=True))
