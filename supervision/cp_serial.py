"""asyncio adapter for the control-pilot board on a serial line (pyserial); the bytes are in cp_protocol."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import serial

from supervision import cp_protocol
from supervision._log import log
from supervision.errors import PilotBoardError, PilotFrameCorrupt
from supervision.pilot import PilotMeasurement


class SerialControlPilot:
    """Reads measurements from and sends commands to the board; `measurements()` is the supervisor's source."""

    def __init__(self, port: str, baudrate: int = 115200, command_timeout_s: float = 0.5) -> None:
        self.port = port
        self.corrupt_frames = 0
        self._serial = serial.serial_for_url(port, baudrate=baudrate, timeout=0, write_timeout=1.0)
        self._splitter = cp_protocol.LineSplitter()
        self._measurements: asyncio.Queue[PilotMeasurement | None] = asyncio.Queue(maxsize=1000)
        self._pending: dict[str, asyncio.Future[cp_protocol.Ack]] = {}
        self._command_lock = asyncio.Lock()
        self._command_timeout_s = command_timeout_s
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self._serial.fileno(), self._readable)

    def close(self) -> None:
        if self._serial.is_open:
            self._loop.remove_reader(self._serial.fileno())
            self._serial.close()
            self._offer(None)  # end of stream: must reach the consumer even when it has stalled

    def _readable(self) -> None:
        try:
            data = self._serial.read(4096)
        except serial.SerialException as exc:
            log("cp_serial_read_failed", logging.ERROR, code="CP_BOARD_SILENT", port=self.port, error=str(exc))
            self.close()
            return
        for line in self._splitter.feed(data):
            try:
                frame = cp_protocol.decode(line)
            except PilotFrameCorrupt as exc:
                self.corrupt_frames += 1
                log("cp_frame_dropped", logging.WARNING, code=exc.code, reason=str(exc))
                continue
            self._dispatch(frame)

    def _offer(self, item: PilotMeasurement | None) -> None:
        if self._measurements.full():
            self._measurements.get_nowait()  # a stalled consumer wants the newest pilot, not history
        self._measurements.put_nowait(item)

    def _dispatch(self, frame: cp_protocol.Frame) -> None:
        if isinstance(frame, cp_protocol.MeasurementFrame):
            self._offer(frame.measurement())
        elif isinstance(frame, (cp_protocol.Ack, cp_protocol.Nak)):
            future = self._pending.pop(frame.command, None)
            if future is None or future.done():
                return
            if isinstance(frame, cp_protocol.Ack):
                future.set_result(frame)
            else:
                future.set_exception(PilotBoardError(f"board refused {frame.command}: {frame.reason}"))

    async def measurements(self) -> AsyncIterator[PilotMeasurement]:
        while True:
            item = await self._measurements.get()
            if item is None:
                return
            yield item

    async def _command(self, name: str, value: int) -> None:
        async with self._command_lock:
            future = self._loop.create_future()
            self._pending[name] = future
            self._serial.write(cp_protocol.encode(cp_protocol.Command(name, value)))
            try:
                async with asyncio.timeout(self._command_timeout_s):
                    ack = await future
            except TimeoutError as exc:
                self._pending.pop(name, None)
                raise PilotBoardError(f"no acknowledgement for {name},{value}") from exc
            if ack.value != value:
                raise PilotBoardError(f"board acknowledged {name},{ack.value} for {name},{value}")

    async def set_duty(self, percent: float) -> None:
        """PWM duty in percent; 100 = steady +12 V (X1), 5 = digital communication."""
        await self._command("D", round(percent * 10))

    async def set_state_f(self, on: bool) -> None:
        """Drive −12 V (state F: EVSE not available), e.g. for T_step_EF [V2G3-M06-07]."""
        await self._command("F", int(on))

    async def set_contactor(self, closed: bool) -> None:
        await self._command("K", int(closed))
