"""Content of xs:any wildcards (xmldsig only): the typed model's generic element.

Every generated class whose XSD type has an xs:any gets one list field `any` holding, in document order,
`AnyElement` items and (for the mixed xmldsig types) text strings. How they are encoded (EXI 1.0 §8.4.3,
§8.5.4.4, §7.1.7, §7.3; W3C EXI Profile §2.1 with maximumNumberOfBuiltInElementGrammars = 0 and
maximumNumberOfBuiltInProductions = 0, the limits Josev gives EXIficient):
- SE(*), then the element's qname through the qname string table (URI partition, then the local names of that
  URI; misses are written literally and appended for the rest of the stream);
- a qname that is a global element of the schema set uses that element's grammar: `value` holds the typed
  object (the generated class, or int/str/bytes for simple types) and `attrib`/`content` stay empty;
- any other qname would need a built-in element grammar, and the profile allows none: the element opens with
  AT(*) = xsi:type (second-level code 0.1 of the unlearned built-in StartTagContent, 2 bits) whose QName value
  is xs:anyType, and its attributes and content then follow the schema-informed xs:anyType grammar
  (AT(*) 0, SE(*) 1, EE 2, CH 3 in its first state; SE(*) 0, EE 1, CH 2 afterwards; strict=false escapes).
  Attribute values and text are string literals; nothing is learned, so the grammars never change.
The decoder also reads an unknown element in the unlearned built-in grammar without the xsi:type (what a
non-profile encoder sends)."""
from __future__ import annotations

from dataclasses import dataclass, field

FIELD = "any"  # name of the field that holds wildcard content in the generated classes


@dataclass(slots=True, kw_only=True)
class AnyElement:
    """One element matched by an xs:any wildcard.

    tag: "{namespace}local" (lxml's Clark notation; a bare "local" for no namespace).
    attrib: attribute name (Clark notation) -> value, for elements unknown to the schema set.
    content: child AnyElement items and text strings in document order, for elements unknown to the schema set.
    value: the typed content when `tag` names a global element of the schema set (e.g. ds:KeyName -> str)."""
    tag: str
    attrib: dict[str, str] = field(default_factory=dict)
    content: list[AnyElement | str] = field(default_factory=list)
    value: object = None

    @property
    def qname(self) -> tuple[str, str]:
        """(namespace URI, local name)."""
        return split_name(self.tag)


def split_name(name: str) -> tuple[str, str]:
    """"{uri}local" or "local" -> (uri, local)."""
    if name.startswith("{"):
        uri, _, local = name[1:].partition("}")
        return uri, local
    return "", name


def clark(uri: str, local: str) -> str:
    return "{%s}%s" % (uri, local) if uri else local


__all__ = ["AnyElement"]
