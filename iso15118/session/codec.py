"""Message trees <-> EXI, through the exi package's generated classes (one per XSD complex type).

The trees use the XSD element/attribute names, which are also the generated classes' field names, so the
conversion is generic: a tree key selects the field, the field's type hint selects the class of the value.
"""
from __future__ import annotations

import dataclasses
import functools
import importlib
import types
import typing
from enum import Enum
from typing import Any

import exi
from exi import ExiError

from iso15118.transport.v2gtp import PayloadType

from .messages import Message, schema_of
from .response_codes import PeerProtocolError

_MODULES = {"apphand": "apphand", "iso20": "iso20", "iso20-dc": "iso20_dc", "iso20-ac": "iso20_ac"}
SCHEMA_OF_PAYLOAD_TYPE = {
    PayloadType.SAP: "apphand",
    PayloadType.MAINSTREAM: "iso20",
    PayloadType.AC_MAINSTREAM: "iso20-ac",
    PayloadType.DC_MAINSTREAM: "iso20-dc",
    PayloadType.METERING_CONFIRMATION: "iso20",
}
ERR_UNDECODABLE = "ERR_EXI_UNDECODABLE"


@functools.cache
def _class_of(name: str) -> type:
    module = importlib.import_module("exi.generated." + _MODULES[schema_of(name)])
    return getattr(module, name[0].upper() + name[1:])


def _value_class(hint: Any) -> tuple[type | None, bool]:
    """(class to build for a field, whether the field is a list)."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
        origin = typing.get_origin(hint)
    if origin is list:
        return _value_class(typing.get_args(hint)[0])[0], True
    return hint, False


@functools.cache
def _plan(cls: type) -> dict[str, tuple[Any, bool, bool]]:
    """Per generated class, once: field -> (value class, is list, value class is a dataclass)."""
    plan = {}
    for name, hint in typing.get_type_hints(cls).items():
        item_cls, is_list = _value_class(hint)
        plan[name] = (item_cls, is_list, dataclasses.is_dataclass(item_cls))
    return plan


@functools.cache
def _field_names(cls: type) -> tuple[str, ...] | None:
    """Field names of a generated dataclass, None for any other type (cached per type: `_tree` runs for every
    value of every message, and asking dataclasses.is_dataclass per value was a fifth of a SECC's decode)."""
    return tuple(f.name for f in dataclasses.fields(cls)) if dataclasses.is_dataclass(cls) else None


def _build(cls: type, value: dict) -> Any:
    plan = _plan(cls)
    kwargs = {}
    for key, item in value.items():
        try:
            item_cls, is_list, nested = plan[key]
        except KeyError:
            raise ValueError(f"{cls.__name__} has no field {key!r}") from None
        if nested:
            kwargs[key] = [_build(item_cls, v) for v in item] if is_list else _build(item_cls, item)
        else:
            kwargs[key] = list(item) if is_list else item
    return cls(**kwargs)


_PLAIN = (int, str, bytes, bool, float)


def _tree(value: Any) -> Any:
    if isinstance(value, _PLAIN) and not isinstance(value, Enum):
        return value
    names = _field_names(type(value))
    if names is not None:
        out = {}
        for name in names:
            item = getattr(value, name)
            if item is None or (isinstance(item, list) and not item):
                continue
            out[name] = _tree(item)
        return out
    if isinstance(value, list):
        return [_tree(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    return value


def to_object(message: Message) -> Any:
    return _build(_class_of(message.name), message.body)


def encode(message: Message) -> bytes:
    return exi.encode(to_object(message), schema=schema_of(message.name), element=message.name)


def decode(payload_type: int, payload: bytes, schema: str | None = None) -> tuple[Message, str]:
    """(message, schema) of a V2GTP payload; PeerProtocolError(ERR_EXI_UNDECODABLE) for anything malformed.

    `schema` is needed where the payload type does not tell the grammar: on the schedule-renegotiation side
    stream (0x8101) the receiver knows it from the side stream's sequence (ChargeParameterDiscovery first)."""
    schema = schema or SCHEMA_OF_PAYLOAD_TYPE.get(payload_type)
    if schema is None:
        raise PeerProtocolError(ERR_UNDECODABLE, f"payload type {payload_type:#06x} not handled")
    try:
        qname, obj = exi.decode_element(payload, schema)
    except ExiError as exc:
        raise PeerProtocolError(ERR_UNDECODABLE, f"{exc.code}: {exc}") from exc
    except Exception as exc:  # the codec must not crash a session; report as undecodable
        raise PeerProtocolError(ERR_UNDECODABLE, repr(exc)) from exc
    return Message(qname.rsplit("}", 1)[1], _tree(obj)), schema
