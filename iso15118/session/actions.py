"""What a session machine asks its adapter to do. The adapter executes these in order and nothing else."""
from __future__ import annotations

from dataclasses import dataclass, field

from .messages import Message


@dataclass(frozen=True)
class Send:
    """Write one V2GTP frame (header + `payload`) in one write. `message` is the decoded form, for traces."""

    payload_type: int
    payload: bytes
    message: Message = field(compare=False)


@dataclass(frozen=True)
class StartTimer:
    """(Re)arm the named timer to fire at the absolute time `deadline` (same clock as `now`)."""

    name: str
    deadline: float


@dataclass(frozen=True)
class StopTimer:
    name: str


@dataclass(frozen=True)
class Close:
    """End the connection. `linger` seconds: the SECC keeps TCP open >= 5 s after SessionStopRes [V2G20-1633]."""

    reason: str
    code: str | None = None
    linger: float = 0.0


Action = Send | StartTimer | StopTimer | Close
