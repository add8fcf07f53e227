"""Transports that carry ADE9000 frames: SPI (spidev), UART (pyserial), in-process emulator.

Every transport moves the same bytes (see `ade9000`): `transfer(request, answer_len)` sends a command word
(plus data for writes) and returns the `answer_len` bytes the chip clocks back (0 for writes).
"""
from __future__ import annotations

from typing import Protocol

from metering.errors import ChipNotResponding


class Transport(Protocol):
    def transfer(self, request: bytes, answer_len: int) -> bytes: ...

    def close(self) -> None: ...


class SpiTransport:
    """Linux spidev: one full-duplex transaction per frame, chip-select held for the whole frame."""

    def __init__(self, bus: int, device: int, speed_hz: int = 5_000_000, mode: int = 3) -> None:
        import spidev  # optional extra `spi`; only needed on hardware

        self._spi = spidev.SpiDev()
        self._spi.open(bus, device)
        # Mode 3 (SCLK idles high, TRM); above ~9 MHz users reported bit shifts, so stay well below 20 MHz.
        self._spi.mode = mode
        self._spi.max_speed_hz = speed_hz

    @classmethod
    def from_path(cls, path: str, **kwargs: int) -> "SpiTransport":
        bus, device = path.removeprefix("/dev/spidev").split(".")
        return cls(int(bus), int(device), **kwargs)

    def transfer(self, request: bytes, answer_len: int) -> bytes:
        # MISO carries the answer while MOSI clocks out zeros after the request bytes.
        clocked = self._spi.xfer2(list(request) + [0] * answer_len)
        return bytes(clocked[len(request):])

    def close(self) -> None:
        self._spi.close()


class UartTransport:
    """A serial-attached meter: the same frames over a byte stream (pyserial; a pty in tests)."""

    def __init__(self, port: str, baudrate: int = 115_200, timeout: float = 0.5) -> None:
        import serial

        self._serial = serial.Serial(port, baudrate=baudrate, timeout=timeout)
        self._serial.reset_input_buffer()

    def transfer(self, request: bytes, answer_len: int) -> bytes:
        import serial

        try:
            self._serial.write(request)
            self._serial.flush()
            answer = self._serial.read(answer_len) if answer_len else b""
        except serial.SerialException as exc:
            raise ChipNotResponding("serial meter link failed", reason=str(exc)) from exc
        if len(answer) != answer_len:
            # A lost or partial answer leaves the stream misaligned: drop whatever is buffered and report.
            self._serial.reset_input_buffer()
            raise ChipNotResponding("serial meter answer timed out", got=len(answer), wanted=answer_len)
        return answer

    def close(self) -> None:
        self._serial.close()


class EmulatorTransport:
    """In-process link to a `ChipEmulator`: the emulator parses and answers the very same frame bytes."""

    def __init__(self, emulator) -> None:
        self.emulator = emulator

    def transfer(self, request: bytes, answer_len: int) -> bytes:
        answer = self.emulator.handle_frame(request)
        if len(answer) != answer_len:
            raise ChipNotResponding("emulator answer length mismatch", got=len(answer), wanted=answer_len)
        return answer

    def close(self) -> None:
        pass
