"""Build EXI 1.0 schema-informed element grammars (W3C EXI §8.5.4) from the schema model.

Proto-grammars are built as an ε-NFA per type (attribute uses, then content particles, bounded maxOccurs
unrolled into one copy per position), then normalised by ε-closure and subset construction, which is what
§8.5.4.2 describes. Event codes inside a state follow §8.5.4.3: AT sorted by (local, uri), SE in schema order
(substitution members sorted), SE(*), EE, CH.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ._xsd import ComplexType, ElementDecl, Particle, SchemaSet, SimpleType, builtin_kind, builtin_range

# state kinds (facts/exi.md §3.4): they select the second-level escape table
FIRST_START_TAG, START_TAG, ELEMENT_CONTENT = 0, 1, 2


@dataclass
class Production:
    event: str  # "AT" | "SE" | "ANY" | "EE" | "CH"
    qname: tuple[str, str] | None
    target: int
    decl: ElementDecl | None = None
    attr_type: SimpleType | None = None


@dataclass
class State:
    kind: int
    productions: list[Production]


class _Nfa:
    def __init__(self):
        self.edges: list[list[tuple]] = []
        self.order: dict[int, int] = {}

    def new(self) -> int:
        self.edges.append([])
        return len(self.edges) - 1

    def eps(self, a: int, b: int) -> None:
        self.edges[a].append((None, b))


def type_grammar(schema: SchemaSet, ct: ComplexType) -> list[State]:
    nfa = _Nfa()
    start = nfa.new()
    cur = start
    for use in ct.all_attributes():
        nxt = nfa.new()
        nfa.edges[cur].append((("AT", use.qname, 0, use), nxt))
        if not use.required:
            nfa.eps(cur, nxt)
        cur = nxt
    content_start = cur
    if ct.simple_content is not None:
        end = nfa.new()
        nfa.edges[cur].append((("CHT", None, 0, ct.simple_content), end))
        cur = end
    else:
        for p in ct.content_particles():
            cur = _particle(schema, nfa, p, cur)
        if ct.mixed:
            # EXI §8.5.4.1.3.2: every state of a mixed content grammar gets CH[untyped] looping to itself. The
            # loop belongs to the content part: taken where attributes are still possible, it leaves them behind
            # (ds:Object after AT(Id): CH leads to {SE(*), EE, CH}, not back to {AT(MimeType), SE(*), EE, CH})
            for n in range(content_start, len(nfa.edges)):
                nfa.edges[n].append((("CHM", None, 0, None), n))
    final = cur
    return _determinize(nfa, start, final)


def _order(nfa: _Nfa, p: Particle) -> int:
    return nfa.order.setdefault(id(p), len(nfa.order))


def _particle(schema, nfa: _Nfa, p: Particle, s: int) -> int:
    entry = nfa.new()  # a fresh entry keeps loops of one alternative from leaking into siblings
    nfa.eps(s, entry)
    cur = entry
    for _ in range(p.min):
        cur = _term(schema, nfa, p, cur)
    if p.max is None:
        loop = nfa.new()
        nfa.eps(cur, loop)
        back = _term(schema, nfa, p, loop)
        nfa.eps(back, loop)
        return loop
    end = nfa.new()
    for _ in range(p.max - p.min):
        nfa.eps(cur, end)
        cur = _term(schema, nfa, p, cur)
    nfa.eps(cur, end)
    return end


def _term(schema, nfa: _Nfa, p: Particle, s: int) -> int:
    order = _order(nfa, p)
    if p.kind == "element":
        e = nfa.new()
        members = schema.substitutes(p.element.qname) if p.element.is_global else [p.element]
        for i, d in enumerate(members):
            nfa.edges[s].append((("SE", d.qname, (order, i), d), e))
        return e
    if p.kind == "any":
        e = nfa.new()
        ns = p.namespace
        if ns not in ("##any", "##other"):
            raise NotImplementedError("wildcards with namespace lists are not used by the ISO schemas")
        nfa.edges[s].append((("ANY", None, (order, 0), p), e))
        return e
    if p.kind == "sequence":
        cur = s
        for c in p.children:
            cur = _particle(schema, nfa, c, cur)
        return cur
    e = nfa.new()  # choice
    if not p.children:
        nfa.eps(s, e)
    for c in p.children:
        nfa.eps(_particle(schema, nfa, c, s), e)
    return e


def _determinize(nfa: _Nfa, start: int, final: int) -> list[State]:
    def closure(states):
        seen = set(states)
        stack = list(states)
        while stack:
            for label, t in nfa.edges[stack.pop()]:
                if label is None and t not in seen:
                    seen.add(t)
                    stack.append(t)
        return frozenset(seen)

    first = closure({start})
    sets = [first]
    index = {first: 0}
    kinds = [FIRST_START_TAG]
    out: list[State] = []
    i = 0
    while i < len(sets):
        cur = sets[i]
        groups: dict[tuple, list] = {}
        for n in sorted(cur):
            for label, t in nfa.edges[n]:
                if label is None:
                    continue
                ev, qn, order, info = label
                key = (ev, qn)
                g = groups.setdefault(key, [order, info, set()])
                g[0] = min(g[0], order)
                g[2].add(t)
        prods = []
        for (ev, qn), (order, info, targets) in groups.items():
            tset = closure(targets)
            if tset not in index:
                index[tset] = len(sets)
                sets.append(tset)
                kinds.append(START_TAG if ev == "AT" else ELEMENT_CONTENT)
            tgt = index[tset]
            if ev == "AT":
                prods.append(((0, qn[1], qn[0]), Production("AT", qn, tgt, attr_type=info.type)))
            elif ev == "SE":
                prods.append(((1, order), Production("SE", qn, tgt, decl=info)))
            elif ev == "ANY":  # the wildcard's constraints ride along for validators and instance generators
                prods.append(((2, order), Production("ANY", (info.namespace, info.process_contents), tgt)))
            elif ev == "CHM":  # untyped text of a mixed type
                prods.append(((5,), Production("CH", None, tgt)))
            else:  # typed character content of a simple-content type
                prods.append(((4,), Production("CH", None, tgt, attr_type=info)))
        if final in cur:
            prods.append(((3,), Production("EE", None, -1)))
        prods.sort(key=lambda x: x[0])
        out.append(State(kinds[i], [p for _, p in prods]))
        i += 1
    return out


# -- datatypes (facts/exi.md §5) -------------------------------------------------------------------

def datatype(st: SimpleType) -> tuple:
    """A hashable description of how values of `st` are represented."""
    kind = builtin_kind(st.builtin)
    if st.enumeration:
        if kind != "string":
            raise NotImplementedError(f"enumeration over {st.builtin}")
        return ("enum", st.enumeration)
    if kind == "integer":
        lo, hi = builtin_range(st.builtin)
        if st.min_inclusive is not None:
            lo = st.min_inclusive if lo is None else max(lo, st.min_inclusive)
        if st.max_inclusive is not None:
            hi = st.max_inclusive if hi is None else min(hi, st.max_inclusive)
        if lo is not None and hi is not None and hi - lo + 1 <= 4096:
            return ("nbit", lo, hi, math.ceil(math.log2(hi - lo + 1)) if hi > lo else 0)
        if lo is not None and lo >= 0:
            return ("uint", lo, hi)
        return ("int", lo, hi)
    if kind == "boolean":
        return ("bool",)
    lo = st.length if st.length is not None else (st.min_length or 0)
    hi = st.length if st.length is not None else st.max_length
    if kind == "string":  # the built-in name only matters to instance generators (ID must be an NCName)
        return ("str", lo, hi, st.builtin)
    return ({"hexBinary": "hex", "base64Binary": "b64"}[kind], lo, hi)
