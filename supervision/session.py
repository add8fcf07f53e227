"""SessionSupervisor: watches the control pilot and the PLC link of one EVSE, reports a session's fault once.

The asyncio adapter around the sans-I/O PilotSupervisor and PlcLinkWatcher. Sources are plain async
iterables, so the serial board, the sysfs ADC, the pty emulator and slac's link monitor all plug in:
- pilot: yields `PilotMeasurement`s;
- plc: either an async iterable of SNR readings in dB (a number, or an object with `snr_db` or `mean_db`,
  like slac's `SnrReading`), judged here against `snr_min_db` / `snr_hold_s`; or an awaitable that
  watches by itself and raises when the link is lost, like `slac.watch_link(link, LinkMonitorConfig())`.
  Any exception whose `code` is PLC_LINK_LOST is reported with its message; another exception, or the
  source ending, during a session counts as a lost link too.
"""
from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import AsyncIterable, Awaitable, Callable

from supervision._log import log
from supervision.config import SupervisionConfig
from supervision.cp_supervisor import Event, PilotSupervisor
from supervision.events import PLC_LINK_LOST, Fault, PilotStateChanged
from supervision.pilot import PilotMeasurement, PilotReading
from supervision.plc import PlcLinkWatcher

FaultCallback = Callable[[str, str], Awaitable[None] | None]
EventCallback = Callable[[PilotStateChanged | Fault], Awaitable[None] | None]


class SessionSupervisor:
    """Use as `async with SessionSupervisor(...) as sup:`; call `begin_session()` / `end_session()` around
    each charging session. `on_fault(code, detail)` runs at most once between them, for the first fault;
    `on_event` (optional) sees every pilot change and every fault, in or out of a session."""

    def __init__(self, *, on_fault: FaultCallback, pilot: AsyncIterable[PilotMeasurement] | None = None,
                 plc: AsyncIterable[object] | Awaitable[object] | None = None,
                 config: SupervisionConfig = SupervisionConfig(),
                 on_event: EventCallback | None = None, clock: Callable[[], float] | None = None) -> None:
        self.config = config
        self._pilot_source = pilot
        self._plc_source = plc
        self._on_fault = on_fault
        self._on_event = on_event
        self._clock = clock or asyncio.get_running_loop().time
        self._pilot = PilotSupervisor(config)
        self._plc = PlcLinkWatcher(config)
        self._in_session = False
        self._fault_reported: Fault | None = None
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> SessionSupervisor:
        if self._pilot_source is not None:
            self._tasks += [asyncio.create_task(self._read_pilot()), asyncio.create_task(self._pilot_timers())]
        if self._plc_source is not None:
            self._tasks.append(asyncio.create_task(self._read_plc()))
        return self

    async def __aexit__(self, *exc: object) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    @property
    def pilot(self) -> PilotReading | None:
        """The debounced pilot state (None until the first reading settled)."""
        return self._pilot.reading

    @property
    def fault(self) -> Fault | None:
        """The fault reported in the current (or last) session."""
        return self._fault_reported

    def begin_session(self) -> None:
        """Arm fault reporting; a pilot already in E/F/out of range (or a silent board) is reported at once."""
        self._in_session = True
        self._fault_reported = None
        standing = self._pilot.standing_fault(self._clock()) if self._pilot_source is not None else None
        if standing is not None:
            self._tasks.append(asyncio.create_task(self._deliver([standing])))

    def end_session(self) -> None:
        self._in_session = False

    def expect_pwm(self, expected: bool) -> None:
        """See PilotSupervisor.expect_pwm; call it right after commanding the board's duty."""
        self._pilot.expect_pwm(expected, self._clock())
        self._wake.set()

    async def _deliver(self, events: list[Event]) -> None:
        for event in events:
            if self._on_event is not None:
                await _maybe_await(self._on_event(event))
            if isinstance(event, Fault):
                await self._report(event)

    async def _report(self, fault: Fault) -> None:
        log("fault", logging.WARNING, code=fault.code, detail=fault.detail, in_session=self._in_session)
        if not self._in_session or self._fault_reported is not None:
            return
        self._fault_reported = fault
        try:
            await _maybe_await(self._on_fault(fault.code, fault.detail))
        except Exception as exc:  # a failing callback must not stop supervision of the next session
            log("on_fault_failed", logging.ERROR, code=fault.code, error=repr(exc))

    async def _read_pilot(self) -> None:
        assert self._pilot_source is not None
        async for measurement in self._pilot_source:
            await self._deliver(self._pilot.feed(measurement, self._clock()))
            self._wake.set()

    async def _pilot_timers(self) -> None:
        while True:
            deadline = self._pilot.next_deadline()
            self._wake.clear()
            timeout = None if deadline is None else max(0.0, deadline - self._clock())
            try:
                # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancellation that races a wake-up.
                async with asyncio.timeout(timeout):
                    await self._wake.wait()
            except TimeoutError:
                await self._deliver(self._pilot.poll(self._clock()))

    async def _read_plc(self) -> None:
        assert self._plc_source is not None
        try:
            if isinstance(self._plc_source, AsyncIterable):
                async for item in self._plc_source:
                    snr = float(getattr(item, "snr_db", getattr(item, "mean_db", item)))
                    fault = self._plc.feed(snr, self._clock())
                    if fault is not None:
                        await self._deliver([fault])
            else:
                await self._plc_source
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            code = getattr(exc, "code", None)
            detail = str(exc) if code == PLC_LINK_LOST else f"PLC monitor failed: {exc!r}"
            await self._deliver([Fault(PLC_LINK_LOST, detail, self._clock())])
            return
        await self._deliver([Fault(PLC_LINK_LOST, "PLC monitor ended", self._clock())])


async def _maybe_await(result: Awaitable[None] | None) -> None:
    if inspect.isawaitable(result):
        await result
