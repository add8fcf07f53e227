"""ADE9000-class register map and SPI frame codec (sans-I/O; facts/metering.md §4.1, TRM UG-1098).

Frame format, identical on every transport (SPI, UART, in-process emulator):
- command word, 16 bits big-endian: register address in bits 15..4, bit 3 = 1 read / 0 write, bits 2..0 zero;
- data MSB first: 16 bits for addresses 0x480..0x4FE, 32 bits otherwise;
- a read answers `data ‖ CRC-16-CCITT(data)` (poly 0x1021, init 0xFFFF, MSB first: the chip's CRC_SPI);
- a write sends `command ‖ data` and gets no answer (writes are verified through LAST_CMD / read-back).
"""
from __future__ import annotations

import binascii
from dataclasses import dataclass

from metering.errors import DataCorrupt

READ_BIT = 0x0008

# Per-phase offsets: calibration registers B = A + 0x20, C = A + 0x40; measurements likewise (0x20C → 0x22C).
PHASE_STEP = 0x20
# Energy registers are 0x3C apart (AWATTHR_HI 0x2E7, BWATTHR_HI 0x323, CWATTHR_HI 0x35F).
ENERGY_PHASE_STEP = 0x3C

# Calibration (phase A; add PHASE_STEP per phase).
AIGAIN = 0x000
APHCAL0 = 0x006  # phase compensation; in this chip class: signed 32-bit, correction = value / 2^27 rad
AIRMSOS = 0x00C
AVGAIN = 0x00B
AVRMSOS = 0x00D
APGAIN = 0x00E
# Measurements (phase A).
AIRMS = 0x20C
AVRMS = 0x20D
AWATT = 0x210
AVAR = 0x211
AWATTHR_LO = 0x2E6
AWATTHR_HI = 0x2E7
AVARHR_LO = 0x2F0
AVARHR_HI = 0x2F1
# Configuration, status, integrity.
ACT_NL_LVL = 0x41C
STATUS0 = 0x402
STATUS1 = 0x403
LAST_DATA_32 = 0x423
PART_ID = 0x472
TEMP_TRIM = 0x474
RUN = 0x480
CONFIG1 = 0x481
ACCMODE = 0x492
PHSIGN = 0x49D
CONFIG5 = 0x4A4
CRC_RSLT = 0x4A8
CRC_SPI = 0x4A9
LAST_DATA_16 = 0x4AC
LAST_CMD = 0x4AE
EP_CFG = 0x4B0
EGY_TIME = 0x4B2
TEMP_CFG = 0x4B6
TEMP_RSLT = 0x4B7
VERSION = 0x4FE

CONFIG1_SWRST = 1 << 0
STATUS1_RSTDONE = 1 << 16
STATUS1_CRC_CHG = 1 << 26
CONFIG5_AFTER_RESET = 0x63
PART_ID_ADE9000 = 1 << 20
EP_CFG_EGY_PWR_EN = 1 << 0
TEMP_CFG_TEMP_EN = 1 << 2
ACCMODE_SIGNED = 0x0000  # WATTACC = 00: signed accumulation, import and export split by the driver

# Full-scale codes at the ADC's full-scale input (0.707 Vrms), TRM.
RMS_FULL_SCALE = 52_702_092
WATT_FULL_SCALE = 20_694_066
DSP_RATE_HZ = 8000  # the chip adds xWATT into the energy accumulator at 8 kSPS
ENERGY_LO_BITS = 13  # 45-bit energy register = HI (upper 32 bits) ‖ LO (13 bits)
GAIN_ONE = 1 << 27  # xGAIN registers: multiplier = 1 + value / 2^27

# Registers covered by the configuration CRC (CRC_RSLT): calibration + accumulation/no-load configuration.
CONFIG_CRC_REGISTERS: tuple[int, ...] = tuple(
    sorted(
        [base + phase * PHASE_STEP for phase in range(3) for base in (AIGAIN, APHCAL0, AIRMSOS, AVGAIN, AVRMSOS, APGAIN)]
        + [ACT_NL_LVL, ACCMODE, EP_CFG, EGY_TIME]
    )
)


def register_bits(address: int) -> int:
    """Width of a register: 16 bits for 0x480..0x4FE, 32 bits otherwise (TRM register map)."""
    return 16 if 0x480 <= address <= 0x4FE else 32


def crc16(data: bytes) -> int:
    """CRC-16-CCITT, poly 0x1021, init 0xFFFF, no reflection (the chip's CRC_SPI / CRC_RSLT)."""
    return binascii.crc_hqx(data, 0xFFFF)


def config_crc(values: dict[int, int]) -> int:
    """CRC over the configuration registers in address order, each as 32-bit big-endian (CRC_RSLT model)."""
    blob = b"".join((values.get(address, 0) & 0xFFFFFFFF).to_bytes(4, "big") for address in CONFIG_CRC_REGISTERS)
    return crc16(blob)


def command_word(address: int, read: bool) -> bytes:
    if not 0 <= address <= 0xFFF:
        raise ValueError(f"register address 0x{address:X} outside 12 bits")
    return ((address << 4) | (READ_BIT if read else 0)).to_bytes(2, "big")


@dataclass(frozen=True)
class Command:
    address: int
    read: bool


def parse_command(word: bytes) -> Command:
    if len(word) != 2:
        raise DataCorrupt("command word must be 2 bytes", length=len(word))
    value = int.from_bytes(word, "big")
    return Command(address=value >> 4, read=bool(value & READ_BIT))


def read_request(address: int) -> tuple[bytes, int]:
    """The bytes to send for a read and the length of the answer (data + CRC)."""
    return command_word(address, read=True), register_bits(address) // 8 + 2


def write_request(address: int, value: int) -> bytes:
    width = register_bits(address) // 8
    return command_word(address, read=False) + (value & ((1 << (8 * width)) - 1)).to_bytes(width, "big")


def read_response(address: int, value: int) -> bytes:
    width = register_bits(address) // 8
    data = (value & ((1 << (8 * width)) - 1)).to_bytes(width, "big")
    return data + crc16(data).to_bytes(2, "big")


def parse_read_response(address: int, answer: bytes) -> int:
    """Check the length and CRC of a read answer and return the unsigned register value."""
    width = register_bits(address) // 8
    if len(answer) != width + 2:
        raise DataCorrupt("short read answer from the chip", address=f"0x{address:03X}", length=len(answer))
    data, crc = answer[:width], int.from_bytes(answer[width:], "big")
    if crc16(data) != crc:
        raise DataCorrupt("CRC mismatch on a chip read", address=f"0x{address:03X}")
    return int.from_bytes(data, "big")


def to_signed(value: int, bits: int) -> int:
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


def gain_register(multiplier: float) -> int:
    """xGAIN register value (two's complement 32-bit) for a multiplier (1 + value / 2^27)."""
    value = round((multiplier - 1.0) * GAIN_ONE)
    if not -(1 << 31) <= value < (1 << 31):
        raise ValueError(f"gain {multiplier} outside the register range")
    return value & 0xFFFFFFFF


def gain_multiplier(register: int) -> float:
    return 1.0 + to_signed(register, 32) / GAIN_ONE


def phase_register(correction_rad: float) -> int:
    """APHCAL value that advances the current channel by `correction_rad` (negative = delay)."""
    return round(correction_rad * GAIN_ONE) & 0xFFFFFFFF


def phase_correction(register: int) -> float:
    return to_signed(register, 32) / GAIN_ONE


# TEMP_RSLT → °C with TEMP_TRIM (gain in bits 15..0, offset in 31..16): T = -RSLT·gain/2^17 + offset/2^5.
def temperature_c(temp_rslt: int, temp_trim: int) -> float:
    gain, offset = temp_trim & 0xFFFF, temp_trim >> 16
    return -temp_rslt * gain / (1 << 17) + offset / (1 << 5)
