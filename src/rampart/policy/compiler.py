"""Compiling a policy document once into a structure that evaluates fast.

Each statement's actions, resources, principals and conditions are turned into
matchers up front; statements are indexed by the action's service prefix, and
the candidates for each concrete action are memoised per policy, so the per-
request work is only resources, principals and conditions of statements that
can apply. Compiled policies are cached by content hash (LRU).

Compilation never rejects: validation is ``validate_policy``'s job. A statement
the engine cannot understand is marked broken and fails closed: a broken Allow
never matches, a broken Deny (or one with an unknown Effect) always does.
"""

from __future__ import annotations

import functools
import re
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from rampart.policy.conditions import (
    Condition,
    ConditionError,
    compile_block,
    compile_condition,
)
from rampart.policy.document import Document, content_key, load, statements
from rampart.policy.errors import MalformedPolicyDocument
from rampart.policy.model import PolicyType, StatementRef
from rampart.policy.patterns import Matcher, compile_pattern
from rampart.policy.principals import PrincipalSpec, as_list

_ACTION_CACHE_LIMIT = 8192


class CompiledStatement:
    """One statement, ready to test against requests."""

    __slots__ = (
        "action_patterns",
        "any_action",
        "broken",
        "conditions",
        "deny",
        "exact_actions",
        "not_action",
        "not_principal",
        "not_resource",
        "principal",
        "ref",
        "resource_test",
        "resources",
        "vendor_set",
    )

    def __init__(self, ref: StatementRef) -> None:
        self.ref = ref
        self.deny = ref.effect != "Allow"
        self.broken = False
        self.any_action = False
        self.exact_actions: frozenset[str] = frozenset()
        self.action_patterns: tuple[Any, ...] = ()
        self.not_action = False
        self.vendor_set: frozenset[str] | None = None
        self.resources: tuple[Matcher, ...] | None = None
        self.not_resource = False
        self.principal: PrincipalSpec | None = None
        self.not_principal = False
        self.conditions: tuple[Condition, ...] = ()
        self.resource_test: ResourceTest | None = None

    def action_matches(self, action_lc: str) -> bool:
        """Action / NotAction test on a lower-cased action (actions ignore case)."""
        if self.broken:
            return self.deny
        hit = (
            self.any_action
            or action_lc in self.exact_actions
            or any(p(action_lc) is not None for p in self.action_patterns)
        )
        return hit != self.not_action

    def vendors(self) -> set[str] | None:
        """Service prefixes this statement can match; None when it may match any."""
        if self.broken or self.not_action or self.any_action:
            return None
        return set(self.vendor_set) if self.vendor_set is not None else None


class CompiledPolicy:
    """A policy compiled for evaluation; immutable apart from its action memo."""

    def __init__(self, policy_id: str, policy_type: PolicyType, version: str | None,
                 stmts: tuple[CompiledStatement, ...]) -> None:
        self.policy_id = policy_id
        self.policy_type = policy_type
        self.version = version
        self.statements = stmts
        self._by_vendor: dict[str, list[CompiledStatement]] = {}
        self._anywhere: list[CompiledStatement] = []
        self._memo: dict[str, tuple[CompiledStatement, ...]] = {}
        for s in stmts:
            vendors = s.vendors()
            if vendors is None:
                self._anywhere.append(s)
            for vendor in vendors or ():
                self._by_vendor.setdefault(vendor, []).append(s)

    def candidates(self, action_lc: str) -> tuple[CompiledStatement, ...]:
        """Statements whose Action/NotAction match this action, in document order."""
        found = self._memo.get(action_lc)
        if found is None:
            vendor = action_lc.split(":", 1)[0]
            pool = {id(s) for s in [*self._by_vendor.get(vendor, ()), *self._anywhere]}
            found = tuple(s for s in self.statements if id(s) in pool and s.action_matches(action_lc))
            if len(self._memo) >= _ACTION_CACHE_LIMIT:
                self._memo.clear()
            self._memo[action_lc] = found
        return found

    def __repr__(self) -> str:
        return f"CompiledPolicy({self.policy_id!r}, {self.policy_type.name}, {len(self.statements)} statements)"


def _strings(value: object) -> list[str]:
    items = as_list(value)
    if not items or not all(isinstance(v, str) for v in items):
        raise ValueError("expected strings")
    return items  # type: ignore[return-value]


def _compile_actions(stmt: CompiledStatement, raw: Mapping[str, Any]) -> None:
    if ("Action" in raw) == ("NotAction" in raw):
        raise ValueError("need exactly one of Action, NotAction")
    stmt.not_action = "NotAction" in raw
    exact, patterns = set(), []
    vendors: set[str] | None = set()
    for action in _strings(raw["NotAction" if stmt.not_action else "Action"]):
        action = action.lower()
        vendor = action.split(":", 1)[0] if ":" in action else "*"
        if vendors is not None and ("*" in vendor or "?" in vendor):
            vendors = None
        elif vendors is not None:
            vendors.add(vendor)
        if action == "*":
            stmt.any_action = True
        elif "*" in action or "?" in action:
            body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in action)
            patterns.append(re.compile(body, re.DOTALL).fullmatch)
        else:
            exact.add(action)
    stmt.exact_actions, stmt.action_patterns = frozenset(exact), tuple(patterns)
    stmt.vendor_set = frozenset(vendors) if vendors is not None else None


def _compile_resources(stmt: CompiledStatement, raw: Mapping[str, Any], variables: bool) -> None:
    if "Resource" in raw and "NotResource" in raw:
        raise ValueError("both Resource and NotResource")
    stmt.not_resource = "NotResource" in raw
    key = "NotResource" if stmt.not_resource else "Resource"
    if key in raw:
        stmt.resources = tuple(
            compile_pattern(r, wildcards=True, arn=True, expand=True, variables=variables) for r in _strings(raw[key])
        )
        stmt.resource_test = resource_test(stmt.resources)


class ResourceTest:
    """A statement's Resource/NotResource list as one test: whether any value matches.

    Values without variables are merged into one regex (an alternation), so a
    list costs one C call; values with variables stay matchers. Tests are
    interned (``resource_test``), so statements listing the same values share
    one, which a plan evaluates once per request.
    """

    __slots__ = ("always", "fullmatch", "pattern", "templates")

    def __init__(self, bodies: tuple[str, ...], templates: tuple[Matcher, ...], always: bool) -> None:
        self.always = always
        self.templates = templates
        self.pattern = "|".join(f"(?:{b})" for b in bodies) if bodies else None
        self.fullmatch = re.compile(self.pattern).fullmatch if self.pattern is not None else None

    def __call__(self, resource: str, keys: Any) -> bool:
        """Whether ``resource`` matches one of the values (templates need the request's keys)."""
        if self.fullmatch is not None and self.fullmatch(resource) is not None:
            return True
        for t in self.templates:
            if t.match(resource, keys):
                return True
        return False


@functools.lru_cache(maxsize=8192)
def resource_test(matchers: tuple[Matcher, ...]) -> ResourceTest:
    """The shared ResourceTest for one list of (interned) matchers."""
    always = any(m.regex == "(?s:.*)" for m in matchers if m.regex is not None)
    bodies = tuple(dict.fromkeys(m.regex for m in matchers if m.regex is not None))
    templates = tuple(m for m in matchers if m.regex is None)
    return ResourceTest(bodies, templates, always)


def _compile_principal(stmt: CompiledStatement, raw: Mapping[str, Any]) -> None:
    if "Principal" in raw and "NotPrincipal" in raw:
        raise ValueError("both Principal and NotPrincipal")
    stmt.not_principal = "NotPrincipal" in raw
    key = "NotPrincipal" if stmt.not_principal else "Principal"
    if key in raw:
        stmt.principal = PrincipalSpec(raw[key])


def compile_statement(raw: object, index: int, policy_id: str, policy_type: PolicyType,
                      variables: bool) -> CompiledStatement:
    """Compile one statement, marking it broken rather than raising."""
    body: Mapping[str, Any] = raw if isinstance(raw, dict) else {}
    sid = body.get("Sid")
    effect = body.get("Effect")
    ref = StatementRef(policy_id, sid if isinstance(sid, str) else None,
                       effect if effect in ("Allow", "Deny") else "Deny", policy_type, index)
    stmt = CompiledStatement(ref)
    try:
        if not isinstance(raw, dict) or effect not in ("Allow", "Deny"):
            raise ValueError("statement not understood")
        _compile_actions(stmt, body)
        _compile_resources(stmt, body, variables)
        _compile_principal(stmt, body)
        if "Condition" in body:
            stmt.conditions = compile_block(body["Condition"], variables)
    except (ValueError, ConditionError):
        stmt.broken = True
    return stmt


def _build(document: Document, policy_id: str, policy_type: PolicyType) -> CompiledPolicy:
    try:
        doc = load(document)
    except MalformedPolicyDocument:
        broken = compile_statement(None, 0, policy_id, policy_type, False)
        return CompiledPolicy(policy_id, policy_type, None, (broken,))
    version = doc.get("Version") if isinstance(doc.get("Version"), str) else None
    variables = version == "2012-10-17"
    stmts = tuple(
        compile_statement(raw, i, policy_id, policy_type, variables) for i, raw in enumerate(statements(doc))
    )
    return CompiledPolicy(policy_id, policy_type, version, stmts)


class _LRU:
    """A small LRU of compiled policies keyed by (content hash, id, type)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.entries: OrderedDict[tuple[str, str, PolicyType], CompiledPolicy] = OrderedDict()

    def get(self, key: tuple[str, str, PolicyType]) -> CompiledPolicy | None:
        found = self.entries.get(key)
        if found is not None:
            self.entries.move_to_end(key)
        return found

    def put(self, key: tuple[str, str, PolicyType], value: CompiledPolicy) -> None:
        self.entries[key] = value
        if len(self.entries) > self.size:
            self.entries.popitem(last=False)


_CACHE = _LRU(4096)


def compile_policy(document: Document, policy_id: str, policy_type: PolicyType) -> CompiledPolicy:
    """Compile (or fetch from the content-hash cache) one policy document."""
    key = (content_key(document), policy_id, policy_type)
    found = _CACHE.get(key)
    if found is None:
        found = _build(document, policy_id, policy_type)
        _CACHE.put(key, found)
    return found


def clear_cache() -> None:
    """Forget every compiled policy, interned matcher, condition and plan.

    Tests and the benchmark measure cold compilation with this.
    """
    from rampart.policy.evaluate import clear_plans  # evaluate imports this module

    _CACHE.entries.clear()
    resource_test.cache_clear()
    compile_pattern.cache_clear()  # type: ignore[attr-defined]
    compile_condition.cache_clear()
    clear_plans()
