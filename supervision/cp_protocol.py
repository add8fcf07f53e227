"""Line protocol of the control-pilot board (serial, 115200 8N1, ASCII lines ending in CR LF).

Every line is `$<BODY>*<CRC>\\r\\n`: BODY is comma-separated ASCII fields, CRC is the CRC-16/CCITT-FALSE
(poly 0x1021, init 0xFFFF, `binascii.crc_hqx`) of BODY's bytes as 4 upper-case hex digits. A line that is
too long, not ASCII, has a bad CRC or bad fields raises `PilotFrameCorrupt` (code ERR_CP_FRAME_CORRUPT).

Board → host
    `$M,<seq>,<high_mV>,<low_mV>,<duty_permille>`   measurement, sent every period (default 10 ms):
        seq 0–65535 wrapping; high/low = plateau voltages of the last PWM periods in mV (signed);
        duty 0–1000 (1000 = steady high / PWM off, 0 = steady low)
    `$A,<cmd>,<value>`                               command acknowledged (echoes the command)
    `$N,<cmd>,<reason>`                              command refused (reason: a short token)
Host → board
    `$D,<duty_permille>`   set the PWM duty (1000 = steady +12 V, X1; 50 = 5 %, digital communication)
    `$F,<0|1>`             1 = drive −12 V steadily (state F, EVSE not available), 0 = back to the duty
    `$K,<0|1>`             contactor: 1 = close, 0 = open (the board opens it by itself on E/F)
"""
from __future__ import annotations

import binascii
from dataclasses import dataclass

from supervision.errors import PilotFrameCorrupt
from supervision.pilot import PilotMeasurement

MAX_LINE = 64
_VOLT_LIMIT_MV = 20_000  # a ±12 V pilot front end cannot report more; beyond it the frame itself is wrong


@dataclass(frozen=True)
class MeasurementFrame:
    seq: int
    high_mv: int
    low_mv: int
    duty_permille: int

    def measurement(self) -> PilotMeasurement:
        return PilotMeasurement(self.high_mv / 1000.0, self.low_mv / 1000.0, self.duty_permille / 10.0)


@dataclass(frozen=True)
class Command:
    """A host → board command; `name` is D, F or K."""

    name: str
    value: int


@dataclass(frozen=True)
class Ack:
    command: str
    value: int


@dataclass(frozen=True)
class Nak:
    command: str
    reason: str


Frame = MeasurementFrame | Command | Ack | Nak

_COMMAND_RANGES = {"D": (0, 1000), "F": (0, 1), "K": (0, 1)}


def _crc(body: bytes) -> str:
    return f"{binascii.crc_hqx(body, 0xFFFF):04X}"


def encode(frame: Frame) -> bytes:
    if isinstance(frame, MeasurementFrame):
        fields = ["M", str(frame.seq), str(frame.high_mv), str(frame.low_mv), str(frame.duty_permille)]
    elif isinstance(frame, Command):
        fields = [frame.name, str(frame.value)]
    elif isinstance(frame, Ack):
        fields = ["A", frame.command, str(frame.value)]
    else:
        fields = ["N", frame.command, frame.reason]
    body = ",".join(fields).encode("ascii")
    return b"$" + body + b"*" + _crc(body).encode("ascii") + b"\r\n"


def _int(text: str, low: int, high: int, what: str) -> int:
    if not text or not text.lstrip("-").isdigit() or len(text) > 7:
        raise PilotFrameCorrupt(f"{what} is not an integer: {text!r}", field=what)
    value = int(text)
    if not low <= value <= high:
        raise PilotFrameCorrupt(f"{what} {value} outside {low}..{high}", field=what)
    return value


def decode(line: bytes) -> Frame:
    """Decode one line (with or without its CR LF)."""
    line = line.rstrip(b"\r\n")
    if len(line) > MAX_LINE:
        raise PilotFrameCorrupt(f"line of {len(line)} bytes exceeds {MAX_LINE}")
    if not line.startswith(b"$") or line.count(b"*") != 1:
        raise PilotFrameCorrupt("line lacks the $ start or the single * before the CRC", line=line[:MAX_LINE])
    body, _, crc = line[1:].partition(b"*")
    try:
        text = body.decode("ascii")
        crc_text = crc.decode("ascii")
    except UnicodeDecodeError as exc:
        raise PilotFrameCorrupt("non-ASCII byte in line") from exc
    if crc_text.upper() != _crc(body) or len(crc_text) != 4:
        raise PilotFrameCorrupt(f"CRC mismatch: line says {crc_text!r}, body gives {_crc(body)}")
    fields = text.split(",")
    kind, args = fields[0], fields[1:]
    if kind == "M" and len(args) == 4:
        return MeasurementFrame(
            seq=_int(args[0], 0, 0xFFFF, "seq"),
            high_mv=_int(args[1], -_VOLT_LIMIT_MV, _VOLT_LIMIT_MV, "high_mV"),
            low_mv=_int(args[2], -_VOLT_LIMIT_MV, _VOLT_LIMIT_MV, "low_mV"),
            duty_permille=_int(args[3], 0, 1000, "duty"),
        )
    if kind in _COMMAND_RANGES and len(args) == 1:
        return Command(kind, _int(args[0], *_COMMAND_RANGES[kind], kind))
    if kind == "A" and len(args) == 2 and args[0] in _COMMAND_RANGES:
        return Ack(args[0], _int(args[1], *_COMMAND_RANGES[args[0]], args[0]))
    if kind == "N" and len(args) == 2 and args[0] in _COMMAND_RANGES:
        return Nak(args[0], args[1])
    raise PilotFrameCorrupt(f"unknown frame {kind!r} with {len(args)} fields")


class LineSplitter:
    """Cuts a byte stream into lines; a run longer than MAX_LINE without CR LF is dropped up to the next line."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._discarding = False

    def feed(self, data: bytes) -> list[bytes]:
        self._buffer += data
        lines: list[bytes] = []
        while True:
            end = self._buffer.find(b"\n")
            if end < 0:
                if len(self._buffer) > MAX_LINE + 2:
                    self._buffer.clear()
                    self._discarding = True
                return lines
            line = bytes(self._buffer[: end + 1])
            del self._buffer[: end + 1]
            if self._discarding:
                self._discarding = False
                continue
            lines.append(line)
