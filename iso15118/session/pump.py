"""asyncio adapter shared by SECC and EVCC: pumps V2GTP frames and timers between a stream and a machine.

The machine's clock is the event loop's monotonic clock. One consumer handles frames and timer expiries in
order, so the machine is never re-entered. Each Send is one write of header + payload.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Callable

from iso15118.transport.v2gtp import V2gtpError
from iso15118.transport.v2gtp_asyncio import V2gtpStream

from .actions import Close, Send, StartTimer, StopTimer
from .events import Event
from .log import log_event

_log = logging.getLogger("iso15118.session")
_FRAME, _TIMER, _EOF = "frame", "timer", "eof"


class MachinePump:
    def __init__(self, machine, stream: V2gtpStream, on_event: Callable[[Event], None] | None = None) -> None:
        self.machine = machine
        self.stream = stream
        self.on_event = on_event
        self._queue: asyncio.Queue = asyncio.Queue()
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._closed = False

    async def run(self, first_actions: list | None = None) -> None:
        loop = asyncio.get_running_loop()
        reader = asyncio.create_task(self._read())
        try:
            if first_actions:
                await self._apply(first_actions)
            while not self._closed:
                kind, item = await self._queue.get()
                if kind == _TIMER and not item:
                    # A late event loop (busy with other sessions' TLS handshakes) runs a due timer in the same
                    # turn in which it reads a frame that arrived before the deadline; the reader task then
                    # queues that frame behind the timer. Let it, and handle the timer after it (the machine
                    # re-checks its deadlines, and the frame may have disarmed the timer).
                    await asyncio.sleep(0)
                    if not self._queue.empty():
                        self._queue.put_nowait((_TIMER, True))
                        continue
                now = loop.time()
                if kind == _FRAME:
                    actions = self.machine.receive(item.payload_type, item.payload, now)
                elif kind == _TIMER:
                    actions = self.machine.timer_expired(now)
                else:
                    actions = self.machine.connection_lost(now)
                    self._closed = True
                await self._apply(actions)
        finally:
            for handle in self._timers.values():
                handle.cancel()
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
            await self.stream.close()

    async def _read(self) -> None:
        try:
            while True:
                try:
                    message = await self.stream.receive()
                except V2gtpError as err:
                    if err.fatal:
                        break
                    continue  # one well-framed message of a type not accepted here: ignored [V2G20-445]
                if message is None:
                    break
                self._queue.put_nowait((_FRAME, message))
        except (ConnectionError, OSError) as exc:
            log_event(_log, "connection_error", logging.WARNING, code="CONNECTION_LOST", detail=repr(exc))
        self._queue.put_nowait((_EOF, None))

    async def _apply(self, actions: list) -> None:
        loop = asyncio.get_running_loop()
        for action in actions:
            if isinstance(action, Send):
                try:
                    await self.stream.send(action.payload_type, action.payload)
                except (ConnectionError, OSError):
                    self._queue.put_nowait((_EOF, None))
            elif isinstance(action, StartTimer):
                old = self._timers.pop(action.name, None)
                if old is not None:
                    old.cancel()
                self._timers[action.name] = loop.call_at(action.deadline, self._queue.put_nowait, (_TIMER, None))
            elif isinstance(action, StopTimer):
                handle = self._timers.pop(action.name, None)
                if handle is not None:
                    handle.cancel()
            elif isinstance(action, Close):
                self._closed = True
                if action.linger > 0:
                    await self._linger(action.linger)
            elif isinstance(action, Event) and self.on_event is not None:
                self.on_event(action)

    async def _linger(self, seconds: float) -> None:
        """Keep the connection open (>= 5 s after SessionStopRes, [V2G20-1633]) unless the peer closes first."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while (remaining := deadline - loop.time()) > 0:
            try:
                kind, _ = await asyncio.wait_for(self._queue.get(), remaining)
            except asyncio.TimeoutError:
                return
            if kind == _EOF:
                return
