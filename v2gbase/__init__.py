"""The bottom of the stack: helpers every package may import (and which import none of ours).

    v2gbase.config   read_table(path), load_dataclass(cls, path), from_dict(cls, data), checked_scalar(...)
    v2gbase.errors   CodedError: an exception with a stable `code` and keyword details
    v2gbase.jsonlog  log_json(logger, level, record): one JSON object per log line
"""
