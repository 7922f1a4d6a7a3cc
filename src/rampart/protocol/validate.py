"""Input validation against the model's constraints, in AWS's own words.

AWS answers constraint violations with one message listing them all::

    2 validation errors detected: Value null at 'userName' failed to satisfy
    constraint: Member must not be null; Value 'a b' at 'path' failed to
    satisfy constraint: Member must satisfy regular expression pattern: ...

Member paths use each member name with a lower-case first letter, list
elements as ``tags.1.member.key`` (1-based). Sensitive values are never
echoed (``Value at 'plaintext' ...``).

A validator is compiled once per input shape (cached) into a small tree of
checker objects that holds only constrained members; a shape with nothing to
check (GetCallerIdentity) compiles to nothing and costs one dict lookup.

Patterns in botocore models are Java regular expressions. They are
translated to Python ``re`` once per pattern (cached). A pattern that cannot
be translated is skipped, not enforced: this layer mirrors AWS's input
checks for client compatibility, it is not a security boundary (handlers and
the policy engine enforce what matters), and failing closed would make every
call that carries the member unusable. Skipped patterns are logged once and
listed in ``UNTRANSLATABLE_PATTERNS``; the tests assert the served models have
none.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import sys
import unicodedata
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from rampart.aws.errors import ValidationError
from rampart.aws.models import Shape, StructureShape

__all__ = ["validate", "validation_errors", "java_regex", "UNTRANSLATABLE_PATTERNS"]

log = logging.getLogger(__name__)
UNTRANSLATABLE_PATTERNS: set[str] = set()
Errors = list[str]


def validate(shape: StructureShape | None, params: Mapping[str, Any]) -> None:
    """Raise ValidationError (AWS's wording, every violation listed) when params break the model."""
    if shape is None:
        return
    checker = _compiled(shape)
    if checker is None:
        return
    errors: Errors = []
    checker.check(params, "", errors)
    if errors:
        count = len(errors)
        plural = "error" if count == 1 else "errors"
        raise ValidationError(f"{count} validation {plural} detected: " + "; ".join(errors))


def validation_errors(shape: StructureShape | None, params: Mapping[str, Any]) -> list[str]:
    """The individual violation messages (for callers that merge their own checks)."""
    checker = _compiled(shape) if shape is not None else None
    errors: Errors = []
    if checker is not None:
        checker.check(params, "", errors)
    return errors


_CACHE: dict[Shape, _Checker | None] = {}


def _compiled(shape: Shape) -> _Checker | None:
    """The checker of a shape object, built on first use (shape objects hash by identity)."""
    try:
        return _CACHE[shape]
    except KeyError:
        checker = _CACHE[shape] = _build(shape, {})
        return checker


# ------------------------------------------------------------- rendering


def _render(value: Any) -> str:
    """A value the way AWS's Java services print it inside ``Value '...'``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray)):
        return f"java.nio.HeapByteBuffer[pos=0 lim={len(value)} cap={len(value)}]"
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_render(k)}={_render(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_render(v) for v in value) + "]"
    return str(value)


def _violation(value: Any, path: str, constraint: str, sensitive: bool) -> str:
    if value is None:
        shown = "Value null"
    elif sensitive:
        shown = "Value"
    else:
        shown = f"Value '{_render(value)}'"
    return f"{shown} at '{path}' failed to satisfy constraint: {constraint}"


def _bound(number: int | float) -> str:
    return str(number)


# ---------------------------------------------------------------- checkers


class _Checker:
    """One constrained shape; ``check`` appends violation messages for a value at a path."""

    sensitive: bool = False

    def check(self, value: Any, path: str, errors: Errors) -> None:
        raise NotImplementedError

    def constraints(self, value: Any) -> list[str]:
        """Scalar constraint texts the value breaks (used for map keys and values)."""
        return []


class _Scalar(_Checker):
    """Strings, blobs and numbers: length or range, enum, pattern."""

    def __init__(self, shape: Shape) -> None:
        meta = shape.metadata
        self.kind = shape.type_name
        self.sensitive = bool(meta.get("sensitive"))
        self.min = meta.get("min")
        self.max = meta.get("max")
        self.enum = tuple(shape.enum) if self.kind == "string" and shape.enum else ()
        self.enum_set = frozenset(self.enum)
        self.pattern_text = meta.get("pattern") if self.kind == "string" else None
        self.pattern = java_regex(self.pattern_text) if self.pattern_text else None

    @property
    def useful(self) -> bool:
        return self.min is not None or self.max is not None or bool(self.enum) or self.pattern is not None

    def constraints(self, value: Any) -> list[str]:
        if self.kind in ("string", "blob"):
            return self._length_and_text(value)
        return self._range(value)

    def _length_and_text(self, value: Any) -> list[str]:
        if not isinstance(value, (str, bytes, bytearray)):
            return []
        out = []
        size = len(value)
        if self.min is not None and size < self.min:
            out.append(f"Member must have length greater than or equal to {_bound(self.min)}")
        if self.max is not None and size > self.max:
            out.append(f"Member must have length less than or equal to {_bound(self.max)}")
        if isinstance(value, str):
            if self.pattern is not None and self.pattern.fullmatch(value) is None:
                out.append(f"Member must satisfy regular expression pattern: {self.pattern_text}")
            if self.enum and value not in self.enum_set:
                out.append(f"Member must satisfy enum value set: [{', '.join(self.enum)}]")
        return out

    def _range(self, value: Any) -> list[str]:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return []
        out = []
        if self.min is not None and value < self.min:
            out.append(f"Member must have value greater than or equal to {_bound(self.min)}")
        if self.max is not None and value > self.max:
            out.append(f"Member must have value less than or equal to {_bound(self.max)}")
        return out

    def check(self, value: Any, path: str, errors: Errors) -> None:
        for text in self.constraints(value):
            errors.append(_violation(value, path, text, self.sensitive))


class _List(_Checker):
    """A list: its length, then each element at ``path.N.member``."""

    def __init__(self, shape: Shape) -> None:
        self.sensitive = bool(shape.metadata.get("sensitive"))
        self.min = shape.metadata.get("min")
        self.max = shape.metadata.get("max")
        self.member: _Checker | None = None

    def check(self, value: Any, path: str, errors: Errors) -> None:
        if not isinstance(value, (list, tuple)):
            return
        size = len(value)
        if self.min is not None and size < self.min:
            errors.append(_violation(value, path, f"Member must have length greater than or equal to {self.min}", self.sensitive))
        if self.max is not None and size > self.max:
            errors.append(_violation(value, path, f"Member must have length less than or equal to {self.max}", self.sensitive))
        member = self.member
        if member is not None:
            for i, item in enumerate(value, 1):
                member.check(item, f"{path}.{i}.member", errors)


class _Map(_Checker):
    """A map: its size, then keys and values (``Map keys must satisfy constraint: [...]``)."""

    def __init__(self, shape: Shape) -> None:
        self.sensitive = bool(shape.metadata.get("sensitive"))
        self.min = shape.metadata.get("min")
        self.max = shape.metadata.get("max")
        self.key: _Checker | None = None
        self.value: _Checker | None = None

    def check(self, value: Any, path: str, errors: Errors) -> None:
        if not isinstance(value, Mapping):
            return
        size = len(value)
        if self.min is not None and size < self.min:
            errors.append(_violation(value, path, f"Member must have length greater than or equal to {self.min}", self.sensitive))
        if self.max is not None and size > self.max:
            errors.append(_violation(value, path, f"Member must have length less than or equal to {self.max}", self.sensitive))
        self._entries(value, path, errors)

    def _entries(self, value: Mapping[str, Any], path: str, errors: Errors) -> None:
        key_broken: list[str] = []
        value_broken: list[str] = []
        for key, item in value.items():
            if self.key is not None:
                key_broken.extend(c for c in self.key.constraints(key) if c not in key_broken)
            if isinstance(self.value, _Scalar):
                value_broken.extend(c for c in self.value.constraints(item) if c not in value_broken)
            elif self.value is not None:
                self.value.check(item, f"{path}.{key}", errors)
        if key_broken:
            errors.append(_violation(value, path, f"Map keys must satisfy constraint: [{', '.join(key_broken)}]", self.sensitive))
        if value_broken:
            sensitive = self.sensitive or self.value.sensitive  # type: ignore[union-attr]
            errors.append(_violation(value, path, f"Map value must satisfy constraint: [{', '.join(value_broken)}]", sensitive))


class _Struct(_Checker):
    """A structure: required members first absent -> null, then each constrained member."""

    def __init__(self, shape: Shape) -> None:
        self.sensitive = bool(shape.metadata.get("sensitive"))
        self.required: tuple[tuple[str, str], ...] = ()
        self.members: tuple[tuple[str, str, _Checker], ...] = ()

    def check(self, value: Any, path: str, errors: Errors) -> None:
        if not isinstance(value, Mapping):
            return
        prefix = f"{path}." if path else ""
        for name, wire in self.required:
            if value.get(name) is None:
                errors.append(_violation(None, prefix + wire, "Member must not be null", False))
        for name, wire, checker in self.members:
            item = value.get(name)
            if item is not None:
                checker.check(item, prefix + wire, errors)


def _path_name(name: str) -> str:
    return name[:1].lower() + name[1:]


def _build(shape: Shape, building: dict[str, _Checker]) -> _Checker | None:
    """The checker tree of a shape; None when nothing in it is constrained.

    ``building`` holds structures under construction so recursive shapes
    refer to the same (later filled) checker instead of recursing forever.
    """
    kind = shape.type_name
    if kind == "structure":
        return _build_struct(shape, building)
    if kind == "list":
        checker = _List(shape)
        checker.member = _build(shape.member, building)
        return checker if (checker.member or checker.min is not None or checker.max is not None) else None
    if kind == "map":
        mapping = _Map(shape)
        mapping.key = _build(shape.key, building)
        mapping.value = _build(shape.value, building)
        useful = mapping.key or mapping.value or mapping.min is not None or mapping.max is not None
        return mapping if useful else None
    if kind in ("string", "blob", "integer", "long", "float", "double"):
        scalar = _Scalar(shape)
        return scalar if scalar.useful else None
    return None


def _build_struct(shape: Shape, building: dict[str, _Checker]) -> _Checker | None:
    if shape.name in building:
        return building[shape.name]
    struct = building[shape.name] = _Struct(shape)
    members = []
    for name, member in shape.members.items():
        if member.serialization.get("eventstream") or member.metadata.get("eventstream"):
            continue
        checker = _build(member, building)
        if checker is not None:
            members.append((name, _path_name(name), checker))
    if getattr(shape, "is_tagged_union", False):
        struct.required = ()
    else:
        struct.required = tuple((n, _path_name(n)) for n in shape.required_members if n in shape.members)
    struct.members = tuple(members)
    del building[shape.name]
    return struct if (struct.required or struct.members) else None


# ------------------------------------------------------- Java regex -> re


class _Untranslatable(ValueError):
    """A Java regex construct with no faithful Python ``re`` equivalent."""


@lru_cache(maxsize=None)
def java_regex(pattern: str) -> re.Pattern[str] | None:
    """A botocore (Java) pattern compiled for Python, or None when it cannot be translated."""
    try:
        return re.compile(_JavaTranslator(pattern).translate())
    except (_Untranslatable, re.error, OverflowError, ValueError) as exc:
        UNTRANSLATABLE_PATTERNS.add(pattern)
        log.warning("model pattern %r not enforced: %s", pattern, exc)
        return None


_ASCII_CLASS = {"d": "0-9", "w": "a-zA-Z0-9_", "s": " \\t\\n\\x0b\\f\\r"}
# Complements of the ASCII classes, written as ranges so they work inside [...].
_ASCII_NEGATED = {
    "D": "\\x00-/:-\\U0010ffff",
    "W": "\\x00-/:-@\\[-\\^`{-\\U0010ffff",
    "S": "\\x00-\\x08\\x0e-\\x1f!-\\U0010ffff",
}
_POSIX = {
    "Lower": "a-z", "Upper": "A-Z", "ASCII": "\\x00-\\x7f", "Alpha": "a-zA-Z", "Digit": "0-9",
    "Alnum": "a-zA-Z0-9", "Punct": "!-/:-@\\[-`{-~", "Graph": "!-~", "Print": " -~", "Blank": " \\t",
    "Cntrl": "\\x00-\\x1f\\x7f", "XDigit": "0-9a-fA-F", "Space": " \\t\\n\\x0b\\f\\r",
}
_ALIASES = {"Letter": "L", "IsLetter": "L", "IsAlphabetic": "L", "IsDigit": "Nd", "IsPunctuation": "P"}
_SIMPLE_ESCAPES = set("tnrfaebBAd0123456789")
_SET_ESCAPES = frozenset("dwsDWSpPh")
_JAVA_DOT = "[^\\n\\r\\x85\\u2028\\u2029]"


@lru_cache(maxsize=None)
def _category_ranges() -> dict[str, str]:
    """Every Unicode general category (and its major class) as ``[...]`` range text; built once."""
    spans: dict[str, list[tuple[int, int]]] = {}
    category = unicodedata.category
    start, current = 0, category("\x00")
    for code in range(1, sys.maxunicode + 2):
        cat = category(chr(code)) if code <= sys.maxunicode else ""
        if cat != current:
            spans.setdefault(current, []).append((start, code - 1))
            spans.setdefault(current[0], []).append((start, code - 1))
            start, current = code, cat
    return {key: "".join(_span(lo, hi) for lo, hi in ranges) for key, ranges in spans.items()}


def _span(lo: int, hi: int) -> str:
    return f"\\U{lo:08x}" if lo == hi else f"\\U{lo:08x}-\\U{hi:08x}"


def _property(name: str) -> str:
    """Range text of a ``\\p{name}`` class."""
    if name in _POSIX:
        return _POSIX[name]
    name = _ALIASES.get(name, name)
    for prefix in ("general_category=", "gc=", "Is"):
        if name.startswith(prefix):
            name = name[len(prefix) :]
    ranges = _category_ranges().get(name)
    if ranges is None:
        raise _Untranslatable(f"unknown property \\p{{{name}}}")
    return ranges


class _JavaTranslator:
    """A single pass over a Java regex, writing the equivalent Python one."""

    def __init__(self, pattern: str) -> None:
        self.src = pattern
        self.i = 0
        self.out: list[str] = []
        self.depth = 0
        self.pending: list[int] = []  # depths with a scoped-flag group to close
        self.dotall = "(?s" in pattern

    def translate(self) -> str:
        while self.i < len(self.src):
            self._outside()
        while self.pending:
            self.pending.pop()
            self.out.append(")")
        return "".join(self.out)

    def _next(self) -> str:
        if self.i >= len(self.src):
            raise _Untranslatable("pattern ends inside a construct")
        ch = self.src[self.i]
        self.i += 1
        return ch

    def _outside(self) -> None:
        ch = self._next()
        if ch == "\\":
            self.out.append(self._escape(in_class=False))
        elif ch == "[":
            self.out.append(self._class())
        elif ch == "(":
            self._group()
        elif ch == ")":
            while self.pending and self.pending[-1] == self.depth:
                self.pending.pop()
                self.out.append(")")
            self.depth -= 1
            self.out.append(")")
        elif ch == "." and not self.dotall:
            self.out.append(_JAVA_DOT)
        else:
            self.out.append(ch)

    def _group(self) -> None:
        self.depth += 1
        if not self.src.startswith("?", self.i):
            self.out.append("(")
            return
        m = re.compile(r"\?([a-zA-Z]*)(?:-([a-zA-Z]*))?([:)])").match(self.src, self.i)
        if m is None:
            rest = self.src[self.i :]
            if rest.startswith("?<") and not rest.startswith(("?<=", "?<!")):
                self.out.append("(?P<")
                self.i += 2
            else:
                self.out.append("(")
            return
        self.i = m.end()
        on = "".join(f for f in m.group(1) if f in "imsx")
        off = "".join(f for f in (m.group(2) or "") if f in "imsx")
        flags = on + (f"-{off}" if off else "")
        if m.group(3) == ":":
            self.out.append(f"(?{flags}:" if flags else "(?:")
            return
        self.depth -= 1  # "(?i)" opens no group of its own
        if flags:
            self.out.append(f"(?{flags}:")
            self.pending.append(self.depth)

    def _escape(self, in_class: bool) -> str:
        ch = self._next()
        if ch in "pP":
            return self._property_escape(ch == "P", in_class)
        if ch in _ASCII_CLASS:
            return _ASCII_CLASS[ch] if in_class else f"[{_ASCII_CLASS[ch]}]"
        if ch in _ASCII_NEGATED:
            return _ASCII_NEGATED[ch] if in_class else f"[{_ASCII_NEGATED[ch]}]"
        if ch == "u":
            return self._unicode_escape()
        if ch == "x":
            return self._hex_escape()
        if ch == "Q":
            end = self.src.find("\\E", self.i)
            end = len(self.src) if end < 0 else end
            literal, self.i = self.src[self.i : end], end + 2
            return "".join(f"\\U{ord(c):08x}" for c in literal) if in_class else re.escape(literal)
        if ch == "z":
            return "\\Z"
        if ch == "Z":
            return "(?=\\n?\\Z)"
        if ch == "h":
            return "\\t \\xa0\\u1680\\u180e\\u2000-\\u200a\\u202f\\u205f\\u3000" if in_class else (
                "[\\t \\xa0\\u1680\\u180e\\u2000-\\u200a\\u202f\\u205f\\u3000]")
        if ch == "e":
            return "\\x1b"
        if ch in _SIMPLE_ESCAPES and not (in_class and ch in "bBA"):
            return "\\" + ch
        if not ch.isalnum():
            return "\\" + ch
        raise _Untranslatable(f"unsupported escape \\{ch}")

    def _property_escape(self, negated: bool, in_class: bool) -> str:
        if self.src.startswith("{", self.i):
            end = self.src.find("}", self.i)
            if end < 0:
                raise _Untranslatable("unterminated \\p{")
            name, self.i = self.src[self.i + 1 : end], end + 1
        else:
            name = self._next()
        ranges = _property(name)
        if in_class:
            if negated:
                raise _Untranslatable("\\P inside a character class")
            return ranges
        return f"[^{ranges}]" if negated else f"[{ranges}]"

    def _unicode_escape(self) -> str:
        code = self._hex(4)
        if 0xD800 <= code <= 0xDBFF and self.src.startswith("\\u", self.i):
            low = int(self.src[self.i + 2 : self.i + 6], 16)
            if 0xDC00 <= low <= 0xDFFF:
                self.i += 6
                code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
        return f"\\U{code:08x}"

    def _hex_escape(self) -> str:
        if self.src.startswith("{", self.i):
            end = self.src.find("}", self.i)
            if end < 0:
                raise _Untranslatable("unterminated \\x{")
            code, self.i = int(self.src[self.i + 1 : end], 16), end + 1
        else:
            code = self._hex(2)
        return f"\\U{code:08x}"

    def _hex(self, width: int) -> int:
        digits = self.src[self.i : self.i + width]
        if len(digits) != width or not all(c in "0123456789abcdefABCDEF" for c in digits):
            raise _Untranslatable("bad hex escape")
        self.i += width
        return int(digits, 16)

    def _class(self) -> str:
        """A ``[...]`` class; nested unions are flattened, intersections refused."""
        parts = ["["]
        if self.src.startswith("^", self.i):
            parts.append("^")
            self.i += 1
        parts.append(self._class_body())
        parts.append("]")
        return "".join(parts)

    def _class_body(self) -> str:
        body: list[str] = []
        first = True
        while True:
            ch = self._next()
            if ch == "]" and not first:
                return "".join(body)
            first = False
            if ch == "\\":
                is_set = self.src[self.i : self.i + 1] in _SET_ESCAPES
                body.append(self._escape(in_class=True))
                if is_set and self.src.startswith("-", self.i) and not self.src.startswith("-]", self.i):
                    body.append("\\-")  # Java reads "\w-_" as three members, not a range
                    self.i += 1
            elif ch == "[":
                if self.src.startswith("^", self.i):
                    raise _Untranslatable("negated nested class")
                body.append(self._class_body())
            elif ch == "&" and self.src.startswith("&", self.i):
                raise _Untranslatable("class intersection &&")
            elif ch in "&~|]":
                body.append("\\" + ch)
            else:
                body.append(ch)
