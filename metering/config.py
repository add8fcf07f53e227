"""Load a component's configuration dataclass (nested dataclasses, tuples) from a JSON file."""
from __future__ import annotations

import dataclasses
import json
import typing
from pathlib import Path


def from_dict(cls: type, data: dict):
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise ValueError(f"{cls.__name__}: unknown keys {sorted(unknown)}")
    values = {}
    for name, value in data.items():
        hint = hints[name]
        if dataclasses.is_dataclass(hint) and isinstance(value, dict):
            value = from_dict(hint, value)
        elif typing.get_origin(hint) is tuple and isinstance(value, list):
            value = tuple(value)
        values[name] = value
    return cls(**values)


def load_config(cls: type, path: str | Path):
    return from_dict(cls, json.loads(Path(path).read_text()))
