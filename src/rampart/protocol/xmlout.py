"""Model-driven XML writing shared by the XML-speaking codecs.

The query, ec2 and rest-xml protocols all answer XML whose element names come
from the botocore model (``locationName``, ``flattened`` lists and maps, list
member names, map key/value names). ``XmlShapeWriter`` turns a value of a
shape into that XML with a plain string builder: it is much faster than
building an lxml tree and, with ``escape_text``, always well-formed. The
per-shape naming work is done once per shape and cached.
"""

from __future__ import annotations

import base64
import datetime as dt
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import format_datetime
from typing import Any

from rampart.aws.models import Shape

__all__ = [
    "XmlShapeWriter",
    "escape_attr",
    "escape_text",
    "format_blob",
    "format_float",
    "format_timestamp",
    "namespace_attr",
    "simple_element",
]

# Characters XML 1.0 cannot carry at all (even as references): dropped.
_ILLEGAL = "\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff"
_TEXT_SPECIAL = re.compile(f"[&<>\r{_ILLEGAL}]")
_ATTR_SPECIAL = re.compile(f"[&<>\"\r\n\t{_ILLEGAL}]")
_REPLACEMENTS = {
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
    '"': "&quot;",
    "\r": "&#13;",
    "\n": "&#10;",
    "\t": "&#9;",
}


def _replace(match: re.Match[str]) -> str:
    return _REPLACEMENTS.get(match.group(), "")


def escape_text(value: str) -> str:
    """Escape element text so any string survives a round trip through an XML parser.

    ``\\r`` is written as a character reference (parsers would otherwise turn
    it into ``\\n``); characters XML 1.0 forbids outright are removed, since no
    XML client could read them back.
    """
    if value.isascii() and value.isprintable() and "&" not in value and "<" not in value and ">" not in value:
        return value  # printable ASCII holds no control character: only &, < and > could need escaping
    if _TEXT_SPECIAL.search(value) is None:
        return value
    return _TEXT_SPECIAL.sub(_replace, value)


def escape_attr(value: str) -> str:
    """Escape a double-quoted attribute value (whitespace kept as references)."""
    if _ATTR_SPECIAL.search(value) is None:
        return value
    return _ATTR_SPECIAL.sub(_replace, value)


def simple_element(tag: str, text: Any) -> str:
    """``<tag>text</tag>`` with the text escaped; for envelopes and error bodies."""
    return f"<{tag}>{escape_text(text if isinstance(text, str) else str(text))}</{tag}>"


def _as_utc(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return dt.datetime.fromtimestamp(value, tz=dt.UTC)
    return None


def format_timestamp(value: Any, fmt: str = "iso8601") -> str:
    """A timestamp as the model's ``timestampFormat`` spells it (ISO 8601 with Z by default).

    Sub-second precision is kept to milliseconds, as AWS does. A value that
    is not a datetime or epoch number (an already formatted string) passes
    through unchanged.
    """
    moment = _as_utc(value)
    if moment is None:
        return str(value)
    if fmt == "unixTimestamp":
        seconds = moment.timestamp()
        return str(int(seconds)) if seconds.is_integer() else f"{seconds:.3f}"
    if fmt == "rfc822":
        return format_datetime(moment, usegmt=True)
    base = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        return f"{base}.{moment.microsecond // 1000:03d}Z"
    return base + "Z"


def format_float(value: Any) -> str:
    """A float the way AWS and botocore write them, including the non-finite ones."""
    number = float(value)
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "Infinity" if number > 0 else "-Infinity"
    return repr(number)


def format_blob(value: Any) -> str:
    """Base64 of a blob; strings are taken as UTF-8."""
    raw = value.encode() if isinstance(value, str) else bytes(value)
    return base64.b64encode(raw).decode("ascii")


def _format_int(shape: Shape, value: Any) -> str:
    return str(int(value))


def _format_bool(shape: Shape, value: Any) -> str:
    return "true" if value else "false"


def _format_string(shape: Shape, value: Any) -> str:
    return escape_text(value if isinstance(value, str) else str(value))


def _format_float(shape: Shape, value: Any) -> str:
    return format_float(value)


def _format_blob(shape: Shape, value: Any) -> str:
    return format_blob(value)


_SCALARS: dict[str, Callable[[Shape, Any], str]] = {
    "string": _format_string,
    "character": _format_string,
    "integer": _format_int,
    "long": _format_int,
    "byte": _format_int,
    "short": _format_int,
    "boolean": _format_bool,
    "float": _format_float,
    "double": _format_float,
    "blob": _format_blob,
}


@dataclass(frozen=True, slots=True)
class _MemberPlan:
    """How one structure member is written: its dict key, element name and shape.

    ``scalar`` is the formatter of a scalar member (None for the others), so
    the common case writes ``open + text + close`` without dispatching on the
    shape's type again.
    """

    name: str
    tag: str
    shape: Shape
    attribute: bool
    scalar: Callable[[Shape, Any], str] | None
    open: str
    close: str


@dataclass(frozen=True, slots=True)
class _CollectionPlan:
    """How a list or map is written: flattened or wrapped, and the inner names."""

    flattened: bool
    item_tag: str  # list member element, or the map's entry element
    key_tag: str
    value_tag: str


def namespace_attr(shape: Shape) -> str:
    """The ``xmlns`` attribute a shape's ``xmlNamespace`` trait asks for ('' when none)."""
    namespace = shape.serialization.get("xmlNamespace")
    if not namespace:
        return ""
    if isinstance(namespace, str):
        return f' xmlns="{escape_attr(namespace)}"'
    prefix = namespace.get("prefix")
    name = f"xmlns:{prefix}" if prefix else "xmlns"
    return f' {name}="{escape_attr(namespace.get("uri", ""))}"'


class XmlShapeWriter:
    """Writes values of botocore shapes as XML text, driven by the model's naming traits.

    ``list_member`` is the default element name of a wrapped list's items
    ("member" for query and rest-xml, "item" for ec2). Output is appended to
    a list of string parts so callers can join once.
    """

    def __init__(self, list_member: str = "member", timestamp_format: str = "iso8601") -> None:
        self._list_member = list_member
        self._timestamp_format = timestamp_format
        self._structures: dict[Shape, tuple[_MemberPlan, ...]] = {}
        self._collections: dict[Shape, _CollectionPlan] = {}

    # --- plans (cached per shape object) ---

    def member_tag(self, shape: Shape, name: str) -> str:
        """The element name of a structure member (flattened lists use their member's name)."""
        if shape.type_name == "list" and shape.serialization.get("flattened"):
            inner = shape.member.serialization.get("name")
            if inner:
                return inner
        return shape.serialization.get("name", name)

    def _structure_plan(self, shape: Shape) -> tuple[_MemberPlan, ...]:
        plan = self._structures.get(shape)
        if plan is None:
            plan = tuple(
                self._member_plan(name, member)
                for name, member in shape.members.items()
                if member.serialization.get("location") not in ("header", "headers", "statusCode")
            )
            self._structures[shape] = plan
        return plan

    def _member_plan(self, name: str, member: Shape) -> _MemberPlan:
        tag = self.member_tag(member, name)
        attribute = bool(member.serialization.get("xmlAttribute"))
        return _MemberPlan(name, tag, member, attribute, _SCALARS.get(member.type_name), f"<{tag}>", f"</{tag}>")

    def _collection_plan(self, shape: Shape) -> _CollectionPlan:
        plan = self._collections.get(shape)
        if plan is None:
            flattened = bool(shape.serialization.get("flattened"))
            if shape.type_name == "list":
                item = shape.member.serialization.get("name", self._list_member)
                plan = _CollectionPlan(flattened, item, "", "")
            else:
                key = shape.key.serialization.get("name", "key")
                value = shape.value.serialization.get("name", "value")
                plan = _CollectionPlan(flattened, "entry", key, value)
            self._collections[shape] = plan
        return plan

    # --- writing ---

    def write_members(self, out: list[str], shape: Shape, value: Mapping[str, Any]) -> None:
        """Append the child elements of a structure value (no enclosing element)."""
        plan = self._structures.get(shape) or self._structure_plan(shape)
        for member in plan:
            item = value.get(member.name)
            if item is None or member.attribute:
                continue
            if member.scalar is not None:
                out.append(member.open + member.scalar(member.shape, item) + member.close)
            else:
                self.write_value(out, member.tag, member.shape, item)

    def attributes(self, shape: Shape, value: Mapping[str, Any]) -> str:
        """The ``xmlAttribute`` members of a structure value, as attribute text."""
        parts = []
        for member in self._structure_plan(shape):
            item = value.get(member.name)
            if member.attribute and item is not None:
                text = item if isinstance(item, str) else str(item)
                parts.append(f' {member.tag}="{escape_attr(text)}"')
        return "".join(parts)

    def write_value(self, out: list[str], tag: str, shape: Shape, value: Any) -> None:
        """Append the element(s) for one value of a shape under the given element name."""
        kind = shape.type_name
        scalar = _SCALARS.get(kind)
        if scalar is not None:
            out.append(f"<{tag}>{scalar(shape, value)}</{tag}>")
        elif kind == "structure":
            self._write_structure(out, tag, shape, value)
        elif kind == "list":
            self._write_list(out, tag, shape, value)
        elif kind == "map":
            self._write_map(out, tag, shape, value)
        elif kind == "timestamp":
            fmt = shape.serialization.get("timestampFormat", self._timestamp_format)
            out.append(f"<{tag}>{escape_text(format_timestamp(value, fmt))}</{tag}>")
        else:
            out.append(f"<{tag}>{escape_text(str(value))}</{tag}>")

    def _write_structure(self, out: list[str], tag: str, shape: Shape, value: Mapping[str, Any]) -> None:
        out.append(f"<{tag}{namespace_attr(shape)}{self.attributes(shape, value)}>")
        self.write_members(out, shape, value)
        out.append(f"</{tag}>")

    def _write_list(self, out: list[str], tag: str, shape: Shape, value: Any) -> None:
        plan = self._collection_plan(shape)
        member = shape.member
        if plan.flattened:
            for item in value:
                self.write_value(out, tag, member, item)
            return
        out.append(f"<{tag}{namespace_attr(shape)}>")
        for item in value:
            self.write_value(out, plan.item_tag, member, item)
        out.append(f"</{tag}>")

    def _write_map(self, out: list[str], tag: str, shape: Shape, value: Mapping[Any, Any]) -> None:
        plan = self._collection_plan(shape)
        entry_tag = tag if plan.flattened else plan.item_tag
        if not plan.flattened:
            out.append(f"<{tag}{namespace_attr(shape)}>")
        for key, item in value.items():
            if item is None:
                continue
            out.append(f"<{entry_tag}>")
            self.write_value(out, plan.key_tag, shape.key, key)
            self.write_value(out, plan.value_tag, shape.value, item)
            out.append(f"</{entry_tag}>")
        if not plan.flattened:
            out.append(f"</{tag}>")
