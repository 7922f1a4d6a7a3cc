"""Condition operators, compiled once per statement.

Semantics follow the IAM reference pages "IAM JSON policy elements: Condition
operators" and "Single-valued vs. multivalued context keys": keys in a block AND,
values of one key OR, a missing key makes positive operators false and negated
ones true, ``...IfExists`` is true on a missing key, ``ForAllValues`` is true on
a missing or empty key, ``ForAnyValue`` false.

A condition whose operator or policy value cannot be understood raises
``ConditionError`` at compile time; the compiler then marks the statement broken
so it fails closed (an Allow never matches, a Deny always does).
"""

from __future__ import annotations

import base64
import binascii
import functools
import ipaddress
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timezone
from decimal import Decimal, InvalidOperation

from rampart.policy.model import Context
from rampart.policy.patterns import (
    Matcher,
    compile_pattern,
    has_variables,
    parse_template,
)

ValueTest = Callable[[str, Context], bool]


class ConditionError(ValueError):
    """A condition the engine cannot evaluate faithfully."""


def _strings(fold: bool, like: bool) -> Callable[[str, bool], ValueTest]:
    def build(raw: str, variables: bool) -> ValueTest:
        matcher: Matcher = compile_pattern(raw, wildcards=like, fold=fold, variables=variables)
        return matcher.match

    return build


def _arn(raw: str, variables: bool) -> ValueTest:
    return compile_pattern(raw, wildcards=True, arn=True, variables=variables).match


def parse_number(text: str) -> Decimal:
    """Numbers as IAM reads them; raises ValueError for anything else."""
    try:
        number = Decimal(text.strip())
    except InvalidOperation as exc:
        raise ValueError(text) from exc
    if not number.is_finite():
        raise ValueError(text)
    return number


def parse_date(text: str) -> float:
    """ISO 8601 (date or date-time, naive means UTC) or epoch seconds, as a timestamp."""
    text = text.strip()
    try:
        return float(parse_number(text))
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError as exc:
        raise ValueError(text) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


_COMPARE: dict[str, Callable[[object, object], bool]] = {
    "Equals": lambda a, b: a == b,
    "LessThan": lambda a, b: a < b,  # type: ignore[operator]
    "LessThanEquals": lambda a, b: a <= b,  # type: ignore[operator]
    "GreaterThan": lambda a, b: a > b,  # type: ignore[operator]
    "GreaterThanEquals": lambda a, b: a >= b,  # type: ignore[operator]
}


def _ordered(parse: Callable[[str], object], relation: str) -> Callable[[str, bool], ValueTest]:
    compare = _COMPARE[relation]

    def build(raw: str, variables: bool) -> ValueTest:
        try:
            bound = parse(raw)
        except ValueError as exc:
            raise ConditionError(f"bad value {raw!r}") from exc

        def test(value: str, keys: Context) -> bool:
            try:
                return compare(parse(value), bound)
            except ValueError:
                return False

        return test

    return build


def _bool(raw: str, variables: bool) -> ValueTest:
    expected = raw.strip().lower()
    if expected not in ("true", "false"):
        raise ConditionError(f"bad boolean {raw!r}")
    return lambda value, keys: value.strip().lower() == expected


def _binary(raw: str, variables: bool) -> ValueTest:
    try:
        expected = base64.b64decode(raw, validate=True)
    except binascii.Error as exc:
        raise ConditionError(f"bad base64 {raw!r}") from exc

    def test(value: str, keys: Context) -> bool:
        try:
            return base64.b64decode(value, validate=True) == expected
        except binascii.Error:
            return value.encode() == expected

    return test


@functools.lru_cache(maxsize=4096)
def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """Parse a request's IP once, not once per condition that tests it."""
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _ip(raw: str, variables: bool) -> ValueTest:
    try:
        network = ipaddress.ip_network(raw.strip(), strict=False)
    except ValueError as exc:
        raise ConditionError(f"bad CIDR {raw!r}") from exc

    def test(value: str, keys: Context) -> bool:
        address = _address(value)
        return address is not None and address.version == network.version and address in network

    return test


def _operators() -> dict[str, tuple[Callable[[str, bool], ValueTest], bool]]:
    """Base operator name -> (value compiler, negated)."""
    ops: dict[str, tuple[Callable[[str, bool], ValueTest], bool]] = {
        "StringEquals": (_strings(False, False), False),
        "StringNotEquals": (_strings(False, False), True),
        "StringEqualsIgnoreCase": (_strings(True, False), False),
        "StringNotEqualsIgnoreCase": (_strings(True, False), True),
        "StringLike": (_strings(False, True), False),
        "StringNotLike": (_strings(False, True), True),
        "Bool": (_bool, False),
        "BinaryEquals": (_binary, False),
        "IpAddress": (_ip, False),
        "NotIpAddress": (_ip, True),
        "ArnEquals": (_arn, False),
        "ArnLike": (_arn, False),
        "ArnNotEquals": (_arn, True),
        "ArnNotLike": (_arn, True),
    }
    for family, parse in (("Numeric", parse_number), ("Date", parse_date)):
        for relation in _COMPARE:
            ops[family + relation] = (_ordered(parse, relation), False)
        ops[family + "NotEquals"] = (_ordered(parse, "Equals"), True)
    return ops


OPERATORS = _operators()
_BY_LOWER = {name.lower(): name for name in OPERATORS}
QUALIFIERS = {"forallvalues": "ForAllValues", "foranyvalue": "ForAnyValue"}


@dataclass(frozen=True)
class OperatorSpec:
    """A parsed operator name: ``[ForAllValues:|ForAnyValue:]Base[IfExists]`` or Null."""

    base: str
    qualifier: str | None
    if_exists: bool


def parse_operator(name: str) -> OperatorSpec | None:
    """Parse an operator name (case-insensitively); None when IAM would not know it."""
    qualifier = None
    rest = name
    if ":" in name:
        prefix, rest = name.split(":", 1)
        qualifier = QUALIFIERS.get(prefix.lower())
        if qualifier is None:
            return None
    lower = rest.lower()
    if lower == "null":
        return OperatorSpec("Null", qualifier, False)
    if_exists = lower.endswith("ifexists")
    base = _BY_LOWER.get(lower[: -len("ifexists")] if if_exists else lower)
    return OperatorSpec(base, qualifier, if_exists) if base else None


# Bits of Condition.code(): the condition holds; its key was missing and counts as missing.
HOLDS, MISSING = 1, 2
_MEMO_LIMIT = 1024
_NEVER: dict = {}  # stays empty: the lookup of conditions whose outcome is never memoised


class Condition:
    """One (operator, key, values) triple of a Condition block.

    Conditions are interned (see ``compile_condition``): equal triples in any
    policy share one object, so a plan evaluates each once per request. When no
    value holds a policy variable the outcome depends on nothing but the key's
    values, and is memoised per values (bounded), so an IP range, date or number
    is parsed once per distinct request value, not once per request.
    """

    __slots__ = ("absent", "if_exists", "key", "key_name", "lookup", "memo", "negated", "null", "qualifier", "tests")

    def __init__(self, operator: str, key: str, values: Sequence[str], variables: bool) -> None:
        spec = parse_operator(operator)
        if spec is None:
            raise ConditionError(f"unknown operator {operator!r}")
        self.key, self.key_name = key.lower(), key
        self.qualifier, self.if_exists = spec.qualifier, spec.if_exists
        self.null: bool | None = None
        self.tests: tuple[ValueTest, ...] = ()
        self.negated = False
        if spec.base == "Null":
            self.null = _null_expectation(values)
        else:
            build, self.negated = OPERATORS[spec.base]
            self.tests = tuple(build(v, variables) for v in values)
        self.absent = self._absent_code()
        uses_variables = variables and any(has_variables(parse_template(v)) for v in values)
        self.memo: dict[tuple[str, ...] | None, int] | None = None if uses_variables else {}
        # The fast path plans take: memo.get on the key's values (None when absent),
        # answering None when the outcome is not memoised yet (or never is).
        self.lookup = self.memo.get if self.memo is not None else _NEVER.get

    def _absent_code(self) -> int:
        """code() when the request lacks the key: fixed by the operator alone."""
        if self.null is not None:
            return HOLDS if self.null else 0
        holds = self.if_exists or self.qualifier == "ForAllValues" or (self.negated and self.qualifier is None)
        return (HOLDS if holds else 0) | (0 if self.if_exists else MISSING)

    def code(self, keys: Context) -> int:
        """HOLDS when the request satisfies this condition, MISSING when its key counts as missing."""
        values = keys.get(self.key)
        memo = self.memo
        if memo is None:
            if values is None:
                return self.absent
            return HOLDS if self._holds(values, keys) else 0
        found = memo.get(values)
        if found is None:
            if len(memo) >= _MEMO_LIMIT:
                memo.clear()
            if values is None:
                found = memo[None] = self.absent
            else:
                found = memo[values] = HOLDS if self._holds(values, keys) else 0
        return found

    def evaluate(self, keys: Context, missing: list[str] | None) -> bool:
        """Whether the request satisfies this condition; notes missing keys in ``missing``."""
        found = self.code(keys)
        if found & MISSING and missing is not None:
            missing.append(self.key_name)
        return bool(found & HOLDS)

    def _holds(self, values: tuple[str, ...], keys: Context) -> bool:
        if self.null is not None:
            return (not values) == self.null
        if len(values) == 1 and self.qualifier is None:
            return self._value_holds(values[0], keys)
        results = (self._value_holds(v, keys) for v in values)
        if self.qualifier == "ForAllValues" or (self.qualifier is None and self.negated):
            return all(results)
        return any(results)

    def _value_holds(self, value: str, keys: Context) -> bool:
        hit = False
        for test in self.tests:
            if test(value, keys):
                hit = True
                break
        return hit is not self.negated


@functools.lru_cache(maxsize=8192)
def compile_condition(operator: str, key: str, values: tuple[str, ...], variables: bool) -> Condition:
    """The one shared Condition for this triple (raises ConditionError when not understood)."""
    return Condition(operator, key, values, variables)


def _null_expectation(values: Sequence[str]) -> bool:
    """Null takes "true" (key must be absent) or "false" (key must be present)."""
    if len(values) != 1 or values[0].strip().lower() not in ("true", "false"):
        raise ConditionError("Null needs one of true or false")
    return values[0].strip().lower() == "true"


def condition_values(raw: object) -> list[str]:
    """A condition's values as strings (JSON booleans and numbers are allowed)."""
    items = raw if isinstance(raw, list) else [raw]
    out = []
    for item in items:
        if isinstance(item, bool):
            out.append("true" if item else "false")
        elif isinstance(item, (str, int, float)):
            out.append(str(item))
        else:
            raise ConditionError(f"bad condition value {item!r}")
    return out


def compile_block(block: object, variables: bool) -> tuple[Condition, ...]:
    """Compile a whole Condition element; raises ConditionError when not understood."""
    if not isinstance(block, dict):
        raise ConditionError("Condition must be an object")
    out = []
    for operator, entries in block.items():
        if not isinstance(entries, dict):
            raise ConditionError(f"{operator} must map keys to values")
        for key, raw in entries.items():
            out.append(compile_condition(operator, key, tuple(condition_values(raw)), variables))
    return tuple(out)
