"""Hypothesis strategies that build typed instances by walking the generated grammars (so every instance is
one the schema admits), used by the round-trip evidence tests."""
from __future__ import annotations

import itertools

from hypothesis import strategies as st

from exi import _datatypes
from exi._codec import ANY, AT, CH, EE, SE, ComplexGrammar, SchemaSet
from exi.wildcard import FIELD as WILDCARD, AnyElement

_TEXT = st.characters(blacklist_categories=("Cs", "Cc", "Co", "Cn", "Zl", "Zp"))


def _finishable(ss: SchemaSet) -> set:
    """(grammar, state) pairs from which the element can be completed."""
    grammars = {id(g): g for g in ss.by_class.values()}
    ok: set = set()
    built: set = set()
    changed = True
    while changed:
        changed = False
        for g in grammars.values():
            for i, s in enumerate(g.states):
                if (id(g), i) in ok:
                    continue
                for ev, _f, child, rel, _l in s.prods:
                    target = i + rel
                    if ev == EE or ((ev == ANY or ev in (AT, CH) and child is not None) and (id(g), target) in ok) or (
                            ev == SE and (not isinstance(child, ComplexGrammar) or id(child) in built)
                            and (id(g), target) in ok):
                        ok.add((id(g), i))
                        changed = True
                        break
            if (id(g), 0) in ok and id(g) not in built:
                built.add(id(g))
                changed = True
    return ok


def value(dt, ids):
    if isinstance(dt, _datatypes.Boolean):
        return st.booleans()
    if isinstance(dt, _datatypes._Integer):
        return st.integers(dt.lo if dt.lo is not None else -(1 << 70), dt.hi if dt.hi is not None else 1 << 70)
    if isinstance(dt, _datatypes.Enumeration):
        return st.sampled_from(dt.values).map(dt.cls if dt.cls is not None else str)
    if isinstance(dt, _datatypes.Binary):
        return st.binary(min_size=dt.lo, max_size=max(dt.lo, min(dt.hi or 48, 48)))
    if dt.builtin in ("ID", "IDREF"):
        return st.just(None).map(lambda _: f"id{next(ids)}")  # unique NCNames, as xs:ID demands
    hi = dt.hi if dt.hi is not None else 40
    if dt.builtin == "anyURI":
        return st.text("abcdefghijklmnopqrstuvwxyz0123456789/.-", min_size=dt.lo, max_size=min(hi, 40))
    return st.text(_TEXT, min_size=dt.lo, max_size=max(dt.lo, min(hi, 40)))


# xs:any content: elements of namespaces the schemas do not know (valid for ##other and ##any with processContents
# lax) -- a fixed variety (attributes, text with non-ASCII characters, children, repeated qnames that become
# string-table hits) drawn with sampled_from, which costs far less than building each tree with hypothesis
_EXT = "{urn:example:ext}"
_ANY_SAMPLES = [
    AnyElement(tag=_EXT + "Stamp"),
    AnyElement(tag=_EXT + "Stamp", attrib={"unit": "s", _EXT + "ref": "Größe €"}, content=["12"]),
    AnyElement(tag="{urn:example:other}Prop", content=["a", AnyElement(tag=_EXT + "Note", content=["中"]), "b"]),
    AnyElement(tag=_EXT + "Note", attrib={"kind": "x"}, content=[AnyElement(tag=_EXT + "Stamp"),
                                                                AnyElement(tag=_EXT + "Stamp", content=["z"])]),
]
ANY_ELEMENT = st.sampled_from(_ANY_SAMPLES)
_WORDS = st.sampled_from(["k", "key-1", "äöü", "中 x"])


# a global element every schema set with xmldsig knows: strict wildcards need a declared element
_KEY_NAME = st.builds(lambda v: AnyElement(tag="{http://www.w3.org/2000/09/xmldsig#}KeyName", value=v), _WORDS)
_ANY_OR_KEY_NAME = st.one_of(ANY_ELEMENT, _KEY_NAME)


def _abstract(g) -> bool:
    # an abstract type is only valid XML with xsi:type, which ISO 15118 senders do not use
    return (g.cls.__doc__ or "").endswith("(abstract).")


class InstanceStrategies:
    def __init__(self, ss: SchemaSet):
        self.ss = ss
        self.ok = _finishable(ss)

    @staticmethod
    def wildcard(constraint):
        namespace, process_contents = constraint
        if process_contents != "strict":
            return _ANY_OR_KEY_NAME if namespace == "##any" else ANY_ELEMENT
        return _KEY_NAME  # (strict ##other wildcards are left empty: no foreign global element is declared)

    def of(self, g):
        if not isinstance(g, ComplexGrammar):
            return value(g.dt, itertools.count())
        @st.composite
        def build(draw):
            return self._walk(draw, g, itertools.count(), 0)

        return build()

    def _walk(self, draw, g, ids, depth):
        if not isinstance(g, ComplexGrammar):
            return draw(value(g.dt, ids))
        kw = {}
        i = 0
        st_ = g.states[0]
        steps = 0
        while True:
            options = [p for p in st_.prods if (p[0] == EE) or (
                p[0] == ANY and p[2] != ("##other", "strict") and (id(g), i + p[3]) in self.ok) or (
                p[0] in (AT, SE, CH) and p[1] is not None and (id(g), i + p[3]) in self.ok and
                (p[0] != SE or not isinstance(p[2], ComplexGrammar) or
                 ((id(p[2]), 0) in self.ok and not _abstract(p[2]))))]
            if kw.get(WILDCARD):
                # the model keeps wildcard items in one list after the named fields, so an instance stays
                # representable only if nothing named follows a wildcard item (SPKIData: (SPKISexp, any?)+)
                options = [p for p in options if p[0] in (ANY, EE)] or options
            ee = [p for p in options if p[0] == EE]
            if ee and (steps > 12 or depth > 6 or draw(st.integers(0, 2)) == 0):
                return g.cls(**kw)
            choices = [p for p in options if p[0] != EE] or ee
            ev, field, child, rel, is_list = choices[draw(st.integers(0, len(choices) - 1))]
            if ev == EE:
                return g.cls(**kw)
            if ev == ANY:
                v = draw(self.wildcard(child))
            else:
                v = self._walk(draw, child, ids, depth + 1) if ev == SE else draw(value(child, ids))
            if is_list:
                kw.setdefault(field, []).append(v)
            else:
                kw[field] = v
            i += rel
            st_ = g.states[i]
            steps += 1
