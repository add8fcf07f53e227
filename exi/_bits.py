"""Bit-packed reading and writing, most significant bit first (EXI §7.1, bit-packed alignment)."""
from __future__ import annotations

from .errors import TRUNCATED, ExiError


class BitWriter:
    __slots__ = ("buf", "acc", "n", "names")

    def __init__(self):
        self.buf = bytearray()
        self.acc = 0
        self.n = 0
        self.names = None  # the stream's qname string table, created at the first qname written (_codec)

    def write(self, value: int, nbits: int) -> None:
        self.acc = (self.acc << nbits) | value
        self.n += nbits
        if self.n >= 64:
            rest = self.n & 7
            self.buf += (self.acc >> rest).to_bytes((self.n - rest) >> 3, "big")
            self.acc &= (1 << rest) - 1
            self.n = rest

    def write_uint(self, v: int) -> None:
        if v < 128:
            self.write(v, 8)
            return
        out = 0
        nbytes = 0
        while v >= 128:
            out = (out << 8) | (0x80 | (v & 0x7F))
            v >>= 7
            nbytes += 1
        self.write((out << 8) | v, 8 * nbytes + 8)

    def getvalue(self) -> bytes:
        pad = (-self.n) & 7
        return bytes(self.buf) + (self.acc << pad).to_bytes((self.n + pad) >> 3, "big")


class BitReader:
    __slots__ = ("val", "pos", "end", "names")

    def __init__(self, data: bytes):
        self.val = int.from_bytes(data, "big")
        self.end = len(data) * 8
        self.pos = 0
        self.names = None  # the stream's qname string table, created at the first qname read (_codec)

    def fail(self, code: str, message: str, at: int | None = None, state: str | None = None) -> ExiError:
        return ExiError(code, message, self.pos if at is None else at, state)

    def read(self, nbits: int) -> int:
        p = self.pos + nbits
        if p > self.end:
            raise self.fail(TRUNCATED, f"stream ends inside a {nbits}-bit field")
        self.pos = p
        return (self.val >> (self.end - p)) & ((1 << nbits) - 1)

    def read_uint(self) -> int:
        start = self.pos
        v = 0
        shift = 0
        while True:
            b = self.read(8)
            v |= (b & 0x7F) << shift
            if b < 128:
                return v
            shift += 7
            if shift > 7 * 64:
                raise self.fail(TRUNCATED, "unsigned integer longer than 64 octets", start)

    def read_octets(self, n: int) -> bytes:
        if n == 0:
            return b""
        return self.read(8 * n).to_bytes(n, "big")

    def remaining(self) -> int:
        return self.end - self.pos
