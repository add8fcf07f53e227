"""Typed value representations (EXI §7.1, facts/exi.md §5) with the XSD facet checks.

Encoding never wraps or truncates: a value outside its type's facets raises ExiError."""
from __future__ import annotations

import base64
import binascii
from enum import Enum

from ._bits import BitReader, BitWriter
from .errors import (INVALID_VALUE, LENGTH_VIOLATION, TRUNCATED, VALUE_OUT_OF_RANGE, VALUE_TABLE_HIT, ExiError)


def _bad(code: str, message: str, where: str | None) -> ExiError:
    return ExiError(code, message, None, where)


class Datatype:
    __slots__ = ()
    empty = None  # value of an element with no character content, where the type allows one

    def encode(self, w: BitWriter, v, where: str) -> None:
        raise NotImplementedError

    def decode(self, r: BitReader):
        raise NotImplementedError

    def to_text(self, v) -> str:
        return str(v)


class Boolean(Datatype):
    __slots__ = ()

    def encode(self, w, v, where):
        if v is not True and v is not False:
            raise _bad(INVALID_VALUE, f"expected a bool, got {v!r}", where)
        w.write(1 if v else 0, 1)

    def decode(self, r):
        return r.read(1) == 1

    def to_text(self, v):
        return "true" if v else "false"

    def from_text(self, s, where):
        s = s.strip()
        if s in ("true", "1"):
            return True
        if s in ("false", "0"):
            return False
        raise _bad(INVALID_VALUE, f"not a boolean: {s!r}", where)


class _Integer(Datatype):
    __slots__ = ("lo", "hi")

    def __init__(self, lo, hi):
        self.lo = lo
        self.hi = hi

    def check(self, v, where):
        if type(v) is not int:
            if isinstance(v, int) and not isinstance(v, bool):
                v = int(v)
            else:
                raise _bad(INVALID_VALUE, f"expected an int, got {v!r}", where)
        if (self.lo is not None and v < self.lo) or (self.hi is not None and v > self.hi):
            raise _bad(VALUE_OUT_OF_RANGE, f"{v} outside [{self.lo}, {self.hi}]", where)
        return v

    def decoded(self, r, v, start):
        if (self.lo is not None and v < self.lo) or (self.hi is not None and v > self.hi):
            raise r.fail(VALUE_OUT_OF_RANGE, f"{v} outside [{self.lo}, {self.hi}]", start)
        return v

    def from_text(self, s, where):
        try:
            return int(s.strip())
        except ValueError:
            raise _bad(INVALID_VALUE, f"not an integer: {s!r}", where) from None


class NBitInteger(_Integer):
    """Bounded range of at most 4096 values: n-bit unsigned offset from the minimum (EXI §7.1.9)."""
    __slots__ = ("nbits",)

    def __init__(self, lo, hi, nbits):
        super().__init__(lo, hi)
        self.nbits = nbits

    def encode(self, w, v, where):
        w.write(self.check(v, where) - self.lo, self.nbits)

    def decode(self, r):
        start = r.pos
        return self.decoded(r, r.read(self.nbits) + self.lo, start)


class UnsignedInteger(_Integer):
    __slots__ = ()

    def encode(self, w, v, where):
        w.write_uint(self.check(v, where))

    def decode(self, r):
        start = r.pos
        return self.decoded(r, r.read_uint(), start)


class Integer(_Integer):
    __slots__ = ()

    def encode(self, w, v, where):
        v = self.check(v, where)
        if v < 0:
            w.write(1, 1)
            w.write_uint(-v - 1)
        else:
            w.write(0, 1)
            w.write_uint(v)

    def decode(self, r):
        start = r.pos
        neg = r.read(1)
        v = r.read_uint()
        return self.decoded(r, -v - 1 if neg else v, start)


class _Lengthed(Datatype):
    __slots__ = ("lo", "hi")

    def __init__(self, lo, hi):
        self.lo = lo or 0
        self.hi = hi

    def check_len(self, n, where, r=None, start=None):
        if n < self.lo or (self.hi is not None and n > self.hi):
            msg = f"length {n} outside [{self.lo}, {self.hi}]"
            raise r.fail(LENGTH_VIOLATION, msg, start) if r is not None else _bad(LENGTH_VIOLATION, msg, where)


class String(_Lengthed):
    """String literal (EXI §7.1.10): uint L = length + 2, then one uint per code point."""
    __slots__ = ("builtin",)
    empty = ""

    def __init__(self, lo, hi, builtin="string"):
        super().__init__(lo, hi)
        self.builtin = builtin

    def encode(self, w, v, where):
        if not isinstance(v, str):
            raise _bad(INVALID_VALUE, f"expected a str, got {v!r}", where)
        self.check_len(len(v), where)
        write_string_literal(w, v)

    def decode(self, r):
        start = r.pos
        L = r.read_uint()
        if L < 2:
            raise r.fail(VALUE_TABLE_HIT, "string value-table hit (the value partition capacity is 0)", start)
        n = L - 2
        self.check_len(n, None, r, start)
        return read_chars(r, n, start)

    def from_text(self, s, where):
        return s


def write_chars(w: BitWriter, v: str, length: int) -> None:
    """uint `length`, then each character as the uint of its code point (EXI §7.1.10)."""
    w.write_uint(length)
    if v.isascii():
        if v:
            w.write(int.from_bytes(v.encode("ascii"), "big"), 8 * len(v))
    else:
        for c in v:
            w.write_uint(ord(c))


def write_string_literal(w: BitWriter, v: str) -> None:
    """A string value that is not in the value table (always, with capacity 0): L = length + 2 (§7.3.3)."""
    write_chars(w, v, len(v) + 2)


def read_chars(r: BitReader, n: int, start: int) -> str:
    if n * 8 > r.remaining():
        raise r.fail(TRUNCATED, f"string of {n} characters does not fit in the stream", start)
    chars = []
    for _ in range(n):
        c = r.read(8)
        if c >= 128:
            v = c & 0x7F
            shift = 7
            while c >= 128:
                c = r.read(8)
                v |= (c & 0x7F) << shift
                shift += 7
                if shift > 21:
                    break
            if v > 0x10FFFF or c >= 128:
                raise r.fail(INVALID_VALUE, "character code point out of range", start)
            c = v
        chars.append(chr(c))
    return "".join(chars)


def read_string_literal(r: BitReader) -> str:
    """An untyped string value (CH[untyped], mixed text): same representation as String."""
    start = r.pos
    L = r.read_uint()
    if L < 2:
        raise r.fail(VALUE_TABLE_HIT, "string value-table hit (the value partition capacity is 0)", start)
    return read_chars(r, L - 2, start)


class Binary(_Lengthed):
    """hexBinary and base64Binary alike: uint length, then the octets (EXI §7.1.1)."""
    __slots__ = ("hex",)
    empty = b""

    def __init__(self, lo, hi, hex_):
        super().__init__(lo, hi)
        self.hex = hex_

    def encode(self, w, v, where):
        if not isinstance(v, (bytes, bytearray)):
            raise _bad(INVALID_VALUE, f"expected bytes, got {type(v).__name__}", where)
        n = len(v)
        self.check_len(n, where)
        w.write_uint(n)
        if n:
            w.write(int.from_bytes(v, "big"), 8 * n)

    def decode(self, r):
        start = r.pos
        n = r.read_uint()
        self.check_len(n, None, r, start)
        if n * 8 > r.remaining():
            raise r.fail(TRUNCATED, f"binary of {n} octets does not fit in the stream", start)
        return r.read_octets(n)

    def to_text(self, v):
        return v.hex().upper() if self.hex else base64.b64encode(v).decode("ascii")

    def from_text(self, s, where):
        try:
            if self.hex:
                return bytes.fromhex(s.strip())
            return base64.b64decode("".join(s.split()), validate=True)
        except (ValueError, binascii.Error):
            raise _bad(INVALID_VALUE, f"not {'hex' if self.hex else 'base64'}: {s[:40]!r}", where) from None


class Enumeration(Datatype):
    """n-bit index into the enumeration values in schema order (EXI §7.2)."""
    __slots__ = ("values", "cls", "index", "nbits")

    def __init__(self, values, cls):
        self.values = values
        self.cls = cls
        self.index = {v: i for i, v in enumerate(values)}
        n = len(values)
        self.nbits = (n - 1).bit_length() if n > 1 else 0

    def encode(self, w, v, where):
        key = v.value if isinstance(v, Enum) else v
        if isinstance(v, Enum) and self.cls is not None and not isinstance(v, self.cls):
            raise _bad(INVALID_VALUE, f"{v!r} is not a {self.cls.__name__}", where)
        i = self.index.get(key) if isinstance(key, str) else None
        if i is None:
            raise _bad(VALUE_OUT_OF_RANGE, f"{key!r} is not one of the {len(self.values)} enumeration values", where)
        w.write(i, self.nbits)

    def decode(self, r):
        start = r.pos
        i = r.read(self.nbits)
        if i >= len(self.values):
            raise r.fail(VALUE_OUT_OF_RANGE, f"enumeration index {i} of {len(self.values)}", start)
        v = self.values[i]
        return self.cls(v) if self.cls is not None else v

    def to_text(self, v):
        return v.value if isinstance(v, Enum) else v

    def from_text(self, s, where):
        s = s.strip()
        if s not in self.index:
            raise _bad(VALUE_OUT_OF_RANGE, f"{s!r} is not one of the enumeration values", where)
        return self.cls(s) if self.cls is not None else s


def make(desc: tuple) -> Datatype:
    kind = desc[0]
    if kind == "bool":
        return Boolean()
    if kind == "nbit":
        return NBitInteger(desc[1], desc[2], desc[3])
    if kind == "uint":
        return UnsignedInteger(desc[1], desc[2])
    if kind == "int":
        return Integer(desc[1], desc[2])
    if kind == "str":
        return String(desc[1], desc[2], desc[3])
    if kind in ("hex", "b64"):
        return Binary(desc[1], desc[2], kind == "hex")
    if kind == "enum":
        return Enumeration(desc[1], desc[2])
    raise ValueError(kind)
