"""Load a configuration dataclass from a TOML or JSON file (keys = field names; enums by name or value)."""
from __future__ import annotations

import dataclasses
import enum
import json
import tomllib
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


def _convert(value: Any, hint: Any) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        return value if value is None else _convert(value, options[0])
    if origin is frozenset:
        (item,) = typing.get_args(hint)
        return frozenset(_convert(v, item) for v in value)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return hint[value] if isinstance(value, str) else hint(value)
    return value


def load_dataclass(cls: type[T], path: str | Path) -> T:
    """Unknown keys are an error, so a typo in a file is not silently ignored."""
    path = Path(path)
    raw = path.read_bytes()
    data = tomllib.loads(raw.decode()) if path.suffix == ".toml" else json.loads(raw)
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = set(data) - names
    if unknown:
        raise ValueError(f"{path}: unknown {cls.__name__} settings {sorted(unknown)}")
    return cls(**{k: _convert(v, hints[k]) for k, v in data.items()})
