"""XML bodies of the rest-xml protocol: safe parsing, model-driven decode and encode.

Private to the rest-xml codec. Decoding walks an lxml tree by the botocore
shape (namespaces ignored, unknown elements skipped, as AWS does); encoding
writes text directly, which is faster than building a tree and keeps the
output exactly as clients expect (flattened lists, xmlAttribute members,
namespace declarations). Per-shape plans are computed once and cached.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from lxml import etree

from rampart.aws.models import Shape, StructureShape
from rampart.protocol.rest import scalar_from_text, scalar_to_text

XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>\n'


# --- safe XML parsing ---------------------------------------------------------

_local = threading.local()


def _parser() -> etree.XMLParser:
    """One hardened parser per thread (lxml parsers are not thread-safe)."""
    parser = getattr(_local, "parser", None)
    if parser is None:
        parser = etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            huge_tree=False,
            load_dtd=False,
            remove_comments=True,
            remove_pis=True,
        )
        _local.parser = parser
    return parser


class MalformedXml(ValueError):
    """The body is not a well-formed, DTD-free XML document of the expected shape."""


def parse_xml(body: bytes) -> etree._Element:
    """Parse a request document safely; raises MalformedXml."""
    try:
        root = etree.fromstring(body, parser=_parser())
    except etree.XMLSyntaxError as exc:
        raise MalformedXml(str(exc)) from exc
    if root.getroottree().docinfo.doctype:
        raise MalformedXml("DTDs are not allowed")
    return root


def local_name(tag: str) -> str:
    """An element or attribute name without its ``{namespace}``."""
    return tag.rpartition("}")[2]


# --- XML -> value ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _DecodeMember:
    member: str
    shape: Shape
    mode: str  # "one", "flat_list", "flat_map"


@dataclass(frozen=True, slots=True)
class _DecodePlan:
    elements: dict[str, _DecodeMember]
    attributes: dict[str, str]  # attribute local name -> member


@lru_cache(maxsize=8192)
def _decode_plan(shape: StructureShape, only: frozenset[str] | None = None) -> _DecodePlan:
    """Which element or attribute carries each member (computed once per shape)."""
    elements: dict[str, _DecodeMember] = {}
    attributes: dict[str, str] = {}
    for name, member in shape.members.items():
        if only is not None and name not in only:
            continue
        xml_name = member.serialization.get("name", name)
        if member.serialization.get("xmlAttribute"):
            attributes[xml_name.rpartition(":")[2]] = name
            continue
        mode = "one"
        if member.serialization.get("flattened") and member.type_name in ("list", "map"):
            mode = "flat_" + member.type_name
            inner = member.member if member.type_name == "list" else None
            inner_name = inner.serialization.get("name") if inner is not None else None
            if inner_name:
                _claim(elements, inner_name, _DecodeMember(name, member, mode))
        _claim(elements, xml_name, _DecodeMember(name, member, mode))
    return _DecodePlan(elements, attributes)


def _claim(elements: dict[str, _DecodeMember], xml_name: str, entry: _DecodeMember) -> None:
    """First member wins an element name, except that a flattened list (which can
    hold every repetition) beats a single value aliasing it (S3's deprecated
    ``Event``/``Events`` pairs)."""
    current = elements.get(xml_name)
    if current is None or (current.mode == "one" and entry.mode == "flat_list"):
        elements[xml_name] = entry


def decode_structure(shape: StructureShape, node: etree._Element, only: frozenset[str] | None = None) -> dict[str, Any]:
    """Read a structure from an element; unknown children are ignored, like AWS does."""
    plan = _decode_plan(shape, only)
    result: dict[str, Any] = {}
    for key, value in node.attrib.items():
        member = plan.attributes.get(local_name(key))
        if member is not None:
            result[member] = scalar_from_text(value, shape.members[member])
    for child in node:
        if not isinstance(child.tag, str):
            continue
        entry = plan.elements.get(local_name(child.tag))
        if entry is None:
            continue
        if entry.mode == "flat_list":
            result.setdefault(entry.member, []).append(decode_value(entry.shape.member, child))
        elif entry.mode == "flat_map":
            key_text, value = _decode_entry(entry.shape, child)
            result.setdefault(entry.member, {})[key_text] = value
        else:
            result[entry.member] = decode_value(entry.shape, child)
    return result


def decode_value(shape: Shape, node: etree._Element) -> Any:
    """Read a value of any shape from its element."""
    kind = shape.type_name
    if kind == "structure":
        return decode_structure(shape, node)
    if kind == "list":
        return [decode_value(shape.member, child) for child in node if isinstance(child.tag, str)]
    if kind == "map":
        return dict(_decode_entry(shape, child) for child in node if isinstance(child.tag, str))
    text = node.text or ""
    return scalar_from_text(text if kind == "string" else text.strip(), shape)


def _decode_entry(shape: Shape, entry: etree._Element) -> tuple[Any, Any]:
    key_name = shape.key.serialization.get("name", "key")
    value_name = shape.value.serialization.get("name", "value")
    key: Any = None
    value: Any = None
    for child in entry:
        if not isinstance(child.tag, str):
            continue
        tag = local_name(child.tag)
        if tag == key_name:
            key = decode_value(shape.key, child)
        elif tag == value_name:
            value = decode_value(shape.value, child)
    if key is None:
        raise MalformedXml(f"map entry without <{key_name}>")
    return key, value


# --- value -> XML ------------------------------------------------------------------

TEXT_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})
ATTR_ESCAPES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\r": "&#13;", "\n": "&#10;", "\t": "&#9;"}
)


def body_text(value: Any, shape: Shape) -> str:
    """A scalar as XML text; timestamps default to ISO 8601 and always carry
    milliseconds (``.000Z``), as S3 and Route 53 write them."""
    return scalar_to_text(value, shape, "iso8601", always_fraction=True)


@dataclass(frozen=True, slots=True)
class _EncodeMember:
    member: str
    shape: Shape
    xml_name: str


@dataclass(frozen=True, slots=True)
class _EncodePlan:
    attributes: tuple[_EncodeMember, ...]
    elements: tuple[_EncodeMember, ...]


@lru_cache(maxsize=8192)
def _encode_plan(shape: StructureShape, only: frozenset[str] | None = None) -> _EncodePlan:
    """Attribute and element names of a structure's members, model order (once per shape)."""
    attributes: list[_EncodeMember] = []
    elements: list[_EncodeMember] = []
    for name, member in shape.members.items():
        if only is not None and name not in only:
            continue
        xml_name = member.serialization.get("name", name)
        if member.type_name == "list" and member.serialization.get("flattened"):
            xml_name = member.member.serialization.get("name") or xml_name
        target = attributes if member.serialization.get("xmlAttribute") else elements
        target.append(_EncodeMember(name, member, xml_name))
    return _EncodePlan(tuple(attributes), tuple(elements))


@lru_cache(maxsize=8192)
def _namespace_attrs(shape: Shape, default_ns: str | None = None) -> str:
    """The ``xmlns`` declaration a shape's element carries (cached per shape)."""
    namespace = shape.serialization.get("xmlNamespace")
    if isinstance(namespace, str):
        return f' xmlns="{namespace.translate(ATTR_ESCAPES)}"'
    if isinstance(namespace, Mapping) and namespace.get("uri"):
        prefix = namespace.get("prefix")
        attr = f"xmlns:{prefix}" if prefix else "xmlns"
        return f' {attr}="{str(namespace["uri"]).translate(ATTR_ESCAPES)}"'
    return f' xmlns="{default_ns.translate(ATTR_ESCAPES)}"' if default_ns else ""


def encode_structure(
    out: list[str],
    shape: StructureShape,
    value: Mapping[str, Any],
    name: str,
    default_ns: str | None = None,
    only: frozenset[str] | None = None,
) -> None:
    """Append a structure element (attributes, then children in model order)."""
    plan = _encode_plan(shape, only)
    head = f"<{name}{_namespace_attrs(shape, default_ns)}"
    for item in plan.attributes:
        member_value = value.get(item.member)
        if member_value is not None:
            text = body_text(member_value, item.shape).translate(ATTR_ESCAPES)
            head += f' {item.xml_name}="{text}"'
    out.append(head + ">")
    for item in plan.elements:
        member_value = value.get(item.member)
        if member_value is not None:
            encode_value(out, item.shape, member_value, item.xml_name)
    out.append(f"</{name}>")


def encode_value(out: list[str], shape: Shape, value: Any, name: str) -> None:
    """Append the element(s) of one member; flattened lists and maps repeat ``name``."""
    kind = shape.type_name
    if kind == "structure":
        encode_structure(out, shape, value, name)
    elif kind == "list":
        _encode_list(out, shape, value, name)
    elif kind == "map":
        _encode_map(out, shape, value, name)
    else:
        text = body_text(value, shape).translate(TEXT_ESCAPES)
        out.append(f"<{name}{_namespace_attrs(shape)}>{text}</{name}>")


def _encode_list(out: list[str], shape: Shape, value: list[Any], name: str) -> None:
    if shape.serialization.get("flattened"):
        for item in value:
            encode_value(out, shape.member, item, name)
        return
    item_name = shape.member.serialization.get("name", "member")
    out.append(f"<{name}{_namespace_attrs(shape)}>")
    for item in value:
        encode_value(out, shape.member, item, item_name)
    out.append(f"</{name}>")


def _encode_map(out: list[str], shape: Shape, value: Mapping[str, Any], name: str) -> None:
    key_name = shape.key.serialization.get("name", "key")
    value_name = shape.value.serialization.get("name", "value")
    flattened = bool(shape.serialization.get("flattened"))
    if not flattened:
        out.append(f"<{name}{_namespace_attrs(shape)}>")
    for key, item in value.items():
        out.append(f"<{name}>" if flattened else "<entry>")
        encode_value(out, shape.key, key, key_name)
        encode_value(out, shape.value, item, value_name)
        out.append(f"</{name}>" if flattened else "</entry>")
    if not flattened:
        out.append(f"</{name}>")


def document(parts: list[str]) -> bytes:
    """The UTF-8 document, with its XML declaration, from the appended parts."""
    return (XML_DECL + "".join(parts)).encode("utf-8")
