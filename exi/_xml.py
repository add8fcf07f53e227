"""XML in and out (lxml) for the typed classes, driven by the same grammar tables as the codec, so XML that
parses here is also valid EXI content (element order, attributes, facets)."""
from __future__ import annotations

from lxml import etree

from ._codec import AT, SE, ComplexGrammar, ElementFragmentGrammar, load, schema_of_object
from .errors import INVALID_CONTENT, INVALID_XML, UNKNOWN_SCHEMA, ExiError
from .wildcard import FIELD as WILDCARD, AnyElement, split_name

PREFIXES = {
    "urn:iso:15118:2:2010:AppProtocol": "app",
    "http://www.w3.org/2000/09/xmldsig#": "ds",
    "urn:iso:std:iso:15118:-20:CommonMessages": "cm",
    "urn:iso:std:iso:15118:-20:CommonTypes": "ct",
    "urn:iso:std:iso:15118:-20:DC": "dc",
    "urn:iso:std:iso:15118:-20:AC": "ac",
    "urn:iso:std:iso:15118:-20:WPT": "wpt",
    "urn:iso:std:iso:15118:-20:ACDP": "acdp",
    "urn:iso:15118:2:2013:MsgDef": "v2gci_d", "urn:iso:15118:2:2013:MsgHeader": "v2gci_h",
    "urn:iso:15118:2:2013:MsgBody": "v2gci_b", "urn:iso:15118:2:2013:MsgDataTypes": "v2gci_t",
    "urn:din:70121:2012:MsgDef": "v2gci_d", "urn:din:70121:2012:MsgHeader": "v2gci_h",
    "urn:din:70121:2012:MsgBody": "v2gci_b", "urn:din:70121:2012:MsgDataTypes": "v2gci_t",
}
_PARSER = etree.XMLParser(remove_comments=True, remove_pis=True, resolve_entities=False, no_network=True)


def parse(xml, schema: str | None = None, fragment: bool | None = None):
    """XML text → (schema set, element qname, typed object)."""
    if isinstance(xml, etree._Element):
        root = xml
    else:
        try:
            root = etree.fromstring(xml.encode("utf-8") if isinstance(xml, str) else xml, _PARSER)
        except etree.XMLSyntaxError as e:
            raise ExiError(INVALID_XML, str(e)) from None
    qn = etree.QName(root)
    ns = qn.namespace or ""
    try:
        ss = load(schema if schema is not None else ns)
    except ExiError:
        if schema is None:
            raise ExiError(UNKNOWN_SCHEMA, f"root namespace {ns!r} is not one of the schema sets; pass schema=")
        raise
    key = (ns, qn.localname)
    hit = None
    if fragment is not True:
        hit = ss.document_index.get(key)
    if hit is None and fragment is not False:
        hit = ss.fragment_index.get(key)
    if hit is None or hit[1] is None:
        raise ExiError(INVALID_CONTENT, f"{qn.localname} is not a{' global' if not fragment else 'n'} element of "
                       f"{ss.name}")
    g = hit[1]
    return ss, key, _value(root, g)


XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"


def _value(el, g):
    if isinstance(g, ElementFragmentGrammar):
        attrs = {(etree.QName(k).namespace or "", etree.QName(k).localname): v for k, v in el.attrib.items()}
        children = []
        for child in el:
            q = etree.QName(child)
            hit = g.schema.fragment_index.get((q.namespace or "", q.localname))
            if hit is None:
                raise ExiError(INVALID_CONTENT, f"element {q.localname} not allowed in {g.name}")
            children.append(((q.namespace or "", q.localname), _value(child, hit[1])))
        return g.build(attrs, el.text or "", children)
    if isinstance(g, ComplexGrammar):
        xsi_type = el.get(XSI_TYPE)
        if xsi_type is not None:
            prefix, _, local = xsi_type.strip().rpartition(":")
            derived = g.schema.type_by_qname.get((el.nsmap.get(prefix or None, ""), local))
            if derived is None or not issubclass(derived.cls, g.cls):
                raise ExiError(INVALID_CONTENT, f"xsi:type {xsi_type!r} is not a type derived from {g.name}")
            g = derived
        return _object(el, g)
    if len(el):
        raise ExiError(INVALID_CONTENT, f"{etree.QName(el).localname} has a simple type but child elements")
    return g.dt.from_text(el.text or "", etree.QName(el).localname)


def _object(el, g: ComplexGrammar):
    states = g.states
    i = 0
    st = states[0]
    kw = {}
    attrs = []
    for k, v in el.attrib.items():
        if k == XSI_TYPE:
            continue
        q = etree.QName(k)
        attrs.append(((q.localname, q.namespace or ""), v))
    for (local, uri), v in sorted(attrs):
        hit = st.by_qname.get((uri, local))
        if hit is None:
            raise ExiError(INVALID_CONTENT, f"attribute {'{' + uri + '}' if uri else ''}{local} not allowed here",
                           None, f"{g.name} state {i}")
        _code, field, dt, rel, _ev = hit
        kw[field] = dt.from_text(v, g.name)
        i += rel
        st = states[i]
    text = st.by_qname.get("#text")
    if text is not None:
        _code, field, dt, rel, _ev = text
        kw[field] = dt.from_text(el.text or "", g.name)
        i += rel
        st = states[i]
    wild = kw.setdefault(WILDCARD, []) if g.wild else None
    _text(wild, el.text)
    for child in el:
        q = etree.QName(child)
        hit = st.by_qname.get((q.namespace or "", q.localname))
        if hit is None and wild is not None:
            hit = st.by_qname.get("*")
        if hit is None:
            raise ExiError(INVALID_CONTENT, f"element {q.localname} not allowed here", None, f"{g.name} state {i}")
        _code, field, cg, rel, _ev = hit
        v = _any_element(child, g.schema) if field == WILDCARD else _value(child, cg)
        if field in g.lists:
            kw.setdefault(field, []).append(v)
        else:
            kw[field] = v
        _text(wild, child.tail)
        i += rel
        st = states[i]
    if st.ee is None:
        raise ExiError(INVALID_CONTENT, f"{etree.QName(el).localname} is missing mandatory content", None,
                       f"{g.name} state {i}")
    return g.cls(**kw)


def _text(wild, text) -> None:
    """Text of a type with wildcard content (the mixed xmldsig types); whitespace between elements is dropped."""
    if wild is not None and text and not text.isspace():
        wild.append(text)


def _any_element(el, ss) -> AnyElement:
    """An element matched by xs:any: typed when it is a global element of the schema set (exi/wildcard.py)."""
    q = etree.QName(el)
    hit = ss.document_index.get((q.namespace or "", q.localname))
    if hit is not None:
        return AnyElement(tag=el.tag, value=_value(el, hit[1]))
    content = [el.text] if el.text else []
    for child in el:
        content.append(_any_element(child, ss))
        if child.tail:
            content.append(child.tail)
    return AnyElement(tag=el.tag, attrib=dict(el.attrib), content=content)


def _append_text(el, text: str) -> None:
    if len(el):
        el[-1].tail = (el[-1].tail or "") + text
    else:
        el.text = (el.text or "") + text


def _fill_any(parent, item, ss) -> None:
    if isinstance(item, str):
        _append_text(parent, item)
        return
    if not isinstance(item, AnyElement):
        raise ExiError(INVALID_CONTENT, f"wildcard items are AnyElement or str, got {type(item).__name__}")
    sub = etree.SubElement(parent, item.tag)
    if item.value is not None:
        hit = ss.document_index.get(split_name(item.tag))
        if hit is None:
            raise ExiError(INVALID_CONTENT, f"{item.tag} is not a global element of {ss.name}: use attrib/content")
        _fill(sub, hit[1], item.value)
        return
    for name, value in item.attrib.items():
        sub.set(name, value)
    for c in item.content:
        _fill_any(sub, c, ss)


def to_element(obj, schema: str | None = None, element=None) -> etree._Element:
    ss = load(schema if schema is not None else schema_of_object(obj))
    try:
        qn, _code, g = ss.element_for(obj, element, fragment=False)
    except ExiError:
        qn, _code, g = ss.element_for(obj, element, fragment=True)
    nsmap = {PREFIXES.get(u, f"ns{i}"): u for i, u in enumerate(ss.namespaces) if u}
    root = etree.Element("{%s}%s" % qn if qn[0] else qn[1], nsmap=nsmap)
    _fill(root, g, obj)
    return root


def _fill(el, g, obj) -> None:
    if isinstance(g, ElementFragmentGrammar):
        g = g.grammar_for(obj)
    if not isinstance(g, ComplexGrammar):
        el.text = g.dt.to_text(obj)
        return
    if type(obj) is not g.cls:
        raise ExiError(INVALID_CONTENT, f"expected a {g.cls.__name__}, got {type(obj).__name__}", None, g.name)
    for fname, is_list in g.fields:
        v = getattr(obj, fname)
        if v is None:
            continue
        ev, uri, local, child = g.info[fname]
        for item in (v if is_list else (v,)):
            if fname == WILDCARD and g.wild:
                _fill_any(el, item, g.schema)
            elif ev == AT:
                el.set("{%s}%s" % (uri, local) if uri else local, child.to_text(item))
            elif ev == SE:
                tag = "{%s}%s" % (uri, local) if uri else local
                if isinstance(child, ComplexGrammar) and type(item) is not child.cls:
                    derived = child.schema.by_class.get(type(item))
                    qname = child.schema.type_qname.get(id(derived))
                    if qname is None:
                        raise ExiError(INVALID_CONTENT, f"{type(item).__name__} cannot stand for {child.name}")
                    sub = etree.SubElement(el, tag, nsmap={"xsi": XSI_TYPE[1:].split("}")[0]})
                    sub.set(XSI_TYPE, f"{PREFIXES.get(qname[0], 'ns')}:{qname[1]}")
                    _fill(sub, derived, item)
                else:
                    _fill(etree.SubElement(el, tag), child, item)
            else:
                el.text = child.to_text(item)


def to_xml(obj, schema: str | None = None, element=None) -> str:
    return etree.tostring(to_element(obj, schema, element), encoding="unicode")


__all__ = ["parse", "to_xml", "to_element"]
