"""Encode and decode EXI streams by walking the generated grammar tables (ISO 15118 option set).

Options (facts/exi.md §0): header octet 0x80, bit-packed, strict = false (every element state has an escape
code, §4), no value-table hits, document and fragment grammars (§2.2, §2.3)."""
from __future__ import annotations

import importlib
import math

from . import _compile, _datatypes
from ._bits import BitReader, BitWriter
from .errors import (BAD_HEADER, INVALID_CONTENT, INVALID_EVENT_CODE, INVALID_VALUE, NIL, PREMATURE_END,
                     TRAILING_DATA, UNKNOWN_ATTRIBUTE, UNKNOWN_SCHEMA, UNSUPPORTED_EVENT, UNTYPED_VALUE, ExiError)
from .wildcard import FIELD as WILDCARD, AnyElement, clark, split_name

AT, SE, ANY, EE, CH = 0, 1, 2, 3, 4
HEADER = 0x80

# schema set names and the namespace URIs accepted for them
SCHEMAS = {
    "apphand": "urn:iso:15118:2:2010:AppProtocol",
    "iso20": "urn:iso:std:iso:15118:-20:CommonMessages",
    "iso20-dc": "urn:iso:std:iso:15118:-20:DC",
    "iso20-ac": "urn:iso:std:iso:15118:-20:AC",
    "iso20-wpt": "urn:iso:std:iso:15118:-20:WPT",
    "iso20-acdp": "urn:iso:std:iso:15118:-20:ACDP",
    "xmldsig": "http://www.w3.org/2000/09/xmldsig#",
    "iso2": "urn:iso:15118:2:2013:MsgDef",
    "din": "urn:din:70121:2012:MsgDef",
}
_ALIASES = {uri: name for name, uri in SCHEMAS.items()}
_ALIASES.update({
    "urn:iso:std:iso:15118:-20:CommonTypes": "iso20",
    "urn:iso:15118:2:2013:MsgHeader": "iso2", "urn:iso:15118:2:2013:MsgBody": "iso2",
    "urn:iso:15118:2:2013:MsgDataTypes": "iso2",
    "urn:din:70121:2012:MsgHeader": "din", "urn:din:70121:2012:MsgBody": "din",
    "urn:din:70121:2012:MsgDataTypes": "din",
})

# second-level escape entries per state kind (facts/exi.md §4.2); "EE" only where EE is not declared
_SECOND_LEVEL = (
    ("EE", "xsi:type", "xsi:nil", "AT(*)", "AT[untyped]", "SE(*)", "CH[untyped]"),  # FirstStartTag
    ("EE", "AT(*)", "AT[untyped]", "SE(*)", "CH[untyped]"),  # StartTag
    ("EE", "SE(*)", "CH[untyped]"),  # ElementContent
)


XSI_TYPE = ("http://www.w3.org/2001/XMLSchema-instance", "type")
XS_ANY_TYPE = ("http://www.w3.org/2001/XMLSchema", "anyType")


class QNameTable:
    """The URI and local-name partitions of one stream's string table (EXI §7.3.1, Appendix D), copied from the
    schema's initial table on first use; misses are appended."""
    __slots__ = ("uris", "uri_index", "_ss", "_names", "local_index")

    def __init__(self, ss):
        self._ss = ss
        self.uris = list(ss.uris)
        self.uri_index = {u: i for i, u in enumerate(self.uris)}
        self._names = {}
        self.local_index = {}

    def local_names(self, uri: str) -> list:
        names = self._names.get(uri)
        if names is None:
            names = self._names[uri] = list(self._ss.local_names.get(uri, ()))
            self.local_index[uri] = {n: i for i, n in enumerate(names)}
        return names

    def add_uri(self, uri: str) -> None:
        self.uri_index[uri] = len(self.uris)
        self.uris.append(uri)

    def add_local(self, uri: str, local: str) -> None:
        names = self.local_names(uri)
        self.local_index[uri][local] = len(names)
        names.append(local)


def _width(n: int) -> int:
    return math.ceil(math.log2(n)) if n > 1 else 0


class State:
    """One row of a grammar: productions in event-code order, targets relative to the current state (so the
    unrolled positions of a bounded maxOccurs share one row)."""
    __slots__ = ("nbits", "k", "prods", "by_field", "by_qname", "ee", "escape", "escape_bits")

    def __init__(self, kind, prods):
        self.k = len(prods)
        self.nbits = _width(self.k + 1)  # + the escape code of non-strict grammars
        self.ee = next((i for i, p in enumerate(prods) if p[0] == EE), None)
        entries = _SECOND_LEVEL[kind]
        if self.ee is not None:
            entries = entries[1:]
        self.escape = entries
        self.escape_bits = _width(len(entries))
        self.prods = prods
        self.by_field = {}
        self.by_qname = {}


class ComplexGrammar:
    __slots__ = ("cls", "name", "fields", "states", "lists", "info", "schema", "wild")

    def enc(self, w: BitWriter, obj) -> None:
        if type(obj) is not self.cls:
            self.enc_derived(w, obj)
            return
        states = self.states
        i = 0
        st = states[0]
        for fname, is_list in self.fields:
            v = getattr(obj, fname)
            if v is None:
                continue
            if is_list:
                if not isinstance(v, (list, tuple)):
                    raise ExiError(INVALID_VALUE, f"{fname} must be a list", None, f"{self.name} state {i}")
                items = v
            else:
                items = (v,)
            for item in items:
                if fname == WILDCARD and self.wild:
                    i = self.enc_wild(w, item, st, i)
                    st = states[i]
                    continue
                hit = st.by_field.get(fname)
                if hit is None:
                    raise ExiError(INVALID_CONTENT, f"{fname} is not allowed here; expected one of "
                                   f"{_expected(st)}", None, f"{self.name} state {i}")
                code, child, rel, ev = hit
                w.write(code, st.nbits)
                try:
                    if ev == SE:
                        child.enc(w, item)
                    else:
                        child.encode(w, item, f"{self.name} state {i}")
                except ExiError as e:
                    e.path.insert(0, fname)
                    raise
                i += rel
                st = states[i]
        if st.ee is None:
            raise ExiError(INVALID_CONTENT, f"missing mandatory content; expected one of {_expected(st)}",
                           None, f"{self.name} state {i}")
        w.write(st.ee, st.nbits)

    def enc_wild(self, w: BitWriter, item, st: State, i: int) -> int:
        """One item of the wildcard field: an AnyElement through SE(*), or text through the mixed CH."""
        where = f"{self.name} state {i}"
        if isinstance(item, str):
            code = next((c for c, p in enumerate(st.prods) if p[0] == CH and p[1] is None), None)
            if code is None or not item:
                raise ExiError(INVALID_CONTENT, "text is not allowed here" if item else "empty text item",
                               None, where)
            w.write(code, st.nbits)
            _datatypes.write_string_literal(w, item)
            return i + st.prods[code][3]
        hit = st.by_field.get(WILDCARD)
        if hit is None or not isinstance(item, AnyElement):
            raise ExiError(INVALID_CONTENT if hit is None else INVALID_VALUE,
                           f"wildcard element not allowed here; expected one of {_expected(st)}" if hit is None else
                           f"wildcard items are AnyElement or str, got {type(item).__name__}", None, where)
        self.check_wildcard(item, hit[1], where)
        w.write(hit[0], st.nbits)
        try:
            self.schema.enc_any(w, item)
        except ExiError as e:
            e.path.insert(0, item.tag)
            raise
        return i + hit[2]

    def check_wildcard(self, item: AnyElement, constraint, where: str) -> None:
        """The xs:any's namespace constraint, and processContents="strict" (a declared element only), as XSD
        validation would check them (facets-style: refuse what the schema does not admit)."""
        namespace, process_contents = constraint
        uri = split_name(item.tag)[0]
        own = self.schema.type_qname.get(id(self), ("", ""))[0]
        if namespace == "##other" and uri in ("", own):
            raise ExiError(INVALID_CONTENT, f"{item.tag}: this wildcard takes elements of other namespaces only",
                           None, where)
        if process_contents == "strict" and split_name(item.tag) not in self.schema.document_index:
            raise ExiError(INVALID_CONTENT, f"{item.tag}: this wildcard is strict, the element must be declared",
                           None, where)

    def enc_derived(self, w: BitWriter, obj) -> None:
        """An instance of a class derived from this element's type: xsi:type, then the derived type's
        grammar from its state 0 (EXI §8.5.4.4.1; facts/exi.md §4.4)."""
        derived = self.schema.by_class.get(type(obj))
        qname = self.schema.type_qname.get(id(derived))
        if derived is None or qname is None or not isinstance(obj, self.cls):
            raise ExiError(INVALID_VALUE, f"expected a {self.cls.__name__}, got {type(obj).__name__}",
                           None, self.name)
        st = self.states[0]
        w.write(st.k, st.nbits)
        w.write(st.escape.index("xsi:type"), st.escape_bits)
        self.schema.write_qname(w, qname)
        derived.enc(w, obj)

    def dec(self, r: BitReader):
        states = self.states
        i = 0
        st = states[0]
        kw = {}
        field = None
        try:
            while True:
                start = r.pos
                code = r.read(st.nbits)
                if code >= st.k:
                    field = None
                    if _escape(r, self.schema, st, code, start, None, None, i == 0) == "xsi:type":
                        derived = self.schema.read_type(r, start)
                        if not issubclass(derived.cls, self.cls):
                            raise r.fail(INVALID_CONTENT, f"xsi:type {derived.name} is not derived from "
                                         f"{self.name}", start)
                        return derived.dec(r)
                    raise r.fail(PREMATURE_END, f"element ended early; expected one of {_expected(st)}", start)
                ev, field, child, rel, is_list = st.prods[code]
                if ev == EE:
                    return self.cls(**kw)
                if ev == SE:
                    v = child.dec(r)
                elif ev == CH and field is None:  # text of a mixed xmldsig type: kept with the wildcard content
                    v = _datatypes.read_string_literal(r)
                    field, is_list = (WILDCARD, True) if self.wild else (None, False)
                    if field is None:
                        i += rel
                        st = states[i]
                        continue
                elif ev == ANY:
                    v = self.schema.dec_any(r)
                else:
                    v = child.decode(r)
                if is_list:
                    lst = kw.get(field)
                    if lst is None:
                        kw[field] = [v]
                    else:
                        lst.append(v)
                else:
                    kw[field] = v
                field = None
                i += rel
                st = states[i]
        except ExiError as e:
            if field is not None and ev == SE:
                e.path.insert(0, field)
            if e.state is None:
                e.state = f"{self.name} state {i}"
            raise


class SimpleGrammar:
    """{CH[typed]} then {EE}, both with an escape: 1 bit each (facts/exi.md §4.1)."""
    __slots__ = ("dt", "name", "state0", "state1", "schema")

    def enc(self, w: BitWriter, v) -> None:
        if v == self.dt.empty and self.dt.empty is not None:
            # no character data: EXIficient sends the undeclared EE (escape, then EE = 0 of 7; §4.3)
            w.write(0b1000, 4)
            return
        w.write(0, 1)
        self.dt.encode(w, v, self.name)
        w.write(0, 1)

    def dec(self, r: BitReader):
        start = r.pos
        if r.read(1):
            if _escape(r, self.schema, self.state0, 1, start, self, "simple-type state 0 {CH}") == "EE":
                if self.dt.empty is None:
                    raise r.fail(PREMATURE_END, "element without its value", start, "simple-type state 0 {CH}")
                return self.dt.empty
        v = self.dt.decode(r)
        start = r.pos
        if r.read(1):
            _escape(r, self.schema, self.state1, 1, start, self, "simple-type state 1 {EE}")
            raise r.fail(UNSUPPORTED_EVENT, "content after the value", start, "simple-type state 1 {EE}")
        return v


class ElementFragmentGrammar:
    """The relaxed Schema-informed Element Fragment grammar (EXI 1.0 §8.5.3), used in fragments for a qname
    declared with different types (ISO 15118-2 {MsgBody}eMAID: eMAIDType and EMAIDType; facts/exi.md §2.3).

    With A = the n attribute qnames and F = the m element qnames of the schema set, both sorted by (local, uri):
      ElementFragment 0 and 1: AT(A0..An-1) 0..n-1 -> 1, AT(*) n -> 1, SE(F0..Fm-1) n+1..n+m -> 2,
                               SE(*) n+m+1 -> 2, EE n+m+2, CH[untyped] n+m+3 -> 2
      ElementFragment 2:       SE(F0..Fm-1) 0..m-1, SE(*) m, EE m+1, CH[untyped] m+2
    plus the strict=false escape in every state (§8.5.4.4.1). AT(Ai) is typed when all declarations of Ai
    agree (all ISO attributes are strings, so always a string literal), SE(Fi) uses Fi's grammar, or this one
    where Fi is relaxed too. The decoded value is the first declaration's type the content fits (EMAID with
    Id and text; plain str without attributes)."""

    def __init__(self, ss, qname, candidates):
        self.schema = ss
        self.name = f"element fragment {qname[1]}"
        self.candidates = candidates
        attrs = {}
        for g in ss.by_class.values():
            for st in g.states:
                for ev, f, dt, _rel, _l in st.prods:
                    if ev == AT:
                        qn = next(q for q, h in st.by_qname.items() if h[1] == f and q not in ("#text", "*"))
                        attrs.setdefault(qn, set()).add(dt)
        self.attributes = sorted(attrs, key=lambda q: (q[1], q[0]))
        self.attr_index = {q: i for i, q in enumerate(self.attributes)}
        self.elements = [qn for qn, _g in ss.fragment]
        n, m = len(self.attributes), len(self.elements)
        self.start = State(0, ((EE, None, None, 0, False),) * (n + m + 4))
        self.content = State(2, ((EE, None, None, 0, False),) * (m + 3))
        self.n = n

    def _parts(self, obj):
        """(attributes {qname: text}, text or None, [(qname, child value)]) of a value of a candidate type."""
        for g in self.candidates:
            if isinstance(g, ComplexGrammar) and type(obj) is g.cls:
                attrs, text, children = {}, None, []
                for fname, is_list in g.fields:
                    v = getattr(obj, fname)
                    if v is None:
                        continue
                    ev, uri, local, child = g.info[fname]
                    for item in (v if is_list else (v,)):
                        if ev == AT:
                            attrs[(uri, local)] = child.to_text(item)
                        elif ev == CH:
                            text = child.to_text(item)
                        elif ev == SE:
                            children.append(((uri, local), item))
                        else:
                            raise ExiError(INVALID_CONTENT, f"{fname} has no place in {self.name}")
                return g, attrs, text, children
            if isinstance(g, SimpleGrammar) and not isinstance(obj, (list, tuple)) and not hasattr(obj, "__slots__"):
                try:
                    w = BitWriter()
                    g.dt.encode(w, obj, self.name)  # facet checks of the simple declaration
                except ExiError:
                    continue
                return g, {}, g.dt.to_text(obj), []
        raise ExiError(INVALID_VALUE, f"{type(obj).__name__} fits none of the declarations of {self.name}")

    def grammar_for(self, obj):
        return self._parts(obj)[0]

    def enc(self, w: BitWriter, obj) -> None:
        _g, attrs, text, children = self._parts(obj)
        n, m = self.n, len(self.elements)
        st = self.start
        for qn in sorted(attrs, key=lambda q: (q[1], q[0])):
            w.write(self.attr_index[qn], st.nbits)
            _datatypes.write_string_literal(w, attrs[qn])
        if text:
            w.write(n + m + 3, st.nbits)
            _datatypes.write_string_literal(w, text)
            st = self.content
        for qn, item in children:
            j = self.elements.index(qn)
            w.write(j + (n + 1 if st is self.start else 0), st.nbits)
            self.schema.fragment[j][1].enc(w, item)
            st = self.content
        w.write(n + m + 2 if st is self.start else m + 1, st.nbits)

    def dec(self, r: BitReader):
        n, m = self.n, len(self.elements)
        attrs, texts, children = {}, [], []
        st = self.start
        while True:
            start = r.pos
            code = r.read(st.nbits)
            if st is self.start:
                if code >= st.k:
                    _escape(r, self.schema, st, code, start, None, self.name)
                    raise r.fail(PREMATURE_END, "undeclared end", start, self.name)
                if code < n:
                    attrs[self.attributes[code]] = _datatypes.read_string_literal(r)
                    continue
                if code == n:
                    uri, local = self.schema.read_qname(r)
                    attrs[(uri, local)] = _datatypes.read_string_literal(r)
                    continue
                code -= n + 1
            elif code >= st.k:
                _escape(r, self.schema, st, code, start, None, self.name)
                raise r.fail(PREMATURE_END, "undeclared end", start, self.name)
            st = self.content
            if code < m:
                qn, g = self.schema.fragment[code]
                children.append((qn, g.dec(r)))
            elif code == m:
                children.append((None, self.schema.dec_any(r)))
            elif code == m + 1:
                return self.build(attrs, "".join(texts), children, r, start)
            else:
                texts.append(_datatypes.read_string_literal(r))

    def build(self, attrs, text, children, r=None, at=None):
        """The typed value of the first declaration whose type the content fits."""
        for g in self.candidates:
            try:
                if isinstance(g, SimpleGrammar):
                    if not attrs and not children:
                        return g.dt.from_text(text, self.name)
                    continue
                kw = {}
                fields = {(uri, local): (f, ev, c) for f, (ev, uri, local, c) in g.info.items()}
                if any(qn not in fields or fields[qn][1] != AT for qn in attrs):
                    continue
                for qn, text_value in attrs.items():
                    f, _ev, dt = fields[qn]
                    kw[f] = dt.from_text(text_value, self.name)
                if text:
                    simple = [(f, c) for f, (ev, _u, _l, c) in g.info.items() if ev == CH]
                    if not simple:
                        continue
                    kw[simple[0][0]] = simple[0][1].from_text(text, self.name)
                for qn, value in children:
                    if qn not in fields or fields[qn][1] != SE:
                        raise KeyError(qn)
                    f = fields[qn][0]
                    if f in g.lists:
                        kw.setdefault(f, []).append(value)
                    else:
                        kw[f] = value
                return g.cls(**kw)
            except (ExiError, KeyError, TypeError):
                continue
        err = ExiError(INVALID_CONTENT, f"content fits none of the declarations of {self.name}", at, self.name)
        raise err


def _escape(r: BitReader, ss, st: State, code: int, start: int, simple, where=None, type_ok=False) -> str:
    """Decode the second level after an escape; an undeclared EE (and, where type_ok, xsi:type) is returned,
    anything else raises: a lax peer's deviations become typed errors carrying what was sent (`.value`)."""
    if code > st.k:
        raise r.fail(INVALID_EVENT_CODE, f"event code {code} with {st.k} productions", start, where)
    sub = r.read(st.escape_bits)
    if sub >= len(st.escape):
        raise r.fail(INVALID_EVENT_CODE, f"second-level code {sub} of {len(st.escape)}", start, where)
    entry = st.escape[sub]
    if entry == "EE" or (entry == "xsi:type" and type_ok):
        return entry
    if entry == "CH[untyped]" and simple is not None:
        text = _datatypes.read_string_literal(r)
        err = r.fail(UNTYPED_VALUE, f"untyped value {text[:60]!r} does not fit its type", start, where)
        err.value = text
        raise err
    if entry == "xsi:nil":
        # none of the ISO 15118 element declarations is nillable (facts/exi.md §5): EXI §8.5.4.4.1 still
        # lets a lax encoder send AT(xsi:nil) with its boolean value
        nil = r.read(1) == 1
        err = r.fail(NIL, f"xsi:nil={'true' if nil else 'false'} on an element that is not nillable", start, where)
        err.value = nil
        raise err
    if entry == "AT(*)":
        uri, local = ss.read_qname(r)
        text = _datatypes.read_string_literal(r)
        err = r.fail(UNKNOWN_ATTRIBUTE, f"undeclared attribute {clark(uri, local)}={text[:60]!r}", start, where)
        err.value = (clark(uri, local), text)
        raise err
    raise r.fail(UNSUPPORTED_EVENT, f"deviation event {entry} (not used by ISO 15118 encoders we accept)",
                 start, where)


def _expected(st: State) -> str:
    names = []
    for p in st.prods:
        if p[0] == EE:
            names.append("end of element")
        elif p[0] == ANY:
            names.append("any element")
        elif p[1] is not None:
            names.append(p[1])
    return ", ".join(names) or "nothing"


class SchemaSet:
    """The runtime grammar set: linked tables, document and fragment grammars, class lookup."""

    def __init__(self, module):
        self.name = module.NAME
        self.namespaces = module.NAMESPACES
        dts = [_datatypes.make(d) for d in module.DATATYPES]
        grammars = [SimpleGrammar() if g[0] == "simple" else ComplexGrammar() for g in module.GRAMMARS]
        rows = []
        for kind, prods in module.ROWS:
            linked = []
            by_field, by_qname = {}, {}
            for code, (ev, uri, local, field, child, rel) in enumerate(prods):
                c = grammars[child] if ev == SE else dts[child] if ev in (AT, CH) and child >= 0 else None
                if ev == ANY:
                    c = (uri, local)  # the wildcard's namespace constraint and processContents
                linked.append((ev, field, c, rel, False))
                if field is not None and ev != EE:
                    by_field[field] = (code, c, rel, ev)
                    key = (uri, local) if ev in (AT, SE) else "*" if ev == ANY else "#text"
                    by_qname[key] = (code, field, c, rel, ev)
            st = State(kind, tuple(linked))
            st.by_field, st.by_qname = by_field, by_qname
            rows.append(st)
        self.by_class = {}
        list_rows: dict[tuple, State] = {}
        for g, src in zip(grammars, module.GRAMMARS):
            if src[0] == "simple":
                g.dt = dts[src[1]]
                g.name = "simple value"
                g.state0 = State(0, ((CH, None, None, 1, False),))
                g.state1 = State(2, ((EE, None, None, 0, False),))
                g.schema = self
                continue
            cls, name, fields, row_ids = src
            g.cls, g.name, g.schema = cls, name, self
            g.fields = tuple((f, is_list) for f, _kind, is_list in fields)
            g.wild = any(kind == "w" for _f, kind, _l in fields)
            g.lists = frozenset(f for f, _kind, is_list in fields if is_list)
            g.info = {}
            self.by_class[cls] = g
            states = []
            for r in row_ids:
                st = rows[r]
                if g.lists and any(p[1] in g.lists for p in st.prods):
                    # the decoder needs to know which fields are lists: a row copy per list-field set
                    key = (r, g.lists)
                    if key not in list_rows:
                        copy = State.__new__(State)
                        for attr in State.__slots__:
                            setattr(copy, attr, getattr(st, attr))
                        copy.prods = tuple((ev, f, c, rel, f in g.lists) for ev, f, c, rel, _l in st.prods)
                        list_rows[key] = copy
                    st = list_rows[key]
                states.append(st)
                for ev, f, c, _rel, _l in st.prods:
                    if f is not None and ev != EE and f not in g.info:
                        uri, local = next((q for q, h in st.by_qname.items()
                                           if h[1] == f and q not in ("#text", "*")), (None, None))
                        g.info[f] = (ev, uri, local, c)
            g.states = states
        self.type_qname = {id(grammars[i]): (u, l) for u, l, i in module.TYPES}
        self.type_by_qname = {(u, l): grammars[i] for u, l, i in module.TYPES}
        self.uris = tuple(u for u, _names in module.QNAMES)
        self.local_names = {u: names for u, names in module.QNAMES}
        self.uri_bits = _width(len(self.uris) + 1)
        self.document = tuple(((u, l), grammars[i]) for u, l, i in module.DOCUMENT)
        self.document_bits = _width(len(self.document) + 1)
        self.fragment = tuple(((u, l), grammars[i] if i >= 0 else None) for u, l, i in module.FRAGMENT)
        self.fragment_bits = _width(len(self.fragment) + 2)
        relaxed = {(u, l): tuple(grammars[i] for i in idx) for u, l, idx in module.RELAXED}
        self.fragment = tuple((qn, g if g is not None else ElementFragmentGrammar(self, qn, relaxed[qn]))
                              for qn, g in self.fragment)
        self.document_index = {qn: (i, g) for i, (qn, g) in enumerate(self.document)}
        self.fragment_index = {qn: (i, g) for i, (qn, g) in enumerate(self.fragment)}
        self.elements_of = {}
        self.fragment_elements_of = {}
        self.compiler = _compile.Compiler()
        self._fast_encoders = {}  # (class, element, fragment) -> (event code, compiled encoder or None)
        self._fast_decoders = [None] * len(self.document)  # compiled per root element at first use
        for qn, g in self.document:
            if isinstance(g, ComplexGrammar):
                self.elements_of.setdefault(g.cls, []).append(qn)
        for qn, g in self.fragment:
            if isinstance(g, ComplexGrammar):
                self.fragment_elements_of.setdefault(g.cls, []).append(qn)

    # -- qnames (EXI §7.1.7, §7.3.2, §7.3.3): the URI and local-name partitions grow per stream -------------
    def _table(self, rw) -> "QNameTable":
        if rw.names is None:
            rw.names = QNameTable(self)
        return rw.names

    def write_qname(self, w: BitWriter, qname) -> None:
        uri, local = qname
        t = self._table(w)
        if uri in t.uri_index:
            w.write(t.uri_index[uri] + 1, _width(len(t.uris) + 1))
        else:  # miss: 0, then the URI as a length-prefixed string, appended to the partition
            w.write(0, _width(len(t.uris) + 1))
            _datatypes.write_chars(w, uri, len(uri))
            t.add_uri(uri)
        names = t.local_names(uri)
        i = t.local_index[uri].get(local)
        if i is not None:  # hit: uint 0, then the compact id
            w.write_uint(0)
            w.write(i, _width(len(names)))
        else:  # miss: uint length + 1, then the characters, appended
            _datatypes.write_chars(w, local, len(local) + 1)
            t.add_local(uri, local)

    def read_qname(self, r: BitReader) -> tuple[str, str]:
        t = self._table(r)
        start = r.pos
        u = r.read(_width(len(t.uris) + 1))
        if u == 0:
            uri = _datatypes.read_chars(r, r.read_uint(), start)
            t.add_uri(uri)
        elif u > len(t.uris):
            raise r.fail(INVALID_EVENT_CODE, f"URI id {u - 1} of {len(t.uris)}", start)
        else:
            uri = t.uris[u - 1]
        names = t.local_names(uri)
        start = r.pos
        n = r.read_uint()
        if n == 0:
            i = r.read(_width(len(names)))
            if i >= len(names):
                raise r.fail(INVALID_EVENT_CODE, f"local-name id {i} of {len(names)} for {uri!r}", start)
            return uri, names[i]
        local = _datatypes.read_chars(r, n - 1, start)
        t.add_local(uri, local)
        return uri, local

    def read_type(self, r: BitReader, start: int):
        qn = self.read_qname(r)
        g = self.type_by_qname.get(qn)
        if g is None:
            raise r.fail(UNSUPPORTED_EVENT, f"xsi:type {clark(*qn)} names no complex type of {self.name}", start)
        return g

    # -- wildcard content (exi/wildcard.py; EXI §8.4.3, EXI Profile §2.1) -------------------------------------
    def enc_any(self, w: BitWriter, el: AnyElement) -> None:
        qn = split_name(el.tag)
        self.write_qname(w, qn)
        hit = self.document_index.get(qn)
        if hit is not None:  # a global element of the schema set: its own grammar
            if el.attrib or el.content or el.value is None:
                raise ExiError(INVALID_CONTENT, f"{el.tag} is a schema element: give its typed value in "
                               "`value`, not attrib/content")
            hit[1].enc(w, el.value)
            return
        if el.value is not None:
            raise ExiError(INVALID_CONTENT, f"{el.tag} is not a global element of {self.name}: use attrib/content")
        # no built-in grammar may be created (profile limit 0): AT(*) = xsi:type xs:anyType, code 0.1 (2 bits)
        w.write(1, 2)
        self.write_qname(w, XSI_TYPE)
        self.write_qname(w, XS_ANY_TYPE)
        for name, text in sorted(el.attrib.items(), key=lambda kv: split_name(kv[0])[::-1]):
            if not isinstance(text, str):
                raise ExiError(INVALID_VALUE, f"attribute {name} of {el.tag} must be a str")
            w.write(0, 3)  # AT(*) in anyType state 0
            self.write_qname(w, split_name(name))
            _datatypes.write_string_literal(w, text)
        state = 0  # anyType: state 0 {AT(*), SE(*), EE, CH} (3 bits), state 1 {SE(*), EE, CH} (2 bits)
        for item in el.content:
            if isinstance(item, str):
                if not item:
                    raise ExiError(INVALID_VALUE, f"empty text item in {el.tag}")
                w.write(3, 3) if state == 0 else w.write(2, 2)
                _datatypes.write_string_literal(w, item)
            elif isinstance(item, AnyElement):
                w.write(1, 3) if state == 0 else w.write(0, 2)
                try:
                    self.enc_any(w, item)
                except ExiError as e:
                    e.path.insert(0, item.tag)
                    raise
            else:
                raise ExiError(INVALID_VALUE, f"content of {el.tag}: AnyElement or str, got {type(item).__name__}")
            state = 1
        w.write(2, 3) if state == 0 else w.write(1, 2)  # EE

    def dec_any(self, r: BitReader) -> AnyElement:
        qn = self.read_qname(r)
        el = AnyElement(tag=clark(*qn))
        hit = self.document_index.get(qn)
        try:
            if hit is not None:
                el.value = hit[1].dec(r)
                return el
            self._dec_builtin(r, el)
        except ExiError as e:
            e.path.insert(0, el.tag)
            raise
        return el

    def _dec_builtin(self, r: BitReader, el: AnyElement) -> None:
        """An unlearned built-in element grammar (EXI §8.4.3; nothing is learned with the profile limits 0):
        StartTagContent {EE 0.0, AT(*) 0.1, SE(*) 0.2, CH 0.3}, ElementContent {EE 0, SE(*) 1.0, CH 1.1}."""
        content = False
        while True:
            start = r.pos
            if content:
                if r.read(1) == 0:
                    return  # EE
                code = 2 + r.read(1)  # SE(*) or CH
            else:
                code = r.read(2)
            if code == 0:
                return
            if code == 1:
                qn = self.read_qname(r)
                if qn == XSI_TYPE:
                    if self.read_qname(r) != XS_ANY_TYPE:
                        raise r.fail(UNSUPPORTED_EVENT, "xsi:type other than xs:anyType on a wildcard element",
                                     start, "built-in element grammar")
                    self._dec_any_type(r, el)
                    return
                if qn[0] == XSI_TYPE[0]:
                    raise r.fail(UNSUPPORTED_EVENT, f"{clark(*qn)} on a wildcard element", start,
                                 "built-in element grammar")
                el.attrib[clark(*qn)] = _datatypes.read_string_literal(r)
            elif code == 2:
                content = True
                el.content.append(self.dec_any(r))
            else:
                content = True
                el.content.append(_datatypes.read_string_literal(r))

    def _dec_any_type(self, r: BitReader, el: AnyElement) -> None:
        """The schema-informed xs:anyType grammar (strict=false): state 0 {AT(*) 0, SE(*) 1, EE 2, CH 3} and an
        escape in 3 bits, state 1 {SE(*) 0, EE 1, CH 2} and an escape in 2 bits."""
        state = 0
        while True:
            start = r.pos
            code = r.read(3) if state == 0 else r.read(2) + 1
            if code == 0:
                qn = self.read_qname(r)
                el.attrib[clark(*qn)] = _datatypes.read_string_literal(r)
            elif code == 1:
                el.content.append(self.dec_any(r))
                state = 1
            elif code == 2:
                return
            elif code == 3:
                el.content.append(_datatypes.read_string_literal(r))
                state = 1
            else:
                raise r.fail(UNSUPPORTED_EVENT if code == 4 else INVALID_EVENT_CODE,
                             "deviation inside xs:anyType content" if code == 4 else f"event code {code}",
                             start, f"xs:anyType state {state}")

    def element_for(self, obj, element, fragment: bool):
        table = self.fragment_index if fragment else self.document_index
        if element is not None:
            qn = self._qname(element, table)
        else:
            cands = (self.fragment_elements_of if fragment else self.elements_of).get(type(obj), [])
            if len(cands) != 1:
                what = "no" if not cands else f"{len(cands)} ({', '.join(c[1] for c in cands)})"
                raise ExiError(INVALID_CONTENT, f"{type(obj).__name__} matches {what} "
                               f"{'fragment' if fragment else 'global'} elements of {self.name}; pass element=")
            qn = cands[0]
        code, g = table[qn]
        return qn, code, g

    def _qname(self, element, table):
        if isinstance(element, tuple):
            if element in table:
                return element
        else:
            local = element.split("}")[-1]
            uri = element[1:].split("}")[0] if element.startswith("{") else None
            hits = [qn for qn in table if qn[1] == local and (uri is None or qn[0] == uri)]
            if len(hits) == 1:
                return hits[0]
        raise ExiError(INVALID_CONTENT, f"{element!r} is not an element of {self.name}")

    # -- streams ---------------------------------------------------------------------------------
    def encode(self, obj, fragment: bool, element=None) -> bytes:
        key = (type(obj), element, fragment)
        hit = self._fast_encoders.get(key)
        if hit is None:
            hit = self._fast_encoders[key] = self._fast_encoder_for(obj, fragment, element)
        code, fast = hit
        if fast is None:
            return self.encode_slow(obj, fragment, element)
        nbits = self.fragment_bits if fragment else self.document_bits
        try:
            a = fast(obj, (((1 << 8) | HEADER) << nbits) | code)
        except Exception:  # noqa: BLE001 - the interpreter below reports the precise error
            return self.encode_slow(obj, fragment, element)
        if fragment:
            a = (a << nbits) | (len(self.fragment) + 1)  # ED
        n = a.bit_length() - 1
        pad = -n & 7
        return ((a << pad) ^ (1 << (n + pad))).to_bytes((n + pad) >> 3, "big")

    def _fast_encoder_for(self, obj, fragment: bool, element):
        try:
            _qn, code, g = self.element_for(obj, element, fragment)
        except ExiError:
            return 0, None
        if not isinstance(g, ComplexGrammar) or type(obj) is not g.cls:
            return code, None
        try:
            return code, self.compiler.encoder(g)
        except _compile.Fallback:
            return code, None

    def encode_slow(self, obj, fragment: bool, element=None) -> bytes:
        qn, code, g = self.element_for(obj, element, fragment)
        if g is None:
            raise ExiError(UNSUPPORTED_EVENT, f"{qn[1]} needs the relaxed element-fragment grammar")
        w = BitWriter()
        w.write(HEADER, 8)
        w.write(code, self.fragment_bits if fragment else self.document_bits)
        g.enc(w, obj)
        if fragment:
            w.write(len(self.fragment) + 1, self.fragment_bits)  # ED
        return w.getvalue()

    def decode(self, data: bytes, fragment: bool):
        if type(data) is not bytes and isinstance(data, (bytearray, memoryview)):
            data = bytes(data)
        if not fragment and type(data) is bytes and len(data) > 1 and data[0] == HEADER:
            end = len(data) * 8
            val = int.from_bytes(data, "big")
            nbits = self.document_bits
            code = (val >> (end - 8 - nbits)) & ((1 << nbits) - 1)
            if code < len(self.document):
                fast = self._fast_decoders[code]
                if fast is None:
                    fast = self._fast_decoders[code] = self._fast_decoder(self.document[code][1])
                try:
                    obj, p = fast(val, end, 8 + nbits)
                    if end - p < 8:
                        return obj
                except Exception:  # noqa: BLE001 - the interpreter below reports the precise error
                    pass
        return self.decode_with_element(data, fragment)[1]

    def _fast_decoder(self, g):
        if not isinstance(g, ComplexGrammar):
            return _no_fast
        try:
            return self.compiler.decoder(g)
        except _compile.Fallback:
            return _no_fast

    def decode_with_element(self, data: bytes, fragment: bool):
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise ExiError(INVALID_VALUE, f"expected bytes, got {type(data).__name__}")
        data = bytes(data)
        if not data:
            raise ExiError(BAD_HEADER, "empty stream", 0)
        if data[0] != HEADER:
            raise ExiError(BAD_HEADER, f"header octet 0x{data[0]:02x}, expected 0x80", 0)
        r = BitReader(data)
        r.pos = 8
        table = self.fragment if fragment else self.document
        nbits = self.fragment_bits if fragment else self.document_bits
        where = f"{'Fragment' if fragment else 'Document'}Content of {self.name}"
        code = r.read(nbits)
        if code >= len(table):
            what = ("SE(*)" if code == len(table) else "ED" if fragment and code == len(table) + 1
                    else f"event code {code}")
            raise r.fail(UNSUPPORTED_EVENT if code <= len(table) + 1 else INVALID_EVENT_CODE,
                         f"{what} where a schema element was expected", 8, where)
        qn, g = table[code]
        if g is None:
            raise r.fail(UNSUPPORTED_EVENT, f"{qn[1]} needs the relaxed element-fragment grammar", 8, where)
        try:
            obj = g.dec(r)
        except ExiError as e:
            e.path.insert(0, qn[1])
            raise
        if fragment:
            start = r.pos
            end = r.read(nbits)
            if end != len(table) + 1:
                raise r.fail(UNSUPPORTED_EVENT, "fragment with more than one element", start, where)
        if r.remaining() >= 8:
            raise r.fail(TRAILING_DATA, f"{r.remaining() // 8} octets after the end of the stream", None, where)
        return qn, obj


def _no_fast(val, end, p):
    raise _compile.Fallback


_LOADED: dict[str, SchemaSet] = {}


def schema_name(schema: str) -> str:
    if schema in SCHEMAS:
        return schema
    alt = schema.replace("_", "-").lower() if isinstance(schema, str) else schema
    if alt in SCHEMAS:
        return alt
    if schema in _ALIASES:
        return _ALIASES[schema]
    raise ExiError(UNKNOWN_SCHEMA, f"unknown schema {schema!r}; use one of {', '.join(SCHEMAS)} or a namespace URI")


def load(schema: str) -> SchemaSet:
    """The schema set for a name or namespace URI (loaded and linked once)."""
    s = _LOADED.get(schema)
    if s is None:
        name = schema_name(schema)
        s = _LOADED.get(name)
        if s is None:
            module = importlib.import_module("exi.generated.grammar_" + name.replace("-", "_"))
            s = _LOADED[name] = SchemaSet(module)
        _LOADED[schema] = s
    return s


def schema_of_object(obj) -> str:
    module = importlib.import_module(type(obj).__module__)
    schema = getattr(module, "SCHEMA", None)
    if schema is None:
        raise ExiError(INVALID_VALUE, f"{type(obj).__name__} is not a generated message class; pass schema=")
    return schema
