"""Load a set of XSD files (lxml) into a small schema model: element declarations, types, particles.

Only what the ISO 15118 schemas use is modelled; anything else raises `SchemaUnsupported` so the
generator never silently produces a wrong grammar.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from lxml import etree

XS = "http://www.w3.org/2001/XMLSchema"
_XS = "{%s}" % XS

QName = tuple[str, str]  # (namespace URI, local name)
_PARSER = etree.XMLParser(remove_comments=True, remove_pis=True)


class SchemaUnsupported(Exception):
    pass


@dataclass
class SimpleType:
    name: QName | None
    base: "SimpleType | None"  # None for XSD built-ins
    builtin: str  # local name of the XSD built-in the chain ends in
    enumeration: tuple[str, ...] = ()
    min_inclusive: int | None = None
    max_inclusive: int | None = None
    length: int | None = None
    min_length: int | None = None
    max_length: int | None = None


@dataclass
class Particle:
    kind: str  # "element" | "sequence" | "choice" | "any"
    min: int
    max: int | None  # None = unbounded
    element: "ElementDecl | None" = None
    children: list["Particle"] = field(default_factory=list)
    namespace: str = "##any"
    process_contents: str = "strict"


@dataclass
class AttributeUse:
    qname: QName
    type: SimpleType
    required: bool


@dataclass
class ComplexType:
    name: QName | None
    abstract: bool = False
    mixed: bool = False
    base: "ComplexType | None" = None
    derivation: str | None = None  # "extension" | "restriction"
    attributes: list[AttributeUse] = field(default_factory=list)  # own uses only
    particle: Particle | None = None  # own particle only
    simple_content: SimpleType | None = None
    anonymous_for: QName | None = None  # element whose anonymous type this is

    def all_attributes(self) -> list[AttributeUse]:
        uses = {}
        if self.base is not None:
            for a in self.base.all_attributes():
                uses[a.qname] = a
        for a in self.attributes:
            uses[a.qname] = a
        return sorted(uses.values(), key=lambda a: (a.qname[1], a.qname[0]))

    def content_particles(self) -> list[Particle]:
        """Effective content as a list of particles to concatenate (base content first for extension)."""
        if self.simple_content is not None:
            return []
        own = [self.particle] if self.particle is not None else []
        if self.derivation == "extension" and self.base is not None:
            return self.base.content_particles() + own
        return own


@dataclass
class ElementDecl:
    qname: QName
    type: "ComplexType | SimpleType"
    is_global: bool
    abstract: bool = False
    substitution_head: QName | None = None


_INT_RANGES = {
    "byte": (-128, 127), "short": (-(1 << 15), (1 << 15) - 1), "int": (-(1 << 31), (1 << 31) - 1),
    "long": (-(1 << 63), (1 << 63) - 1), "integer": (None, None),
    "unsignedByte": (0, 255), "unsignedShort": (0, 65535), "unsignedInt": (0, (1 << 32) - 1),
    "unsignedLong": (0, (1 << 64) - 1), "nonNegativeInteger": (0, None), "positiveInteger": (1, None),
    "nonPositiveInteger": (None, 0), "negativeInteger": (None, -1),
}
_STRINGS = {"string", "anyURI", "ID", "IDREF", "NCName", "token", "normalizedString", "Name", "language", "NMTOKEN"}
_BINARIES = {"hexBinary", "base64Binary"}
BUILTINS = set(_INT_RANGES) | _STRINGS | _BINARIES | {"boolean"}


def builtin_kind(builtin: str) -> str:
    if builtin in _INT_RANGES:
        return "integer"
    if builtin in _STRINGS:
        return "string"
    if builtin in _BINARIES:
        return builtin
    if builtin == "boolean":
        return "boolean"
    raise SchemaUnsupported(f"built-in type xs:{builtin}")


def builtin_range(builtin: str) -> tuple[int | None, int | None]:
    return _INT_RANGES[builtin]


class SchemaSet:
    """All declarations reachable from the entry XSD files."""

    def __init__(self, entry_files: list[str], schema_root: str):
        self.schema_root = schema_root
        self.docs: dict[str, etree._Element] = {}
        self._by_namespace = self._index_namespaces(schema_root)
        for f in entry_files:
            self._load(os.path.join(schema_root, f))
        self.global_elements: dict[QName, ElementDecl] = {}
        self.complex_types: dict[QName, ComplexType] = {}
        self.simple_types: dict[QName, SimpleType] = {}
        self.anonymous_types: list[ComplexType] = []
        self.local_elements: list[ElementDecl] = []
        self._raw_types: dict[QName, etree._Element] = {}
        self._raw_elements: dict[QName, etree._Element] = {}
        for root in self.docs.values():
            tns = root.get("targetNamespace", "")
            for child in root:
                if child.tag in (_XS + "complexType", _XS + "simpleType"):
                    self._raw_types[(tns, child.get("name"))] = child
                elif child.tag == _XS + "element":
                    self._raw_elements[(tns, child.get("name"))] = child
        for qn in sorted(self._raw_types):
            self._type(qn)
        for qn in sorted(self._raw_elements):
            self._global_element(qn)
        self.namespaces = sorted({qn[0] for qn in self._raw_types} | {qn[0] for qn in self._raw_elements})

    # -- loading ---------------------------------------------------------------------------------
    @staticmethod
    def _index_namespaces(schema_root: str) -> dict[str, str]:
        """Map each target namespace to its file, for imports whose schemaLocation is wrong."""
        index = {}
        for dirpath, _dirs, files in os.walk(schema_root):
            for f in sorted(files):
                if f.endswith(".xsd"):
                    p = os.path.join(dirpath, f)
                    index.setdefault(etree.parse(p, _PARSER).getroot().get("targetNamespace", ""), p)
        return index

    def _load(self, path: str) -> None:
        path = os.path.normpath(path)
        if path in self.docs:
            return
        root = etree.parse(path, _PARSER).getroot()
        self.docs[path] = root
        for imp in root.iter(_XS + "import", _XS + "include"):
            loc = imp.get("schemaLocation")
            target = os.path.normpath(os.path.join(os.path.dirname(path), loc)) if loc else None
            if target is None or not os.path.exists(target):
                # -2 and DIN import xmldsig from a location that does not exist next to them
                target = self._by_namespace[imp.get("namespace")]
            self._load(target)

    def relative_inputs(self) -> list[str]:
        return sorted(os.path.relpath(p, self.schema_root) for p in self.docs)

    # -- resolution ------------------------------------------------------------------------------
    @staticmethod
    def _resolve(node: etree._Element, value: str) -> QName:
        prefix, _, local = value.rpartition(":")
        uri = node.nsmap.get(prefix or None, "")
        return (uri or "", local)

    def _type_ref(self, node, value) -> "ComplexType | SimpleType":
        qn = self._resolve(node, value)
        if qn[0] == XS:
            return self._builtin(qn[1])
        return self._type(qn)

    def _builtin(self, local: str) -> SimpleType:
        key = (XS, local)
        if key not in self.simple_types:
            if local not in BUILTINS:
                raise SchemaUnsupported(f"built-in type xs:{local}")
            self.simple_types[key] = SimpleType(name=key, base=None, builtin=local)
        return self.simple_types[key]

    def _type(self, qn: QName):
        if qn in self.complex_types:
            return self.complex_types[qn]
        if qn in self.simple_types:
            return self.simple_types[qn]
        if qn not in self._raw_types:
            raise SchemaUnsupported(f"unknown type {qn}")
        node = self._raw_types[qn]
        if node.tag == _XS + "simpleType":
            st = self._simple(node, qn)
            self.simple_types[qn] = st
            return st
        ct = ComplexType(name=qn)
        self.complex_types[qn] = ct
        self._fill_complex(ct, node)
        return ct

    def _simple(self, node, name) -> SimpleType:
        children = [c for c in node if c.tag != _XS + "annotation"]
        if len(children) != 1 or children[0].tag != _XS + "restriction":
            raise SchemaUnsupported(f"simple type {name}: only restrictions are used by these schemas")
        return self._restriction(children[0], name)

    def _restriction(self, r, name) -> SimpleType:
        base_ref = r.get("base")
        if base_ref is not None:
            base = self._type_ref(r, base_ref)
        else:
            inner = r.find(_XS + "simpleType")
            base = self._simple(inner, None)
        if isinstance(base, ComplexType):
            raise SchemaUnsupported(f"simple type {name} restricts a complex type")
        st = SimpleType(name=name, base=base, builtin=base.builtin, enumeration=base.enumeration,
                        min_inclusive=base.min_inclusive, max_inclusive=base.max_inclusive,
                        length=base.length, min_length=base.min_length, max_length=base.max_length)
        enums = []
        for f in r:
            tag = etree.QName(f).localname
            v = f.get("value")
            if tag == "enumeration":
                enums.append(v)
            elif tag == "minInclusive":
                st.min_inclusive = int(v)
            elif tag == "maxInclusive":
                st.max_inclusive = int(v)
            elif tag == "minExclusive":
                st.min_inclusive = int(v) + 1
            elif tag == "maxExclusive":
                st.max_inclusive = int(v) - 1
            elif tag == "length":
                st.length = int(v)
            elif tag == "minLength":
                st.min_length = int(v)
            elif tag == "maxLength":
                st.max_length = int(v)
            elif tag in ("annotation", "simpleType"):
                continue
            else:
                raise SchemaUnsupported(f"facet {tag} in {name}")
        if enums:
            st.enumeration = tuple(enums)
        return st

    def _fill_complex(self, ct: ComplexType, node) -> None:
        ct.abstract = node.get("abstract") == "true"
        ct.mixed = node.get("mixed") == "true"
        for child in node:
            tag = etree.QName(child).localname
            if tag == "annotation":
                continue
            if tag in ("sequence", "choice"):
                ct.particle = self._particle(child)
            elif tag == "attribute":
                ct.attributes.append(self._attribute(child))
            elif tag == "complexContent":
                if child.get("mixed") == "true":
                    ct.mixed = True
                self._derivation(ct, child, simple=False)
            elif tag == "simpleContent":
                self._derivation(ct, child, simple=True)
            else:
                raise SchemaUnsupported(f"{tag} in complex type {ct.name}")

    def _derivation(self, ct, content, simple: bool) -> None:
        der = [c for c in content if c.tag != _XS + "annotation"][0]
        ct.derivation = etree.QName(der).localname
        base = self._type_ref(der, der.get("base"))
        if simple:
            if isinstance(base, ComplexType):
                ct.simple_content = base.simple_content
                ct.base = base
            else:
                ct.simple_content = base
            if ct.derivation != "extension":
                raise SchemaUnsupported(f"simpleContent restriction in {ct.name}")
        else:
            ct.base = base
            if ct.base.mixed:
                ct.mixed = ct.mixed or ct.derivation == "extension"
        for c in der:
            tag = etree.QName(c).localname
            if tag in ("sequence", "choice"):
                ct.particle = self._particle(c)
            elif tag == "attribute":
                ct.attributes.append(self._attribute(c))
            elif tag != "annotation":
                raise SchemaUnsupported(f"{tag} in derivation of {ct.name}")

    def _occurs(self, node) -> tuple[int, int | None]:
        mx = node.get("maxOccurs", "1")
        return int(node.get("minOccurs", "1")), (None if mx == "unbounded" else int(mx))

    def _particle(self, node) -> Particle:
        tag = etree.QName(node).localname
        mn, mx = self._occurs(node)
        if tag in ("sequence", "choice"):
            kids = [self._particle(c) for c in node if c.tag != _XS + "annotation"]
            return Particle(tag, mn, mx, children=kids)
        if tag == "any":
            return Particle("any", mn, mx, namespace=node.get("namespace", "##any"),
                            process_contents=node.get("processContents", "strict"))
        if tag == "element":
            if node.get("ref"):
                decl = self._global_element(self._resolve(node, node.get("ref")))
            else:
                decl = self._local_element(node)
            return Particle("element", mn, mx, element=decl)
        raise SchemaUnsupported(f"particle {tag}")

    def _attribute(self, node) -> AttributeUse:
        root = node.getroottree().getroot()
        qualified = node.get("form", root.get("attributeFormDefault", "unqualified")) == "qualified"
        uri = root.get("targetNamespace", "") if qualified else ""
        t = self._type_ref(node, node.get("type")) if node.get("type") else self._simple(
            node.find(_XS + "simpleType"), None)
        return AttributeUse((uri, node.get("name")), t, node.get("use") == "required")

    def _element_type(self, node, qn):
        if node.get("type"):
            return self._type_ref(node, node.get("type"))
        st = node.find(_XS + "simpleType")
        if st is not None:
            return self._simple(st, None)
        ctn = node.find(_XS + "complexType")
        if ctn is not None:
            ct = ComplexType(name=None, anonymous_for=qn)
            self.anonymous_types.append(ct)
            self._fill_complex(ct, ctn)
            return ct
        raise SchemaUnsupported(f"element {qn} without a type (xs:anyType is not used by these schemas)")

    def _global_element(self, qn: QName) -> ElementDecl:
        if qn in self.global_elements:
            return self.global_elements[qn]
        node = self._raw_elements[qn]
        decl = ElementDecl(qname=qn, type=None, is_global=True, abstract=node.get("abstract") == "true")
        self.global_elements[qn] = decl
        if node.get("substitutionGroup"):
            decl.substitution_head = self._resolve(node, node.get("substitutionGroup"))
        decl.type = self._element_type(node, qn)
        return decl

    def _local_element(self, node) -> ElementDecl:
        root = node.getroottree().getroot()
        qualified = node.get("form", root.get("elementFormDefault", "unqualified")) == "qualified"
        qn = (root.get("targetNamespace", "") if qualified else "", node.get("name"))
        decl = ElementDecl(qname=qn, type=None, is_global=False)
        decl.type = self._element_type(node, qn)
        self.local_elements.append(decl)
        return decl

    def substitutes(self, head: QName) -> list[ElementDecl]:
        """The head and every global element whose substitution chain reaches it, sorted by (local, uri)."""
        out = []
        for qn, d in self.global_elements.items():
            h = qn
            while h is not None:
                if h == head:
                    out.append(d)
                    break
                h = self.global_elements[h].substitution_head if h in self.global_elements else None
        return sorted(out, key=lambda d: (d.qname[1], d.qname[0]))
