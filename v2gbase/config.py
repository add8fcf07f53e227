"""Configuration dataclasses from TOML or JSON files (DESIGN.md: one dataclass per component, loadable from a
file). Keys are field names; an unknown key is an error, so a typo in a file never passes silently."""
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


def read_table(path: str | Path, error: type[Exception] = ValueError) -> dict:
    """The top-level table of a .toml file, else of a JSON file; a syntax error is raised as `error`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        table = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise error(f"{path}: {exc}") from exc
    if not isinstance(table, dict):
        raise error(f"{path}: the top level must be a table of settings, not {type(table).__name__}")
    return table


def from_dict(cls: type[T], data: dict, error: type[Exception] = ValueError, where: str | None = None) -> T:
    """Nested dataclasses from tables, tuples and frozensets from arrays, enums by name or value."""
    return cls(**_field_values(cls, data, error, where))


def load_dataclass(cls: type[T], path: str | Path, error: type[Exception] = ValueError, **overrides: Any) -> T:
    """`cls` from a file; `overrides` (already typed) win over the file's values."""
    return cls(**{**_field_values(cls, read_table(path, error), error, str(path)), **overrides})


def checked_scalar(key: str, value: Any, default: Any, error: type[Exception]) -> Any:
    """`value` if it has the type of the field's `default` (an integer is accepted for a float and returned as
    float; a boolean only for a boolean), else `error`."""
    expected = type(default)
    if isinstance(value, bool) != (expected is bool) or not (
            isinstance(value, expected) or (expected is float and isinstance(value, int))):
        raise error(f"{key}: expected {expected.__name__}, got {value!r}")
    return float(value) if expected is float else value


def _field_values(cls: type, data: dict, error: type[Exception], where: str | None) -> dict:
    unknown = set(data) - {f.name for f in dataclasses.fields(cls)}
    if unknown:
        raise error(f"{where or cls.__name__}: unknown {cls.__name__} settings {sorted(unknown)}")
    hints = typing.get_type_hints(cls)
    return {key: _convert(value, hints[key], error) for key, value in data.items()}


def _convert(value: Any, hint: Any, error: type[Exception]) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in args if a is not type(None)]
        return value if value is None else _convert(value, options[0], error)
    if dataclasses.is_dataclass(hint) and isinstance(value, dict):
        return from_dict(hint, value, error)
    if origin is tuple and isinstance(value, list):
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_convert(v, args[0], error) for v in value)
        return tuple(value)
    if origin is frozenset and isinstance(value, list):
        return frozenset(_convert(v, args[0], error) for v in value)
    if isinstance(hint, type) and issubclass(hint, enum.Enum) and not isinstance(value, hint):
        if isinstance(value, str) and value in hint.__members__:
            return hint[value]
        try:
            return hint(value)
        except ValueError as exc:
            raise error(f"{value!r} is not one of {[m.name for m in hint]}") from exc
    return value
