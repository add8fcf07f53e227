"""asyncio driver for the SLAC machines: pumps frames between a `FrameLink` and a machine, runs its deadlines.

    result = await run_pev(RawEthernetLink("eth1"), SlacConfig())   # -> Matched | MatchFailed
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from slac.config import SlacConfig
from slac.evse import SlacEvse
from slac.link import FrameLink
from slac.machine import AttemptFailed, FrameRejected, Matched, MatchFailed, Send, SlacMachine
from slac.pev import SlacPev
from v2gbase.jsonlog import log_json

log = logging.getLogger("slac")


def log_event(event: object, role: str) -> None:
    """One JSON object per line, naming the error code where there is one."""
    record: dict = {"role": role, "event": type(event).__name__}
    if isinstance(event, Matched):
        record.update(event.to_dict())
    elif isinstance(event, MatchFailed):
        record.update(code=event.code, reason=event.reason)
    elif isinstance(event, AttemptFailed):
        record.update(reason=event.reason)
    elif isinstance(event, FrameRejected):
        record.update(event.error.to_dict())
    else:
        record.update(vars(event))
    log_json(log, logging.INFO, record)


async def run_machine(machine: SlacMachine, link: FrameLink, first: list,
                      on_event: Callable[[object], None] | None = None) -> Matched | MatchFailed:
    loop = asyncio.get_running_loop()
    role = type(machine).__name__
    actions = first
    while True:
        for action in actions:
            if isinstance(action, Send):
                link.send(action.frame)
                continue
            log_event(action, role)
            if on_event:
                on_event(action)
            if isinstance(action, (Matched, MatchFailed)):
                return action
        deadline = machine.next_deadline()
        timeout = None if deadline is None else max(0.0, deadline - loop.time())
        try:
            async with asyncio.timeout(timeout):  # not wait_for: it can swallow a cancellation (see slac.modem.query)
                frame = await link.recv()
        except TimeoutError:
            actions = machine.timer_expired(loop.time())
            continue
        actions = machine.receive(frame, loop.time())
        deadline = machine.next_deadline()
        if deadline is not None and deadline <= loop.time():  # a busy medium must not starve the timers
            actions += machine.timer_expired(loop.time())


async def run_evse(link: FrameLink, config: SlacConfig | None = None, *, machine: SlacEvse | None = None,
                   on_event: Callable[[object], None] | None = None) -> Matched | MatchFailed:
    machine = machine or SlacEvse(link.mac, config)
    return await run_machine(machine, link, machine.start(asyncio.get_running_loop().time()), on_event)


async def run_pev(link: FrameLink, config: SlacConfig | None = None, *, machine: SlacPev | None = None,
                  on_event: Callable[[object], None] | None = None) -> Matched | MatchFailed:
    machine = machine or SlacPev(link.mac, config)
    return await run_machine(machine, link, machine.start(asyncio.get_running_loop().time()), on_event)
