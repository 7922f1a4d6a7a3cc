"""Plans: what one (policy set, caller, action) leaves to test per request.

The rules are described in ``rampart.policy.evaluate``. A Plan applies them to
the statements that survive action and principal matching, which depend on
neither the resource nor the context, so they run once per plan.

Per request a plan answers its distinct resource tests together (a memo per
resource string, shared by every plan with the same tests; one regex call on a
miss), which picks a Stage: the statements whose resource matched and the
conditions they read. The Stage turns the request's context values into
condition codes (memoised per value) and looks the Decision up in a table keyed
by those codes (see ``rampart.policy.stage``). Nothing here can go stale: every
table is keyed by the outcomes it summarises, and a plan never changes after it
is built.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

from rampart.policy.compiler import CompiledPolicy, CompiledStatement, ResourceTest
from rampart.policy.conditions import Condition
from rampart.policy.model import (
    Decision,
    DecisionKind,
    PolicySet,
    PolicyType,
    Principal,
    PrincipalType,
    RequestContext,
    StatementRef,
)
from rampart.policy.principals import Grant
from rampart.policy.stage import ALWAYS, MISSES, TABLE_LIMIT, Stage

# Actions AWS authorizes without any policy (GetCallerIdentity's API reference:
# "No permissions are required to perform this operation").
FREE_ACTIONS = frozenset({"sts:getcalleridentity"})
_IAM_IDENTITIES = (PrincipalType.USER, PrincipalType.ASSUMED_ROLE, PrincipalType.FEDERATED_USER)
_NO_SCP = (PrincipalType.SERVICE, PrincipalType.ANONYMOUS)
_HEAD_MEMO_LIMIT = 4096
_COMBINE_AFTER = 16  # resources a head tests one by one before it compiles its one regex
_get = dict.get  # dict.get(memo, value) through ``map``: a C call per condition, no bytecode


def scp_exempt(p: Principal) -> bool:
    """SCPs do not apply to the management account, service-linked roles or services."""
    return p.in_management_account or p.is_service_linked_role or p.type in _NO_SCP


def rcp_exempt(request: RequestContext) -> bool:
    """RCPs do not apply to resources of the management account nor to service-linked roles."""
    p = request.principal
    in_management = request.resource_in_management_account
    if in_management is None:
        in_management = request.same_account and p.in_management_account
    return in_management or p.is_service_linked_role


class Atoms:
    """The distinct tests of one plan, registered once each, in vector order per kind."""

    __slots__ = ("conditions", "index", "plain", "templated")

    def __init__(self) -> None:
        self.plain: list[ResourceTest] = []
        self.templated: list[ResourceTest] = []
        self.conditions: list[Condition] = []
        self.index: dict[int, tuple[str, int]] = {}

    def add(self, kind: str, test: Any, owner: object = None) -> tuple[str, int]:
        """Register a test once; returns (kind, position within kind).

        Tests are interned, so identity dedupes; a bound method is named by its
        ``owner`` (each attribute access makes a new method object).
        """
        ident = id(test if owner is None else owner)
        found = self.index.get(ident)
        if found is None:
            pool = getattr(self, kind)
            found = self.index[ident] = (kind, len(pool))
            pool.append(test)
        return found

    def position(self, found: tuple[str, int]) -> int:
        """The test's index in the vector: plain resource tests, templated ones, conditions."""
        kind, i = found
        if kind == "plain":
            return i
        if kind == "templated":
            return len(self.plain) + i
        return len(self.plain) + len(self.templated) + i


def _resource_atom(stmt: CompiledStatement, atoms: Atoms) -> Any:
    test = stmt.resource_test
    if test is None:
        return None
    if test.always:
        return ALWAYS
    if test.templates:
        return atoms.add("templated", test)
    return atoms.add("plain", test)


def _principal_grant(stmt: CompiledStatement, p: Principal, has_boundary: bool) -> Grant | None:
    spec = stmt.principal
    assert spec is not None
    if not stmt.not_principal:
        return spec.grant(p)
    if stmt.deny:
        # NotPrincipal page: with Deny it always denies a principal that has
        # a permissions boundary, whatever the element lists.
        spared = not has_boundary and spec.excludes(p)
        return None if spared else Grant.EXACT
    return Grant.EXACT if spec.grant(p) is None else None


def _raw_entries(policies: Iterable[CompiledPolicy], layer: PolicyType, request: RequestContext,
                 has_boundary: bool, atoms: Atoms) -> list[tuple]:
    """The statements of one layer that survive action and principal matching, in document order."""
    out = []
    for policy in policies:
        for stmt in policy.candidates(request.action_lc):
            ref = stmt.ref if stmt.ref.policy_type is layer else replace(stmt.ref, policy_type=layer)
            grant: Grant | None = Grant.EXACT
            if stmt.principal is not None and not stmt.broken:
                grant = _principal_grant(stmt, request.principal, has_boundary)
            if grant is None:
                continue
            if stmt.broken:
                out.append((stmt.deny, True, None, False, (), ref, grant))
                continue
            conditions = tuple((atoms.add("conditions", c), c.key_name) for c in stmt.conditions)
            out.append((stmt.deny, False, _resource_atom(stmt, atoms), stmt.not_resource, conditions, ref, grant))
    return out


def _positions(raw: list[tuple], atoms: Atoms) -> tuple:
    """Entries with resource atoms as head positions and conditions as condition indices.

    The head is the plain tests' outcomes ('' matched, None not), then the templated ones'.
    """
    out = []
    for deny, broken, res, not_res, conds, ref, grant in raw:
        if isinstance(res, tuple):
            res = atoms.position(res)
        out.append((deny, broken, res, not_res, tuple((found[1], name) for found, name in conds), ref, grant))
    return tuple(out)


class Head:
    """The resource tests of a plan, answered together, with a memo per resource.

    Once a head has met more than a few resources its tests become one regex:
    each test an optional lookahead ``(?:(?=(?:P)\\Z)())?`` that consumes
    nothing, its empty group '' when P matches the whole resource (a fullmatch,
    as the test alone would), None when not; the match always succeeds, so one C
    call yields the tuple of outcomes. Before that (and for heads that never get
    there) the tests run one by one: compiling the big regex costs milliseconds.
    Heads are shared by every plan with the same tests (``head_for``), and so is
    the bounded memo of outcomes per resource string.
    """

    __slots__ = ("match", "memo", "misses", "patterns", "tests")

    def __init__(self, patterns: tuple[str, ...]) -> None:
        self.patterns = patterns
        self.tests = tuple(re.compile(p).fullmatch for p in patterns)  # mostly in re's cache already
        self.match: Callable[[str], Any] | None = None
        self.misses = 0
        self.memo: dict[str, tuple] = {}

    def groups(self, resource: str) -> tuple:
        """The tests' outcomes ('' matched, None not), without the memo."""
        if self.match is None:
            self.misses += 1
            if self.misses <= _COMBINE_AFTER:
                return tuple(["" if test(resource) is not None else None for test in self.tests])
            self.match = re.compile("".join(f"(?:(?=(?:{p})\\Z)())?" for p in self.patterns)).match
        return self.match(resource).groups()

    def outcomes(self, resource: str) -> tuple:
        """The tests' outcomes for a resource not in the memo (then memoised)."""
        MISSES["resource"] += 1
        found = self.groups(resource)
        memo = self.memo
        if len(memo) >= _HEAD_MEMO_LIMIT:  # forget the older half: a working set near the limit keeps its hits
            for stale in list(itertools.islice(memo, _HEAD_MEMO_LIMIT // 2)):
                del memo[stale]
        memo[resource] = found
        return found


@functools.lru_cache(maxsize=1024)
def head_for(patterns: tuple[str, ...]) -> Head | None:
    """The shared Head for these resource tests (None without tests)."""
    return Head(patterns) if patterns else None


def _alternatives(test: ResourceTest, keys: Any) -> str | None:
    """A templated test as regex text for this request's substitutions; None if a template can't say."""
    bodies = [test.pattern] if test.pattern is not None else []
    for template in test.templates:
        body = template.body(keys) if hasattr(template, "body") else None
        if body is None:
            if getattr(template, "fold", True):
                return None  # not expressible as one regex: the plan keeps calling the test
            continue  # unresolved variable: this value matches nothing
        bodies.append(body)
    return "|".join(f"(?:{b})" for b in bodies) if bodies else "(?!)"


class Plan:
    """Everything about one (policy set, caller, action, resource account) that no request changes.

    Per request: the resource tests pick a Stage, which evaluates the conditions
    left and looks the Decision up (see ``rampart.policy.stage``). The resource
    tests are one regex (``head``); with policy variables in Resource values, one
    regex per substitution seen twice (``heads``: the variables' context values ->
    the regex, or False when seen once), the tests themselves before that.
    """

    __slots__ = (
        "conditions",
        "entries",
        "fixed",
        "has_boundary",
        "has_session",
        "head",
        "heads",
        "must_allow",
        "n_rcp",
        "n_scp",
        "plain",
        "principal_type",
        "resource_type",
        "same_account",
        "stages",
        "template_keys",
        "templated",
    )

    def __init__(self, request: RequestContext, policies: PolicySet) -> None:
        p = request.principal
        is_iam = p.type in _IAM_IDENTITIES
        has_boundary = policies.boundary is not None
        atoms = Atoms()
        raw = lambda ps, layer: _raw_entries(ps, layer, request, has_boundary, atoms)  # noqa: E731
        scps = [] if scp_exempt(p) else [raw(level, PolicyType.SCP) for level in policies.scp_levels]
        rcps = [] if rcp_exempt(request) else [raw(level, PolicyType.RCP) for level in policies.rcp_levels]
        res = policies.resource
        layers = [*scps, *rcps, raw(policies.identity, PolicyType.IDENTITY) if is_iam else [],
                  raw((res,), res.policy_type) if res is not None else []]
        self.has_boundary = has_boundary and is_iam
        self.has_session = bool(policies.session) and is_iam
        if self.has_boundary:
            layers.append(raw((policies.boundary,), PolicyType.BOUNDARY))
        if self.has_session:
            layers.append(raw(policies.session, PolicyType.SESSION))
        self.entries = tuple(_positions(entries, atoms) for entries in layers)
        self.n_scp, self.n_rcp = len(scps), len(rcps)
        self.plain = tuple(t.pattern for t in atoms.plain)
        self.templated = tuple(atoms.templated)
        self.head = None if self.templated else head_for(self.plain)
        self.template_keys = tuple(dict.fromkeys(
            v.key for t in self.templated for m in t.templates for v in m.variables))  # type: ignore[attr-defined]
        self.heads: dict[tuple, Any] = {}
        self.conditions = tuple(atoms.conditions)
        self.stages: dict[tuple, Stage] = {}
        self.principal_type, self.same_account = p.type, request.same_account
        self.resource_type = res.policy_type if res is not None else PolicyType.RESOURCE
        self.must_allow = policies.must_allow_explicitly
        self.fixed = Stage(self, ()) if not self.plain and not self.templated else None

    def decide(self, request: RequestContext) -> Decision:
        """The Decision for one request this plan covers: the hot path, kept flat."""
        stage = self.fixed
        if stage is None:
            head = self.head
            if head is None:  # policy variables in Resource values: the regex for this substitution
                head = self.heads.get(tuple(map(request.keys.get, self.template_keys)))
            if head:
                key = head.memo.get(request.resource)
                if key is None:
                    key = head.outcomes(request.resource)
            else:
                key = self._first_sightings(request)
            stage = self.stages.get(key)
            if stage is None:
                if len(self.stages) >= TABLE_LIMIT:
                    self.stages.clear()
                stage = self.stages[key] = Stage(self, key)
        if stage.keys:
            keys = request.keys
            codes = tuple(map(_get, stage.memos, map(keys.get, stage.keys)))
            found = stage.table.get(codes)  # a code not memoised yet is None: never in the table
            return found if found is not None else stage.decide(codes, keys)
        found = stage.table.get(())
        return found if found is not None else stage.decide((), None)

    def _first_sightings(self, request: RequestContext) -> tuple:
        """Resource outcomes for a substitution without its regex yet: the tests, then the regex."""
        MISSES["resource"] += 1
        keys, resource = request.keys, request.resource
        subst = tuple(map(keys.get, self.template_keys))
        if subst in self.heads:  # seen once: compile the substitution into one regex from now on
            bodies = [_alternatives(t, keys) for t in self.templated]
            head = head_for(self.plain + tuple(bodies)) if None not in bodies else None
            if head is not None:
                self.heads[subst] = head
                return head.outcomes(resource)
        elif len(self.heads) >= TABLE_LIMIT:
            self.heads.clear()
        self.heads.setdefault(subst, False)
        plain = head_for(self.plain)
        key = plain.groups(resource) if plain is not None else ()
        return key + tuple(["" if t(resource, keys) else None for t in self.templated])

    def combine(self, allows: list[tuple], keys: tuple[str, ...]) -> Decision:
        """The decision logic proper when no explicit deny matched (see ``rampart.policy.evaluate``).

        ``allows`` holds each layer's matching (allow ref, grant) pairs, in layer order.
        """
        n_scp, n_rcp = self.n_scp, self.n_rcp
        if not all(allows[:n_scp]):
            return Decision(DecisionKind.IMPLICIT_DENY, (), PolicyType.SCP, keys)
        if not all(allows[n_scp:n_scp + n_rcp]):
            return Decision(DecisionKind.IMPLICIT_DENY, (), PolicyType.RCP, keys)
        rest = iter(allows[n_scp + n_rcp:])
        identity, resource = next(rest), next(rest)
        guard = None
        if self.has_boundary and not next(rest):
            guard = PolicyType.BOUNDARY
        if self.has_session and not next(rest) and guard is None:
            guard = PolicyType.SESSION
        outcome = self._grant(identity, resource, guard)
        if isinstance(outcome, PolicyType):
            return Decision(DecisionKind.IMPLICIT_DENY, (), outcome, keys)
        return Decision(DecisionKind.ALLOWED, tuple(outcome), None, keys)

    def _grant(self, identity: tuple, resource: tuple, guard: PolicyType | None) -> list[StatementRef] | PolicyType:
        """Who grants: the statements that allow, or the policy type that failed to."""
        resource_type = self.resource_type
        grant = max((g for _, g in resource), default=None)
        resource_refs = [ref for ref, _ in resource]
        if self.principal_type in _NO_SCP:  # services and anonymous callers have no identity policies
            return resource_refs if grant is not None else resource_type
        is_root = self.principal_type is PrincipalType.ROOT
        identity_ok = is_root or bool(identity)
        identity_refs = [ref for ref, _ in identity]
        if not self.same_account:
            if not identity_ok:
                return PolicyType.IDENTITY
            if guard is not None:
                return guard
            return [*identity_refs, *resource_refs] if grant is not None else resource_type
        if self.must_allow and grant is None:
            return resource_type
        if grant is Grant.EXACT or (grant is Grant.ISSUER and guard is None):
            return resource_refs
        if is_root:
            return resource_refs
        if identity_ok and guard is None:
            return [*identity_refs, *resource_refs]
        return guard if identity_ok or grant is Grant.ISSUER else PolicyType.IDENTITY


