"""Java regular expressions (botocore's model patterns) translated to Python ``re``.

The models' ``pattern`` traits are written for ``java.util.regex``: POSIX and
Unicode property classes (``\\p{Alpha}``, ``\\p{L}``), ASCII-only ``\\w``/``\\d``,
``\\Q...\\E`` quoting, nested class unions, scoped inline flags and a ``.``
that stops at every line terminator. Python's ``re`` spells or means these
differently, so each pattern is rewritten in one pass and compiled once
(cached). A construct with no faithful equivalent (class intersection ``&&``,
unknown properties) is refused rather than approximated: the caller decides
what an untranslatable pattern means; the validator skips it, logs it once
and lists it in ``UNTRANSLATABLE_PATTERNS``.
"""

from __future__ import annotations

import logging
import re
import sys
import unicodedata
from functools import cache, lru_cache

__all__ = ["UNTRANSLATABLE_PATTERNS", "java_regex"]

log = logging.getLogger(__name__)
# Patterns java_regex could not translate (process-wide; tests assert the served models have none).
UNTRANSLATABLE_PATTERNS: set[str] = set()


class _Untranslatable(ValueError):
    """A Java regex construct with no faithful Python ``re`` equivalent."""


@cache
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


@cache
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
