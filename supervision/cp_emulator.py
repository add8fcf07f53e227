"""Control-pilot board emulator on a pty pair: the same bytes as the board (cp_protocol), for tests and the demo.

The emulated vehicle sets its state resistor (A–D); fault injectors short the pilot (E), make the board
drive −12 V (F), stop the PWM generator, remove the vehicle's diode, force a level between bands,
corrupt frames or fall silent.
"""
from __future__ import annotations

import asyncio
import os
import pty
import tty

from supervision import cp_protocol
from supervision.errors import PilotFrameCorrupt

_HIGH_MV = {"A": 12000, "B": 9000, "C": 6000, "D": 3000}
_STEADY_HIGH = 1000


class ControlPilotBoardEmulator:
    def __init__(self, period_s: float = 0.005) -> None:
        self.period_s = period_s
        self.ev_state = "A"
        self.duty_permille = _STEADY_HIGH
        self.state_f = False
        self.contactor_closed = False
        self.commands: list[cp_protocol.Command] = []
        self._shorted = False
        self._pwm_broken = False
        self._diode_missing = False
        self._forced_high_mv: int | None = None
        self._corrupt_next = 0
        self._silent = False
        self._seq = 0
        self._master, self._slave = pty.openpty()
        tty.setraw(self._slave)  # no echo, no CR/LF translation: the host sees exactly the board's bytes
        tty.setraw(self._master)
        os.set_blocking(self._master, False)
        self.port = os.ttyname(self._slave)
        self._splitter = cp_protocol.LineSplitter()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> ControlPilotBoardEmulator:
        loop = asyncio.get_running_loop()
        loop.add_reader(self._master, self._readable)
        self._task = asyncio.create_task(self._send_loop())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
        asyncio.get_running_loop().remove_reader(self._master)
        os.close(self._master)
        os.close(self._slave)

    # -- the vehicle and the faults ------------------------------------------------------------------
    def plug(self, state: str = "B") -> None:
        self.ev_state = state

    def unplug(self) -> None:
        self.ev_state = "A"

    def short_to_pe(self, shorted: bool = True) -> None:
        self._shorted = shorted
        self.contactor_closed &= not shorted  # the board's own protection, before any host reacts

    def board_fault_f(self, on: bool = True) -> None:
        self.state_f = on
        self.contactor_closed &= not on

    def break_pwm(self, broken: bool = True) -> None:
        self._pwm_broken = broken

    def remove_diode(self, missing: bool = True) -> None:
        self._diode_missing = missing

    def force_high_level(self, millivolts: int | None) -> None:
        self._forced_high_mv = millivolts

    def corrupt_frames(self, count: int) -> None:
        self._corrupt_next = count

    def go_silent(self, silent: bool = True) -> None:
        self._silent = silent

    # -- bytes ---------------------------------------------------------------------------------------
    def frame(self) -> cp_protocol.MeasurementFrame:
        self._seq = (self._seq + 1) & 0xFFFF
        if self._shorted:
            return cp_protocol.MeasurementFrame(self._seq, 0, 0, 0)
        if self.state_f:
            return cp_protocol.MeasurementFrame(self._seq, -12000, -12000, 0)
        high = self._forced_high_mv if self._forced_high_mv is not None else _HIGH_MV[self.ev_state]
        pwm = 0 < self.duty_permille < _STEADY_HIGH and not self._pwm_broken
        if not pwm:
            return cp_protocol.MeasurementFrame(self._seq, high, high, _STEADY_HIGH)
        low = -12000 if self.ev_state == "A" or not self._diode_missing else -high
        return cp_protocol.MeasurementFrame(self._seq, high, low, self.duty_permille)

    def _encoded_frame(self) -> bytes:
        data = cp_protocol.encode(self.frame())
        if self._corrupt_next:
            self._corrupt_next -= 1
            data = data[:3] + bytes([data[3] ^ 0x01]) + data[4:]  # one flipped bit: the CRC must catch it
        return data

    async def _send_loop(self) -> None:
        while True:
            if not self._silent:
                os.write(self._master, self._encoded_frame())
            await asyncio.sleep(self.period_s)

    def _readable(self) -> None:
        try:
            data = os.read(self._master, 4096)
        except BlockingIOError:
            return
        for line in self._splitter.feed(data):
            try:
                frame = cp_protocol.decode(line)
            except PilotFrameCorrupt:
                continue
            if isinstance(frame, cp_protocol.Command):
                self._apply(frame)

    def _apply(self, command: cp_protocol.Command) -> None:
        self.commands.append(command)
        if command.name == "D":
            self.duty_permille = command.value
        elif command.name == "F":
            self.board_fault_f(bool(command.value))
        elif command.name == "K":
            if command.value and (self.state_f or self._shorted):
                os.write(self._master, cp_protocol.encode(cp_protocol.Nak("K", "pilot_fault")))
                return
            self.contactor_closed = bool(command.value)
        os.write(self._master, cp_protocol.encode(cp_protocol.Ack(command.name, command.value)))
