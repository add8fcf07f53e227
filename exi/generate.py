"""Generate the typed message classes and EXI grammar tables from the ISO 15118 XSDs.

    python -m exi.generate [--schemas DIR] [--out DIR]

Writes one class module per namespace group (`exi/generated/iso20.py`, ...) and one grammar table module per
schema set (`exi/generated/grammar_iso20.py`, ...). The output is committed; tests/exi regenerates it and fails
on any difference.
"""
from __future__ import annotations

import argparse
import keyword
import os
import sys

from ._build import datatype, type_grammar
from . import _xsd
from ._xsd import ComplexType, SchemaSet, SimpleType
from .wildcard import FIELD as WILDCARD_FIELD

DEFAULT_SCHEMAS = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "schemas")
DEFAULT_OUT = os.path.join(os.path.dirname(__file__), "generated")

# schema set name -> (grammar module, entry XSDs relative to the schema folder)
SETS = {
    "apphand": ("grammar_apphand", ["V2G_CI_AppProtocol.xsd"]),
    "xmldsig": ("grammar_xmldsig", ["xmldsig-core-schema.xsd"]),
    "iso20": ("grammar_iso20", ["iso15118_20/V2G_CI_CommonMessages.xsd"]),
    "iso20-dc": ("grammar_iso20_dc", ["iso15118_20/V2G_CI_DC.xsd"]),
    "iso20-ac": ("grammar_iso20_ac", ["iso15118_20/V2G_CI_AC.xsd"]),
    "iso20-wpt": ("grammar_iso20_wpt", ["iso15118_20/V2G_CI_WPT.xsd"]),
    "iso20-acdp": ("grammar_iso20_acdp", ["iso15118_20/V2G_CI_ACDP.xsd"]),
    "iso2": ("grammar_iso2", ["iso15118_2/V2G_CI_MsgDef.xsd", "iso15118_2/V2G_CI_MsgBody.xsd"]),
    "din": ("grammar_din", ["din_spec/V2G_CI_MsgDef.xsd", "din_spec/V2G_CI_MsgBody.xsd"]),
}

# namespace -> (class module, schema set used when an object of that module is encoded without `schema=`)
MODULES = {
    "urn:iso:15118:2:2010:AppProtocol": ("apphand", "apphand"),
    "http://www.w3.org/2000/09/xmldsig#": ("xmldsig", "xmldsig"),
    "urn:iso:std:iso:15118:-20:CommonTypes": ("iso20_types", "iso20"),
    "urn:iso:std:iso:15118:-20:CommonMessages": ("iso20", "iso20"),
    "urn:iso:std:iso:15118:-20:DC": ("iso20_dc", "iso20-dc"),
    "urn:iso:std:iso:15118:-20:AC": ("iso20_ac", "iso20-ac"),
    "urn:iso:std:iso:15118:-20:WPT": ("iso20_wpt", "iso20-wpt"),
    "urn:iso:std:iso:15118:-20:ACDP": ("iso20_acdp", "iso20-acdp"),
    "urn:iso:15118:2:2013:MsgDef": ("iso2", "iso2"),
    "urn:iso:15118:2:2013:MsgHeader": ("iso2", "iso2"),
    "urn:iso:15118:2:2013:MsgBody": ("iso2", "iso2"),
    "urn:iso:15118:2:2013:MsgDataTypes": ("iso2", "iso2"),
    "urn:din:70121:2012:MsgDef": ("din", "din"),
    "urn:din:70121:2012:MsgHeader": ("din", "din"),
    "urn:din:70121:2012:MsgBody": ("din", "din"),
    "urn:din:70121:2012:MsgDataTypes": ("din", "din"),
}
# convenience re-exports: a module also offers the classes of the namespaces it imports
REEXPORTS = {
    "iso20": ["iso20_types", "xmldsig"], "iso20_dc": ["iso20_types", "xmldsig"],
    "iso20_ac": ["iso20_types", "xmldsig"], "iso20_wpt": ["iso20_types", "xmldsig"],
    "iso20_acdp": ["iso20_types", "xmldsig"], "iso20_types": ["xmldsig"], "iso2": ["xmldsig"], "din": ["xmldsig"],
}
EVENTS = {"AT": 0, "SE": 1, "ANY": 2, "EE": 3, "CH": 4}
XML_NS = "http://www.w3.org/XML/1998/namespace"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
XML_NAMES = ("base", "id", "lang", "space")
XSI_NAMES = ("nil", "type")
# the XML Schema built-in type names that seed the XSD namespace partition (EXI Appendix D.3)
XSD_NAMES = (
    "ENTITIES", "ENTITY", "ID", "IDREF", "IDREFS", "NCName", "NMTOKEN", "NMTOKENS", "NOTATION", "Name", "QName",
    "anySimpleType", "anyType", "anyURI", "base64Binary", "boolean", "byte", "date", "dateTime", "decimal",
    "double", "duration", "float", "gDay", "gMonth", "gMonthDay", "gYear", "gYearMonth", "hexBinary", "int",
    "integer", "language", "long", "negativeInteger", "nonNegativeInteger", "nonPositiveInteger",
    "normalizedString", "positiveInteger", "short", "string", "time", "token", "unsignedByte", "unsignedInt",
    "unsignedLong", "unsignedShort")


def _safe(name: str) -> str:
    return name + "_" if keyword.iskeyword(name) else name


def _cap(name: str) -> str:
    return name[:1].upper() + name[1:]


class _Naming:
    """Class names: the XSD type name without its 'Type' suffix, first letter upper-cased; an anonymous
    type takes its element's name. Where two types of one module would get the same name, both keep
    their full XSD names."""

    def __init__(self):
        self.names: dict[tuple, tuple[str, str]] = {}  # type key -> (module, class name)

    @staticmethod
    def key(t) -> tuple:
        return t.name if t.name is not None else ("element",) + t.anonymous_for

    def assign(self, types: list) -> None:
        wanted: dict[tuple[str, str], list] = {}
        for t in types:
            if self.key(t) in self.names:
                continue
            if t.name is not None:
                module = MODULES[t.name[0]][0]
                nice = _cap(t.name[1][:-4] if t.name[1].endswith("Type") and len(t.name[1]) > 4 else t.name[1])
            else:
                module = MODULES[t.anonymous_for[0]][0]
                nice = _cap(t.anonymous_for[1])
            wanted.setdefault((module, nice), []).append(t)
        taken = {n for n in self.names.values()}
        for (module, nice), ts in wanted.items():
            if len(ts) == 1 and (module, nice) not in taken:
                self.names[self.key(ts[0])] = (module, nice)
            else:
                for t in ts:
                    full = (module, t.name[1] if t.name else t.anonymous_for[1])
                    if full in taken or full in self.names.values():
                        raise SystemExit(f"class name collision for {full}")
                    self.names[self.key(t)] = full

    def __getitem__(self, t) -> tuple[str, str]:
        return self.names[self.key(t)]


def _fields_of(schema: SchemaSet, ct: ComplexType, inherited: bool) -> list[tuple]:
    """(field name, kind, is_list, optional, python type or ComplexType/SimpleType) for the class.
    With inherited=False only the fields this type adds to its base class."""
    out: dict[str, list] = {}
    if ct.simple_content is not None:
        own_value = inherited or not isinstance(ct.base, ComplexType)
        attrs = ct.all_attributes() if inherited else ct.attributes
        for a in sorted(attrs, key=lambda a: (a.qname[1], a.qname[0])):
            out[_safe(a.qname[1])] = ["a", False, not a.required, a.type]
        if own_value:
            out["value"] = ["v", False, False, ct.simple_content]
        return [(k, *v) for k, v in out.items()]
    attrs = ct.all_attributes() if (inherited or ct.derivation != "extension") else ct.attributes
    for a in sorted(attrs, key=lambda a: (a.qname[1], a.qname[0])):
        out[_safe(a.qname[1])] = ["a", False, not a.required, a.type]
    if inherited or ct.derivation != "extension":
        particles = ct.content_particles()
    else:
        particles = [ct.particle] if ct.particle is not None else []

    def walk(p, outer_max, optional):
        mx = None if (outer_max is None or p.max is None) else outer_max * p.max
        opt = optional or p.min == 0
        if p.kind == "element":
            members = schema.substitutes(p.element.qname) if p.element.is_global else [p.element]
            for d in members:
                name = _safe(d.qname[1])
                entry = ["e", mx is None or mx > 1, opt or len(members) > 1, d.type, mx]
                if name in out:
                    prev = out[name]
                    if prev[0] != "e" or prev[3] is not d.type:
                        raise SystemExit(f"field {name} of {ct.name} is declared twice with different types")
                    total = None if (prev[4] is None or mx is None) else prev[4] + mx
                    prev[1] = total is None or total > 1
                    prev[2] = prev[2] and entry[2]
                    prev[4] = total
                else:
                    out[name] = entry
        elif p.kind == "any":
            # every xs:any of a type shares one list field; mixed text goes there too (exi/wildcard.py)
            out.setdefault(WILDCARD_FIELD, ["w", True, True, WILDCARD_FIELD, None])
        elif p.kind in ("sequence", "choice"):
            child_opt = opt or (p.kind == "choice" and len(p.children) > 1)
            for c in p.children:
                walk(c, mx, child_opt)

    for p in particles:
        walk(p, 1, False)
    return [(k, v[0], v[1], v[2], v[3]) for k, v in out.items()]


class Generator:
    def __init__(self, schema_root: str):
        self.schema_root = schema_root
        self.sets = {name: SchemaSet(entries, schema_root) for name, (_m, entries) in SETS.items()}
        self.naming = _Naming()
        self.enums: dict[tuple, tuple[str, str]] = {}  # simple type qname -> (module, enum class)
        self.classes: dict[str, dict[str, str]] = {}  # module -> class name -> source
        self.inputs: dict[str, set[str]] = {}  # module -> XSD inputs
        for name, s in self.sets.items():
            types = sorted((t for t in s.complex_types.values()), key=lambda t: t.name) + s.anonymous_types
            self.naming.assign(types)
            self._assign_enums(s)

    # -- names -----------------------------------------------------------------------------------
    def _assign_enums(self, s: SchemaSet) -> None:
        for qn, st in sorted(s.simple_types.items()):
            if st.enumeration and qn not in self.enums and st.name == qn:
                module = MODULES[qn[0]][0]
                nice = _cap(qn[1][:-4] if qn[1].endswith("Type") else qn[1])
                taken = set(self.naming.names.values()) | set(self.enums.values())
                self.enums[qn] = (module, nice if (module, nice) not in taken else qn[1])

    def enum_of(self, st: SimpleType):
        t = st
        while t is not None:
            if t.name in self.enums and t.enumeration == st.enumeration:
                return self.enums[t.name]
            t = t.base
        return None

    def _pytype(self, t, module: str) -> str:
        if t == WILDCARD_FIELD:
            return "AnyElement | str"
        if isinstance(t, ComplexType):
            m, n = self.naming[t]
            return n if m == module else f"_{m}.{n}"
        e = self.enum_of(t)
        if e is not None:
            return e[1] if e[0] == module else f"_{e[0]}.{e[1]}"
        kind = datatype(t)[0]
        return {"nbit": "int", "uint": "int", "int": "int", "str": "str", "hex": "bytes", "b64": "bytes",
                "bool": "bool", "enum": "str"}[kind]

    # -- class modules ---------------------------------------------------------------------------
    def build_classes(self) -> dict[str, str]:
        per_module: dict[str, dict[str, tuple]] = {}
        for sname, s in self.sets.items():
            types = sorted(s.complex_types.values(), key=lambda t: t.name) + s.anonymous_types
            for t in types:
                module, cname = self.naming[t]
                src = self._class_source(s, t, module, cname)
                prev = per_module.setdefault(module, {}).get(cname)
                if prev is not None and prev[0] != src:
                    raise SystemExit(f"{module}.{cname} differs between schema sets ({sname})")
                per_module[module][cname] = (src, t)
                self.inputs.setdefault(module, set()).update(s.relative_inputs())
            for qn, (module, ename) in self.enums.items():
                if qn in s.simple_types:
                    st = s.simple_types[qn]
                    per_module.setdefault(module, {})[ename] = (self._enum_source(ename, st), st)
                    self.inputs.setdefault(module, set()).update(s.relative_inputs())
        out = {}
        for module, classes in sorted(per_module.items()):
            out[module] = self._module_source(module, classes)
        return out

    def _enum_source(self, name: str, st: SimpleType) -> str:
        lines = [f"class {name}(str, Enum):", f'    """XSD {st.name[1]} ({{{st.name[0]}}})."""']
        for v in st.enumeration:
            member = "".join(c if c.isalnum() or c == "_" else "_" for c in v)
            if not member or member[0].isdigit() or keyword.iskeyword(member):
                member = "_" + member
            lines.append(f"    {member} = {v!r}")
        return "\n".join(lines) + "\n"

    def _class_source(self, s: SchemaSet, t: ComplexType, module: str, cname: str) -> str:
        base = ""
        inherited = not (t.derivation == "extension" and isinstance(t.base, ComplexType))
        if not inherited:
            bm, bn = self.naming[t.base]
            base = bn if bm == module else f"_{bm}.{bn}"
        fields = _fields_of(s, t, inherited)
        origin = t.name if t.name else ("element",) + t.anonymous_for
        doc = (f"XSD type {{{origin[0]}}}{origin[1]}" if t.name else
               f"anonymous type of element {{{origin[1]}}}{origin[2]}")
        if t.abstract:
            doc += " (abstract)"
        lines = ["@dataclass(slots=True, kw_only=True)", f"class {cname}({base}):" if base else f"class {cname}:", f'    """{doc}."""']
        for fname, kind, is_list, optional, ftype in fields:
            py = self._pytype(ftype, module)
            if is_list:
                ann = f"list[{py}]"
                lines.append(f"    {fname}: {ann}" + (" = field(default_factory=list)" if optional else ""))
            else:
                lines.append(f"    {fname}: {py}" + (" | None = None" if optional else ""))
        return "\n".join(lines) + "\n"

    def _module_source(self, module: str, classes: dict[str, tuple]) -> str:
        deps = sorted({m[0] for m in MODULES.values() if m[0] != module})
        body = []
        # a class must follow its base class
        emitted: set[str] = set()
        order = sorted(classes)

        def emit(name):
            if name in emitted:
                return
            src, t = classes[name]
            if isinstance(t, ComplexType) and t.derivation == "extension" and isinstance(t.base, ComplexType):
                bm, bn = self.naming[t.base]
                if bm == module:
                    emit(bn)
            emitted.add(name)
            body.append(src)

        for name in order:
            emit(name)
        used = [d for d in deps if f"_{d}." in "".join(body)]
        schema_set = {m: s for m, s in MODULES.values()}[module]
        head = [
            self._header(sorted(self.inputs[module])),
            f'"""Typed classes for {", ".join(sorted(ns for ns, m in MODULES.items() if m[0] == module))}."""',
            "from __future__ import annotations", "",
            "from dataclasses import dataclass, field", "from enum import Enum", "",
        ]
        head += [f"from . import {d} as _{d}" for d in used]
        if "AnyElement" in "".join(body):
            head.append("from ..wildcard import AnyElement  # noqa: F401  (xs:any content)")
        for r in REEXPORTS.get(module, []):
            head.append(f"from .{r} import *  # noqa: F401,F403  (re-export)")
        head += [f"from . import {r} as _{r}" for r in REEXPORTS.get(module, []) if r not in used]
        head += ["", f"SCHEMA = {schema_set!r}",
                 "__all__ = [" + ", ".join(repr(n) for n in sorted(classes)) + "]" +
                 "".join(f" + _{r}.__all__" for r in REEXPORTS.get(module, [])), ""]
        return "\n".join(head) + "\n\n" + "\n\n".join(body)

    @staticmethod
    def _header(inputs) -> str:
        return "# Generated by `python -m exi.generate` from " + ", ".join(inputs) + "; do not edit."

    # -- grammar tables --------------------------------------------------------------------------
    def build_grammars(self, name: str) -> str:
        s = self.sets[name]
        gindex: dict[int, int] = {}
        entries: list[str] = []
        dts: dict[tuple, int] = {}
        dt_src: list[str] = []
        modules: set[str] = set()
        rows: dict[tuple, int] = {}
        row_src: list[str] = []

        def dt(st: SimpleType) -> int:
            d = datatype(st)
            e = self.enum_of(st) if d[0] == "enum" else None
            key = (d, e)
            if key not in dts:
                dts[key] = len(dt_src)
                if e is not None:
                    modules.add(e[0])
                    dt_src.append(f"    ({d[0]!r}, {d[1]!r}, _{e[0]}.{e[1]}),")
                else:
                    dt_src.append(f"    {d!r},")
            return dts[key]

        def grammar_of(t) -> int:
            if id(t) in gindex:
                return gindex[id(t)]
            idx = len(entries)
            gindex[id(t)] = idx
            entries.append(None)
            if isinstance(t, SimpleType):
                entries[idx] = f"    ('simple', {dt(t)}),  # {idx}"
                return idx
            module, cname = self.naming[t]
            modules.add(module)
            fields = _fields_of(s, t, True)
            states = type_grammar(s, t)
            ids = []
            for i, st in enumerate(states):
                prods = []
                for p in st.productions:
                    ev = EVENTS[p.event]
                    rel = p.target - i if p.target >= 0 else 0  # relative: unrolled positions share rows
                    if p.event == "AT":
                        prods.append((ev, p.qname[0], p.qname[1], _safe(p.qname[1]), dt(p.attr_type), rel))
                    elif p.event == "SE":
                        prods.append((ev, p.qname[0], p.qname[1], _safe(p.qname[1]), grammar_of(p.decl.type), rel))
                    elif p.event == "CH" and p.attr_type is not None:
                        prods.append((ev, None, None, "value", dt(p.attr_type), rel))
                    elif p.event == "ANY":  # (namespace constraint, processContents) in the qname slots
                        prods.append((ev, p.qname[0], p.qname[1], WILDCARD_FIELD, -1, rel))
                    else:  # EE, or untyped text of a mixed type (kept in the wildcard field)
                        prods.append((ev, None, None, None, -1, rel))
                row = (st.kind, tuple(prods))
                if row not in rows:
                    rows[row] = len(row_src)
                    row_src.append(f"    {row!r},")
                ids.append(rows[row])
            fsrc = tuple((f[0], f[1], f[2]) for f in fields)
            entries[idx] = f"    (_{module}.{cname}, {cname!r}, {fsrc!r}, {tuple(ids)!r}),  # {idx}"
            return idx

        doc = []
        for qn in sorted(s.global_elements, key=lambda q: (q[1], q[0])):
            doc.append((qn[0], qn[1], grammar_of(s.global_elements[qn].type)))
        decls: dict[tuple, list] = {}
        for d in list(s.global_elements.values()) + s.local_elements:
            decls.setdefault(d.qname, []).append(d)
        frag = []
        relaxed = []
        for qn in sorted(decls, key=lambda q: (q[1], q[0])):
            ds = decls[qn]
            same = all(d.type is ds[0].type for d in ds)
            frag.append((qn[0], qn[1], grammar_of(ds[0].type) if same else -1))
            if not same:
                relaxed.append((qn[0], qn[1], tuple(dict.fromkeys(grammar_of(d.type) for d in ds))))
        # every remaining type, so each generated class is encodable in this set
        for t in sorted(s.complex_types.values(), key=lambda t: t.name) + s.anonymous_types:
            grammar_of(t)
        types = [(qn[0], qn[1], gindex[id(t)]) for qn, t in sorted(s.complex_types.items())]
        # initial qname string table (EXI §7.3.1, Appendix D): URIs, then local names per URI
        names: dict[str, set] = {"": set(), XML_NS: set(XML_NAMES), XSI_NS: set(XSI_NAMES), _xsd.XS: set(XSD_NAMES)}
        for d in list(s.global_elements.values()) + s.local_elements:
            names.setdefault(d.qname[0], set()).add(d.qname[1])
        for t in list(s.complex_types.values()) + s.anonymous_types:
            for a in t.attributes:
                names.setdefault(a.qname[0], set()).add(a.qname[1])
        for qn in list(s.complex_types) + [q for q in s.simple_types if q[0] != _xsd.XS]:
            names.setdefault(qn[0], set()).add(qn[1])
        uris = ["", XML_NS, XSI_NS, _xsd.XS] + sorted(u for u in names if u not in ("", XML_NS, XSI_NS, _xsd.XS))
        qname_table = tuple((u, tuple(sorted(names[u]))) for u in uris)
        lines = [
            self._header(s.relative_inputs()),
            f'"""EXI grammar tables for schema set {name!r} (event codes: AT 0, SE 1, SE(*) 2, EE 3, CH 4)."""',
            "from . import " + ", ".join(f"{m} as _{m}" for m in sorted(modules)), "",
            f"NAME = {name!r}",
            "NAMESPACES = " + repr(tuple(s.namespaces)),
            "# (uri, local, grammar) for DocContent, sorted by (local, uri)",
            "DOCUMENT = (\n" + "".join(f"    {d!r},\n" for d in doc) + ")",
            "# (uri, local, grammar or -1 when the relaxed element-fragment grammar would be needed)",
            "FRAGMENT = (\n" + "".join(f"    {f!r},\n" for f in frag) + ")",
            "# (uri, local, grammars of its declarations) of each qname using the relaxed element-fragment grammar",
            "RELAXED = (\n" + "".join(f"    {r!r},\n" for r in relaxed) + ")",
            "# named complex types (uri, local, grammar), for xsi:type",
            "TYPES = (\n" + "".join(f"    {t!r},\n" for t in types) + ")",
            "# initial qname string table: (uri, sorted local names) in URI partition order",
            "QNAMES = (\n" + "".join(f"    {q!r},\n" for q in qname_table) + ")",
            "DATATYPES = (\n" + "\n".join(dt_src) + "\n)",
            "# state rows: (kind, productions); production: (event, uri, local, field, grammar or datatype,",
            "# target state relative to the current one); SE(*) has (namespace constraint, processContents) as uri, local",
            "ROWS = (\n" + "\n".join(row_src) + "\n)",
            "# complex: (class, name, fields (name, a|e|v, is_list) in encoding order, state rows)",
            "GRAMMARS = (\n" + "\n".join(entries) + "\n)",
        ]
        return "\n".join(lines) + "\n"

    def write(self, out_dir: str) -> list[str]:
        os.makedirs(out_dir, exist_ok=True)
        written = []
        files = {f"{m}.py": src for m, src in self.build_classes().items()}
        for name, (module, _e) in SETS.items():
            files[f"{module}.py"] = self.build_grammars(name)
        files["__init__.py"] = (self._header(sorted({i for v in self.inputs.values() for i in v})) +
                                '\n"""Generated typed classes and grammar tables; never edit by hand."""\n')
        for fname, src in sorted(files.items()):
            path = os.path.join(out_dir, fname)
            with open(path, "w", encoding="utf-8") as f:
                f.write(src)
            written.append(path)
        return written


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m exi.generate", description=__doc__.splitlines()[0])
    ap.add_argument("--schemas", default=DEFAULT_SCHEMAS, help="folder holding the XSDs (../shared/schemas)")
    ap.add_argument("--out", default=DEFAULT_OUT, help="output folder (exi/generated)")
    args = ap.parse_args(argv)
    for path in Generator(os.path.normpath(args.schemas)).write(args.out):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
