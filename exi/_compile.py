"""Straight-line Python encoders and decoders generated from the grammar tables at first use.

The interpreter in _codec.py is the reference: it gives the precise ExiError (code, bit offset, state, path).
The compiled functions are the fast path for well-formed input: they keep the whole stream in one Python int
(encoder: an accumulator with a leading sentinel bit; decoder: the stream as an int read by shifting), track the
grammar state at compile time wherever it is known, and raise `Fallback` (or let any Python exception escape)
as soon as anything is unusual. The caller then re-runs the interpreter on the same input, so the behaviour,
including every error, is exactly the interpreter's.
"""
from __future__ import annotations

import dataclasses
import threading

from ._bits import BitReader, BitWriter
from .wildcard import FIELD as WILDCARD_FIELD
from ._datatypes import Binary, Boolean, Enumeration, Integer, NBitInteger, String, UnsignedInteger

AT, SE, EE, CH = 0, 1, 3, 4  # event kinds of the grammar tables (as in _codec)
MAX_STATES = 48  # bigger grammars (unrolled maxOccurs of 1024...) stay with the interpreter


class Fallback(Exception):
    """The fast path met something it does not handle; the interpreter takes over."""


# -- value helpers (plain value, no CH/EE) ---------------------------------------------------------

def _wu(a, v):
    """Unsigned Integer, 7-bit groups, least significant first (EXI §7.1.6)."""
    while v >= 128:
        a = (a << 8) | 0x80 | (v & 0x7F)
        v >>= 7
    return (a << 8) | v


def _ws(a, v, lo, hi):
    if type(v) is not str:
        raise Fallback
    n = len(v)
    if n < lo or (hi is not None and n > hi):
        raise Fallback
    a = _wu(a, n + 2)
    if v.isascii():
        return (a << (8 * n)) | int.from_bytes(v.encode("ascii"), "big") if n else a
    for c in v:
        a = _wu(a, ord(c))
    return a


def _wb(a, v, lo, hi):
    if type(v) is not bytes:
        raise Fallback
    n = len(v)
    if n < lo or (hi is not None and n > hi):
        raise Fallback
    a = _wu(a, n)
    return (a << (8 * n)) | int.from_bytes(v, "big") if n else a


def _ru(val, end, p, b):
    """Rest of an Unsigned Integer whose first octet b (>= 128) was read."""
    v = b & 0x7F
    shift = 7
    while True:
        p += 8
        b = (val >> (end - p)) & 0xFF
        v |= (b & 0x7F) << shift
        if b < 128:
            return v, p
        shift += 7
        if shift > 7 * 64:
            raise Fallback


def _rs(val, end, p, lo, hi):
    p += 8
    b = (val >> (end - p)) & 0xFF
    if b >= 128:
        L, p = _ru(val, end, p, b)
    else:
        L = b
    n = L - 2
    if n < lo or (hi is not None and n > hi):
        raise Fallback
    if n == 0:
        return "", p
    q = p + 8 * n
    if q > end:
        raise Fallback
    raw = ((val >> (end - q)) & ((1 << (8 * n)) - 1)).to_bytes(n, "big")
    if raw.isascii():
        return raw.decode("ascii"), q
    chars = []  # code points above U+007F take two or three octets each (EXI §7.1.10)
    for _ in range(n):
        p += 8
        c = (val >> (end - p)) & 0xFF
        if c >= 128:
            c, p = _ru(val, end, p, c)
            if c > 0x10FFFF:
                raise Fallback
        chars.append(chr(c))
    return "".join(chars), p


def _rb(val, end, p, lo, hi):
    p += 8
    b = (val >> (end - p)) & 0xFF
    if b >= 128:
        n, p = _ru(val, end, p, b)
    else:
        n = b
    if n < lo or (hi is not None and n > hi):
        raise Fallback
    q = p + 8 * n
    if q > end:
        raise Fallback
    return ((val >> (end - q)) & ((1 << (8 * n)) - 1)).to_bytes(n, "big"), q


def linear_chain(g):
    """The productions of a grammar whose every state has exactly one declared production (no optional or
    repeated content), in order, ending with EE; None otherwise. Such grammars are inlined at their use."""
    chain = []
    i = 0
    seen = set()
    while i not in seen and 0 <= i < len(g.states):
        seen.add(i)
        st = g.states[i]
        if st.k != 1 or st.nbits != 1:
            return None
        ev, field, child, rel, is_list = st.prods[0]
        if ev == EE:
            return chain
        if is_list or field is None or ev not in (AT, SE, CH):
            return None
        chain.append((ev, field, child))
        i += rel
    return None


HELPERS = {"_F": Fallback, "_wu": _wu, "_ws": _ws, "_wb": _wb, "_ru": _ru, "_rs": _rs, "_rb": _rb,
           "_BitWriter": BitWriter, "_BitReader": BitReader, "_new": object.__new__}


class Compiler:
    """Compiles the grammars of one schema set on demand into one shared namespace."""

    def __init__(self):
        self.ns = dict(HELPERS)
        self.names: dict[int, str] = {}
        self.consts: dict[int, str] = {}
        self.compiled: set[int] = set()
        self.lock = threading.RLock()  # names and the namespace are shared by every compiled function

    def const(self, obj, prefix="K") -> str:
        key = id(obj)
        if key not in self.consts:
            name = f"{prefix}{len(self.consts)}"
            self.consts[key] = name
            self.ns[name] = obj
        return self.consts[key]

    def encoder(self, g):
        with self.lock:
            self._compile(g)
            return self.ns["e" + self._child_name(g)]

    def decoder(self, g):
        with self.lock:
            self._compile(g)
            return self.ns["d" + self._child_name(g)]

    def _compile(self, root) -> None:
        todo = [root]
        while todo:
            g = todo.pop()
            if id(g) in self.compiled or not hasattr(g, 'states'):
                continue
            self.compiled.add(id(g))
            self.const(g, "G")
            todo.extend(p[2] for st in g.states for p in st.prods
                        if p[0] == SE and hasattr(p[2], 'states') and id(p[2]) not in self.compiled)
            self._emit(g)

    def _emit(self, g) -> None:
        name = self._child_name(g)
        src = self._adapter(g, name)
        if len(g.states) <= MAX_STATES:
            try:
                src = self._enc_source(g, name) + "\n" + self._dec_source(g, name)
            except Fallback:
                pass
        exec(compile(src, f"<exi compiled {g.name}>", "exec"), self.ns)

    # -- interpreter adapters for very large grammars ------------------------------------------------
    def _adapter(self, g, name) -> str:
        gn = self.const(g, "G")
        return (f"def e{name}(o, a):\n"
                f"    w = _BitWriter()\n    {gn}.enc(w, o)\n"
                f"    if w.names is not None: raise _F  # qnames need the stream's one string table\n"
                f"    n = len(w.buf) * 8 + w.n\n"
                f"    return (a << n) | (int.from_bytes(w.buf, 'big') << w.n) | w.acc\n"
                f"def d{name}(val, end, p):\n"
                f"    r = _BitReader.__new__(_BitReader)\n    r.val = val\n    r.end = end\n    r.pos = p\n"
                f"    r.names = None\n    o = {gn}.dec(r)\n"
                f"    if r.names is not None: raise _F  # qnames need the stream's one string table\n"
                f"    return o, r.pos\n")

    def _child_name(self, c) -> str:
        if id(c) not in self.names:
            self.names[id(c)] = str(len(self.names))
        return self.names[id(c)]

    # -- encoder ---------------------------------------------------------------------------------------
    def _enc_source(self, g, name) -> str:
        out = [f"def e{name}(o, a):", f"    if type(o) is not {self.const(g.cls, 'C')}: raise _F"]
        pend = [0, 0]  # constant bits not yet emitted: value, width

        def push(v, w):
            pend[0] = (pend[0] << w) | v
            pend[1] += w

        def flush(ind):
            if pend[1]:
                out.append(f"{ind}a = (a << {pend[1]}) | {pend[0]}" if pend[0] else f"{ind}a <<= {pend[1]}")
            pend[0] = pend[1] = 0

        def take():
            """Hand the pending constant bits to an inline write that appends its value after them."""
            v, w = pend
            pend[0] = pend[1] = 0
            return v, w

        def value(ind, dt, var, element: bool):
            """Write var with datatype dt; element=True adds CH before and EE after (simple-typed element)."""
            if element and isinstance(dt, (String, Binary)):
                # "" / b"": no character data, so EXIficient sends escape 1 + EE 000 (facts/exi.md §4.3)
                v, w = take()  # pending bits (the SE code) go into both branches
                kind = "bytes" if isinstance(dt, Binary) else "str"
                out.append(f"{ind}if type({var}) is {kind} and not {var}: a = (a << {w + 4}) | {(v << 4) | 8}")
                out.append(f"{ind}else:")
                push(v, w)
                push(0, 1)  # CH
                value(ind + "    ", dt, var, False)
                push(0, 1)  # EE
                flush(ind + "    ")
                return
            if element:
                push(0, 1)
            if isinstance(dt, NBitInteger):
                out.append(f"{ind}if type({var}) is not int or not {dt.lo} <= {var} <= {dt.hi}: raise _F")
                v, w = take()
                out.append(f"{ind}a = (a << {w + dt.nbits}) | {v << dt.nbits} | ({var} - {dt.lo})" if dt.lo else
                           f"{ind}a = (a << {w + dt.nbits}) | {v << dt.nbits} | {var}")
            elif isinstance(dt, Boolean):
                v, w = take()
                out.append(f"{ind}if {var} is True: a = (a << {w + 1}) | {(v << 1) | 1}")
                out.append(f"{ind}elif {var} is False: a = (a << {w + 1}) | {v << 1}")
                out.append(f"{ind}else: raise _F")
            elif isinstance(dt, Enumeration):
                table = {}
                for i, x in enumerate(dt.values):
                    table[x] = i
                    if dt.cls is not None:
                        table[dt.cls(x)] = i
                t = self.const(table, "E")
                v, w = take()
                out.append(f"{ind}a = (a << {w + dt.nbits}) | {v << dt.nbits} | {t}[{var}]")
            elif isinstance(dt, UnsignedInteger):
                rng = f"{var} < {dt.lo}" + (f" or {var} > {dt.hi}" if dt.hi is not None else "")
                out.append(f"{ind}if type({var}) is not int or {rng}: raise _F")
                v, w = take()
                out.append(f"{ind}if {var} < 128: a = (a << {w + 8}) | {v << 8} | {var}")
                out.append(f"{ind}elif {var} < 16384: a = (a << {w + 16}) | {(v << 16) | 0x8000} | "
                           f"(({var} & 127) << 8) | ({var} >> 7)")
                out.append(f"{ind}else: a = _wu((a << {w}) | {v}, {var})")
            elif isinstance(dt, Integer):
                checks = [f"type({var}) is not int"]
                if dt.lo is not None:
                    checks.append(f"{var} < {dt.lo}")
                if dt.hi is not None:
                    checks.append(f"{var} > {dt.hi}")
                out.append(f"{ind}if {' or '.join(checks)}: raise _F")
                v, w = take()
                out.append(f"{ind}if 0 <= {var} < 128: a = (a << {w + 9}) | {v << 9} | {var}")
                out.append(f"{ind}elif -128 <= {var} < 0: a = (a << {w + 9}) | {(v << 9) | 256} | (-{var} - 1)")
                out.append(f"{ind}elif {var} >= 0: a = _wu((a << {w + 1}) | {v << 1}, {var})")
                out.append(f"{ind}else: a = _wu((a << {w + 1}) | {(v << 1) | 1}, -{var} - 1)")
            elif isinstance(dt, String):
                flush(ind)
                out.append(f"{ind}a = _ws(a, {var}, {dt.lo}, {dt.hi})")
            elif isinstance(dt, Binary):
                flush(ind)
                out.append(f"{ind}a = _wb(a, {var}, {dt.lo}, {dt.hi})")
            else:
                raise Fallback
            if element:
                push(0, 1)

        def complex_child(ind, child, var, depth=0):
            chain = linear_chain(child)
            if chain is None or depth > 3:
                flush(ind)
                out.append(f"{ind}a = e{self._child_name(child)}({var}, a)")
                return
            out.append(f"{ind}if type({var}) is not {self.const(child.cls, 'C')}: raise _F")
            for ev, field, sub in chain:
                sv = f"{var}_{field}"
                out.append(f"{ind}{sv} = {var}.{field}")
                push(0, 1)
                if ev == SE and hasattr(sub, "states"):
                    complex_child(ind, sub, sv, depth + 1)
                elif ev == SE:
                    value(ind, sub.dt, sv, True)
                else:
                    value(ind, sub, sv, False)
            push(0, 1)  # EE

        def event(ind, fname, var, hit, nbits):
            code, child, rel, ev = hit
            if ev == SE and hasattr(child, 'states'):
                push(code, nbits)
                complex_child(ind, child, var)
            elif ev == SE:
                push(code, nbits)
                value(ind, child.dt, var, True)
            else:  # AT or typed CH of simple content
                push(code, nbits)
                value(ind, child, var, False)

        required = {f.name for f in dataclasses.fields(g.cls)
                    if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}
        states = g.states
        S = {0}
        for fname, is_list in g.fields:
            allowed = {s: states[s].by_field[fname] for s in S if fname in states[s].by_field}
            out.append(f"    v = o.{fname}")
            if fname == WILDCARD_FIELD and g.wild:
                out.append("    if v: raise _F")  # wildcard content and mixed text: the interpreter
                continue
            if not allowed:
                out.append("    if v: raise _F" if is_list else "    if v is not None: raise _F")
                continue
            if is_list:
                # closure of the states reachable by repeating this field
                reach = set(allowed)
                frontier = list(reach)
                table = {}
                while frontier:
                    s = frontier.pop()
                    hit = states[s].by_field.get(fname)
                    if hit is None:
                        continue
                    t = s + hit[2]
                    table[s] = (hit[0], states[s].nbits, t)
                    if t not in reach:
                        reach.add(t)
                        frontier.append(t)
                childs = {id(states[s].by_field[fname][1]) for s in table}
                if len(childs) != 1:
                    raise Fallback
                hit0 = states[next(iter(table))].by_field[fname]
                flush("    ")
                if fname in required:
                    out.append("    if not v or type(v) is not list: raise _F")
                    ind = "    "
                else:
                    if len(S) == 1:
                        out.append(f"    s = {next(iter(S))}")
                    out.append("    if v:")
                    out.append("        if type(v) is not list: raise _F")
                    ind = "        "
                if len(S) == 1 and fname in required:
                    out.append(f"{ind}s = {next(iter(S))}")
                tn = self.const(table, "T")
                out.append(f"{ind}for x in v:")
                out.append(f"{ind}    c = {tn}[s]")
                out.append(f"{ind}    a = (a << c[1]) | c[0]")
                out.append(f"{ind}    s = c[2]")
                _code, child, _rel, ev = hit0
                if ev == SE and hasattr(child, 'states'):
                    complex_child(ind + "    ", child, "x")
                    flush(ind + "    ")
                elif ev == SE:
                    value(ind + "    ", child.dt, "x", True)
                    flush(ind + "    ")
                else:
                    raise Fallback
                targets = {t for _c, _n, t in table.values()}
                S = targets if fname in required else S | targets
                continue
            if fname in required:
                out.append("    if v is None: raise _F")
                if len(S) == 1:
                    s0 = next(iter(S))
                    if s0 not in allowed:
                        out.append("    raise _F")
                        break
                    event("    ", fname, "v", allowed[s0], states[s0].nbits)
                    S = {s0 + allowed[s0][2]}
                else:
                    self._dynamic(out, fname, allowed, states, "    ", "v", event, flush)
                    S = {s + h[2] for s, h in allowed.items()}
                continue
            # optional, single value
            flush("    ")
            if len(S) == 1:
                s0 = next(iter(S))
                if s0 not in allowed:
                    out.append("    if v is not None: raise _F")
                    continue
                t = s0 + allowed[s0][2]
                out.append(f"    s = {s0}")
                out.append("    if v is not None:")
                event("        ", fname, "v", allowed[s0], states[s0].nbits)
                flush("        ")
                out.append(f"        s = {t}")
                S = {s0, t}
            else:
                out.append("    if v is not None:")
                self._dynamic(out, fname, allowed, states, "        ", "v", event, flush)
                S = S | {s + h[2] for s, h in allowed.items()}
        else:
            # end of element
            if len(S) == 1:
                s0 = next(iter(S))
                if states[s0].ee is None:
                    out.append("    raise _F")
                else:
                    push(states[s0].ee, states[s0].nbits)
                    flush("    ")
            else:
                flush("    ")
                table = {s: (states[s].ee, states[s].nbits) for s in S if states[s].ee is not None}
                tn = self.const(table, "T")
                out.append(f"    c = {tn}[s]")
                out.append("    a = (a << c[1]) | c[0]")
        flush("    ")
        out.append("    return a")
        return "\n".join(out) + "\n"

    def _dynamic(self, out, fname, allowed, states, ind, var, event, flush):
        """Event code of a field whose current state is only known at run time (variable s)."""
        flush(ind)
        childs = {id(h[1]) for h in allowed.values()}
        if len(childs) != 1:
            raise Fallback
        table = {s: (h[0], states[s].nbits, s + h[2]) for s, h in allowed.items()}
        tn = self.const(table, "T")
        out.append(f"{ind}c = {tn}[s]")
        out.append(f"{ind}a = (a << c[1]) | c[0]")
        out.append(f"{ind}s = c[2]")
        h = next(iter(allowed.values()))
        event(ind, fname, var, (0, h[1], 0, h[3]), 0)
        flush(ind)

    # -- decoder ---------------------------------------------------------------------------------------
    def _dec_linear(self, out, ind, g, target, zeros, depth=0) -> int:
        """Straight-line decoding of a linear grammar's content into `target`. `zeros` counts expected
        zero bits (event codes of single-production states) not yet checked; returns the new count."""
        chain = linear_chain(g)
        names = []
        for ev, field, sub in chain:
            zeros += 1  # the production's event code
            var = f"{target}_{field}"
            if ev == SE and hasattr(sub, "states") and linear_chain(sub) is not None and depth < 3:
                zeros = self._dec_linear(out, ind, sub, var, zeros, depth + 1)
            elif ev == SE and hasattr(sub, "states"):
                zeros = self._check(out, ind, zeros)
                out.append(f"{ind}{var}, p = d{self._child_name(sub)}(val, end, p)")
            elif ev == SE:
                zeros = self._read_simple_element(out, ind, sub.dt, var, zeros)
            else:
                self._read_value(out, ind, sub, var, zeros)
                zeros = 0
            names.append((field, var))
        zeros += 1  # EE of this element
        self._construct(out, ind, target, g.cls, dict(names))
        return zeros

    def _construct(self, out, ind, target, cls, values: dict) -> None:
        """target = cls(**values) without the keyword call: object.__new__ and one slot store per field (less
        than half the time of the generated __init__), every field set, defaults where no value was read."""
        stores = []
        for f in dataclasses.fields(cls):
            if f.name in values:
                stores.append((f.name, values[f.name]))
            elif f.default is not dataclasses.MISSING and f.default is None:
                stores.append((f.name, "None"))
            elif f.default_factory is list:
                stores.append((f.name, "[]"))
            else:
                args = ", ".join(f"{k}={v}" for k, v in values.items())
                out.append(f"{ind}{target} = {self.const(cls, 'C')}({args})")
                return
        out.append(f"{ind}{target} = _new({self.const(cls, 'C')})")
        for name, expr in stores:
            out.append(f"{ind}{target}.{name} = {expr}")

    def _read_simple_element(self, out, ind, dt, var, zeros) -> int:
        """Content of a simple-typed element after its SE code: CH 0, value, EE 0 -- or, for strings and
        binaries, the escape `1` + EE `000` that EXIficient sends for empty content (facts/exi.md §4.3).
        Returns the zero bits (EE) still to check."""
        if not isinstance(dt, (String, Binary)):
            self._read_value(out, ind, dt, var, zeros + 1)  # + CH
            return 1
        self._check(out, ind, zeros)
        out.append(f"{ind}p += 1")
        out.append(f"{ind}if (val >> (end - p)) & 1:")
        out.append(f"{ind}    p += 3")
        out.append(f"{ind}    if (val >> (end - p)) & 7: raise _F")
        out.append(f"{ind}    {var} = {'b' if isinstance(dt, Binary) else ''}''")
        out.append(f"{ind}else:")
        self._read_value(out, ind + "    ", dt, var)
        self._check(out, ind + "    ", 1)  # EE
        return 0

    @staticmethod
    def _check(out, ind, zeros) -> int:
        if zeros:
            out.append(f"{ind}p += {zeros}")
            out.append(f"{ind}if (val >> (end - p)) & {(1 << zeros) - 1}: raise _F")
        return 0

    def _dec_source(self, g, name) -> str:
        if linear_chain(g) is not None:
            out = [f"def d{name}(val, end, p):"]
            self._check(out, "    ", self._dec_linear(out, "    ", g, "o", 0))
            out.append("    return o, p")
            return "\n".join(out) + "\n"
        states = g.states
        fields = [f for f, _l in g.fields]
        lists = {f for f, is_list in g.fields if is_list}
        out = [f"def d{name}(val, end, p):"]
        for f in fields:
            out.append(f"    l_{f} = []" if f in lists else f"    f_{f} = None")
        values = {f: f"l_{f}" if f in lists else f"f_{f}" for f in fields}
        out.append("    s = 0")
        out.append("    while True:")
        for i, st in enumerate(states):
            ind = "            "
            out.append(f"        if s == {i}:")
            single = st.k == 1  # code 0 in 1 bit: checked together with the bits that follow it
            if not single:
                out.append(f"{ind}p += {st.nbits}")
                out.append(f"{ind}c = (val >> (end - p)) & {(1 << st.nbits) - 1}")
            for code, (ev, field, child, rel, _l) in enumerate(st.prods):
                body = ind
                zeros = 1 if single else 0
                if not single:
                    out.append(f"{ind}{'if' if code == 0 else 'elif'} c == {code}:")
                    body = ind + "    "
                if ev == EE:
                    self._check(out, body, zeros)
                    self._construct(out, body, "o", g.cls, values)
                    out.append(f"{body}return o, p")
                    continue
                if ev == SE and hasattr(child, 'states') and linear_chain(child) is not None:
                    self._check(out, body, self._dec_linear(out, body, child, "v", zeros))
                elif ev == SE and hasattr(child, 'states'):
                    self._check(out, body, zeros)
                    out.append(f"{body}v, p = d{self._child_name(child)}(val, end, p)")
                elif ev == SE:
                    self._check(out, body, self._read_simple_element(out, body, child.dt, "v", zeros))
                elif ev in (AT, CH) and field is not None:
                    self._read_value(out, body, child, "v", zeros)
                else:
                    out.append(f"{body}raise _F")
                    continue
                out.append(f"{body}l_{field}.append(v)" if field in lists else f"{body}f_{field} = v")
                out.append(f"{body}s = {i + rel}")
            if not single:
                out.append(f"{ind}else: raise _F")
        return "\n".join(out) + "\n"

    def _read_value(self, out, ind, dt, v="v", zeros=0) -> None:
        """Read a value; the `zeros` pending zero bits before it (event codes) are read in the same shift and
        checked by one comparison (a set bit there makes the value too large)."""
        if isinstance(dt, (String, Binary)):
            self._check(out, ind, zeros)
        width = zeros + (dt.nbits if isinstance(dt, (NBitInteger, Enumeration)) else
                         1 if isinstance(dt, Boolean) else 8 if isinstance(dt, UnsignedInteger) else 9)
        mask = (1 << width) - 1
        if isinstance(dt, NBitInteger):
            out.append(f"{ind}p += {width}")
            out.append(f"{ind}{v} = (val >> (end - p)) & {mask}")
            if zeros or (1 << dt.nbits) - 1 + dt.lo > dt.hi:
                out.append(f"{ind}if {v} > {dt.hi - dt.lo}: raise _F")
            if dt.lo:
                out.append(f"{ind}{v} += {dt.lo}")
        elif isinstance(dt, Boolean):
            out.append(f"{ind}p += {width}")
            out.append(f"{ind}{v} = (val >> (end - p)) & {mask}")
            if zeros:
                out.append(f"{ind}if {v} > 1: raise _F")
            out.append(f"{ind}{v} = {v} == 1")
        elif isinstance(dt, Enumeration):
            # an index with a set zero bit, or beyond the values, is an IndexError: the interpreter takes over
            values = tuple(dt.cls(x) if dt.cls is not None else x for x in dt.values)
            out.append(f"{ind}p += {width}")
            out.append(f"{ind}{v} = {self.const(values, 'V')}[(val >> (end - p)) & {mask}]")
        elif isinstance(dt, UnsignedInteger):
            out.append(f"{ind}p += {width}")
            out.append(f"{ind}{v} = (val >> (end - p)) & {mask}")
            if zeros:
                out.append(f"{ind}if {v} > 255: raise _F")
            out.append(f"{ind}if {v} >= 128:")
            out.append(f"{ind}    p += 8")
            out.append(f"{ind}    b = (val >> (end - p)) & 255")
            out.append(f"{ind}    if b < 128: {v} = ({v} & 127) | (b << 7)")
            out.append(f"{ind}    else: {v}, p = _ru(val, end, p - 8, {v})")
            checks = ([f"{v} < {dt.lo}"] if dt.lo else []) + ([f"{v} > {dt.hi}"] if dt.hi is not None else [])
            if checks:
                out.append(f"{ind}if {' or '.join(checks)}: raise _F")
        elif isinstance(dt, Integer):
            out.append(f"{ind}p += {width}")
            out.append(f"{ind}{v} = (val >> (end - p)) & {mask}")
            if zeros:
                out.append(f"{ind}if {v} > 511: raise _F")
            out.append(f"{ind}if {v} < 128: pass")
            out.append(f"{ind}elif 256 <= {v} < 384: {v} = 255 - {v}")
            out.append(f"{ind}elif {v} < 256: {v}, p = _ru(val, end, p, {v})")
            out.append(f"{ind}else:")
            out.append(f"{ind}    {v}, p = _ru(val, end, p, {v} & 255)")
            out.append(f"{ind}    {v} = -{v} - 1")
            checks = [f"{v} < {dt.lo}"] if dt.lo is not None else []
            checks += [f"{v} > {dt.hi}"] if dt.hi is not None else []
            if checks:
                out.append(f"{ind}if {' or '.join(checks)}: raise _F")
        elif isinstance(dt, String):
            out.append(f"{ind}{v}, p = _rs(val, end, p, {dt.lo}, {dt.hi})")
        elif isinstance(dt, Binary):
            out.append(f"{ind}{v}, p = _rb(val, end, p, {dt.lo}, {dt.hi})")
        else:
            out.append(f"{ind}raise _F")
