"""Wildcard patterns and policy variables, compiled once per policy.

A pattern without variables becomes one precompiled regular expression (or a
plain string comparison when it has no wildcard). A pattern with variables is
kept as parts; at request time the variables are substituted as *literal* text
and matched by a small position-set matcher, so no regex is ever built per
request and a ``*`` inside a user name is never a wildcard.

ARN mode keeps ``*`` and ``?`` inside one colon-delimited segment of the first
five (the Arn condition operators check "each of the six colon-delimited
components separately"). The Resource element adds one rule from its page: a
``*`` that ends a segment may run past the colons (``arn:aws:s3:*`` covers every
S3 ARN); ``expand`` turns that rule on.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any, Protocol

from rampart.policy.model import Context

STAR, STAR_SEG, QMARK, QMARK_SEG = 0, 1, 2, 3
_TO_REGEX = {STAR: ".*", STAR_SEG: "[^:]*", QMARK: ".", QMARK_SEG: "[^:]"}
_VARIABLE = re.compile(r"\$\{([^{}]*)\}")
_DEFAULT = re.compile(r"^\s*([^,\s]+)\s*,\s*'([^']*)'\s*$")
_SPECIAL = {"*": "*", "?": "?", "$": "$"}


@dataclass(frozen=True)
class Variable:
    """One ``${...}``: a context key (lower-cased) with an optional default, or a literal."""

    key: str | None
    default: str | None = None
    literal: str | None = None


Part = str | Variable


def parse_template(text: str) -> tuple[Part, ...]:
    """Split policy text into pattern text and variables (2012-10-17 documents only)."""
    parts: list[Part] = []
    last = 0
    for m in _VARIABLE.finditer(text):
        variable = _variable(m.group(1))
        if variable is None:
            continue
        if m.start() > last:
            parts.append(text[last : m.start()])
        parts.append(variable)
        last = m.end()
    if last < len(text):
        parts.append(text[last:])
    return tuple(parts)


def _variable(body: str) -> Variable | None:
    """Parse the inside of ``${...}``; None leaves malformed text as it is."""
    stripped = body.strip()
    if stripped in _SPECIAL:
        return Variable(key=None, literal=_SPECIAL[stripped])
    m = _DEFAULT.match(body)
    if m:
        return Variable(key=m.group(1).lower(), default=m.group(2))
    if stripped and "," not in stripped and " " not in stripped:
        return Variable(key=stripped.lower())
    return None


def render(parts: tuple[Part, ...], keys: Context) -> list[tuple[str, bool]] | None:
    """Substitute variables; each chunk says whether it is pattern text. None: unresolved."""
    chunks: list[tuple[str, bool]] = []
    for part in parts:
        if isinstance(part, str):
            chunks.append((part, True))
            continue
        if part.literal is not None:
            chunks.append((part.literal, False))
            continue
        values = keys.get(part.key) if part.key else None
        if values is not None and len(values) == 1:
            chunks.append((values[0], False))
        elif part.default is not None:
            chunks.append((part.default, False))
        else:
            return None
    return chunks


def has_variables(parts: tuple[Part, ...]) -> bool:
    """True when substitution is needed at request time."""
    return any(not isinstance(p, str) for p in parts)


class Matcher(Protocol):
    """Anything that says whether one request value matches one policy value."""

    def match(self, value: str, keys: Context) -> bool: ...


def _elements(chunks: list[tuple[str, bool]], arn: bool, expand: bool) -> list[str | int]:
    """Flatten chunks into literal characters and wildcard tokens."""
    flat = [(ch, is_pattern) for text, is_pattern in chunks for ch in text]
    out: list[str | int] = []
    colons = 0
    for i, (ch, is_pattern) in enumerate(flat):
        if ch == ":":
            colons += 1
        if not (is_pattern and ch in "*?"):
            out.append(ch)
        elif not arn or colons >= 5:
            out.append(STAR if ch == "*" else QMARK)
        elif ch == "*":
            ends_segment = i + 1 == len(flat) or flat[i + 1][0] == ":"
            out.append(STAR if expand and ends_segment else STAR_SEG)
        else:
            out.append(QMARK_SEG)
    return out


def _positions_match(elements: list[str | int], text: str) -> bool:
    """Match by tracking every reachable position; linear in len(elements) x len(text)."""
    n = len(text)
    positions = {0}
    for e in elements:
        if not positions:
            return False
        if e == STAR:
            positions = set(range(min(positions), n + 1))
        elif e == STAR_SEG:
            positions = _extend_segment(positions, text)
        elif e == QMARK:
            positions = {p + 1 for p in positions if p < n}
        elif e == QMARK_SEG:
            positions = {p + 1 for p in positions if p < n and text[p] != ":"}
        else:
            positions = {p + 1 for p in positions if p < n and text[p] == e}
    return n in positions


def _extend_segment(positions: set[int], text: str) -> set[int]:
    """Positions a segment-bound ``*`` can reach: up to the next colon."""
    out: set[int] = set()
    for p in positions:
        out.add(p)
        while p < len(text) and text[p] != ":":
            p += 1
            out.add(p)
    return out


class _Always:
    """The pattern ``*`` with wildcards on: matches every value."""

    __slots__ = ()
    regex = "(?s:.*)"

    def match(self, value: str, keys: Context) -> bool:
        return True


class _Equal:
    """A pattern without wildcards: one string comparison."""

    __slots__ = ("fold", "regex", "text")

    def __init__(self, text: str, fold: bool) -> None:
        self.text = text.lower() if fold else text
        self.fold = fold
        self.regex = None if fold else re.escape(text)

    def match(self, value: str, keys: Context) -> bool:
        return (value.lower() if self.fold else value) == self.text


class _Regex:
    """A pattern with wildcards and no variables: one precompiled regex."""

    __slots__ = ("fullmatch", "regex")

    def __init__(self, elements: list[str | int], fold: bool) -> None:
        body = "".join(_TO_REGEX[e] if isinstance(e, int) else re.escape(e) for e in elements)
        self.fullmatch = re.compile(body, re.DOTALL | (re.IGNORECASE if fold else 0)).fullmatch
        self.regex = None if fold else f"(?s:{body})"

    def match(self, value: str, keys: Context) -> bool:
        return self.fullmatch(value) is not None


class _Template:
    """A pattern with variables: substituted as literal text, then matched.

    The substituted values are looked up first and key a bounded memo, so a
    substitution seen before (the same user, the same tag value) costs a few dict
    lookups: the first sighting is matched by the position-set matcher, the
    second compiles and memoises a regex, so steady-state requests neither build
    a regex nor walk characters in Python.
    """

    __slots__ = ("arn", "expand", "fold", "memo", "parts", "regex", "variables", "wildcards")
    MEMO_LIMIT = 1024

    def __init__(self, parts: tuple[Part, ...], arn: bool, expand: bool, wildcards: bool, fold: bool) -> None:
        self.parts, self.arn, self.expand, self.wildcards, self.fold = parts, arn, expand, wildcards, fold
        self.variables = tuple(p for p in parts if isinstance(p, Variable) and p.literal is None)
        self.memo: dict[tuple[str, ...], Any] = {}
        self.regex = None

    def match(self, value: str, keys: Context) -> bool:
        """Substitute this request's values, then match (see the class docstring)."""
        if len(self.variables) == 1:  # the common case: the key's 1-tuple of values is the memo key
            var = self.variables[0]
            key = keys.get(var.key)  # type: ignore[arg-type]
            if key is None or len(key) != 1:
                if var.default is None:
                    return False
                key = (var.default,)
        else:
            subst = []
            for var in self.variables:
                values = keys.get(var.key) if var.key else None
                if values is not None and len(values) == 1:
                    subst.append(values[0])
                elif var.default is not None:
                    subst.append(var.default)
                else:
                    return False
            key = tuple(subst)
        seen = self.memo.get(key)
        if seen is None or seen is False:
            return self._first_sightings(key, seen, value, keys)
        if type(seen) is str:
            return (value.lower() if self.fold else value) == seen
        return seen(value.lower() if self.fold else value) is not None

    def body(self, keys: Context) -> str | None:
        """The regex text this pattern stands for with the request's values substituted.

        Plans fold it into their one resource regex once a substitution repeats.
        None when a variable does not resolve (the pattern then matches nothing)
        and for case-folding patterns, which a plain regex cannot express exactly.
        """
        chunks = None if self.fold else render(self.parts, keys)
        if chunks is None:
            return None
        if not self.wildcards:
            return re.escape("".join(text for text, _ in chunks))
        elements = _elements(chunks, self.arn, self.expand)
        return "(?s:" + "".join(_TO_REGEX[e] if isinstance(e, int) else re.escape(e) for e in elements) + ")"

    def _first_sightings(self, key: tuple[str, ...], seen: object, value: str, keys: Context) -> bool:
        chunks = render(self.parts, keys)
        assert chunks is not None  # the variables resolved above
        if self.fold:
            chunks = [(text.lower(), p) for text, p in chunks]
            value = value.lower()
        if len(self.memo) >= self.MEMO_LIMIT:
            self.memo.clear()
        if not self.wildcards:
            self.memo[key] = "".join(text for text, _ in chunks)
            return self.memo[key] == value
        elements = _elements(chunks, self.arn, self.expand)
        self.memo[key] = _Regex(elements, False).fullmatch if seen is False else False
        return _positions_match(elements, value)


@functools.lru_cache(maxsize=8192)
def compile_pattern(
    text: str, *, wildcards: bool, arn: bool = False, expand: bool = False, fold: bool = False,
    variables: bool = False,
) -> Matcher:
    """Compile one policy value into a matcher (see module docstring for the rules).

    Memoised: equal policy values share one matcher, so a plan can test each
    distinct value once per request however many statements repeat it.
    """
    parts: tuple[Part, ...] = parse_template(text) if variables else (text,)
    if has_variables(parts):
        return _Template(parts, arn, expand, wildcards, fold)
    if wildcards and text == "*":
        return _Always()
    if not wildcards or not any(ch in text for ch in "*?"):
        return _Equal(text, fold)
    return _Regex(_elements([(text, True)], arn, expand), fold)
