"""Building blocks of the per-machine sequence tables: (state, received message) -> Rule."""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Callable

from .events import Event


@dataclass(frozen=True)
class Rule:
    handler: Callable[..., Any]
    next_state: Enum
    timeout: float  # SECC: sequence timeout armed after the response; EVCC: response timeout of the request


@dataclass
class Reply:
    """A handler's answer: response content (without Header/ResponseCode), its ResponseCode, and whether the
    machine stays in its current state instead of taking the table's next state."""

    body: dict[str, Any] = field(default_factory=dict)
    code: str = "OK"
    stay: bool = False
    next_state: Enum | None = None  # a handler may pick the resume branch (SessionSetup with an old SessionID)
    events: tuple[Event, ...] = ()
