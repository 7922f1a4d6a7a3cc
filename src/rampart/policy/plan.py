"""Plans: what one (policy set, caller, action) leaves to test per request.

The rules are described in ``rampart.policy.evaluate``. A Plan applies them to
the statements that survive action and principal matching, which depend on
neither the resource nor the context, so they run once per plan.

Per request a plan computes a vector of *atoms*: each distinct resource test
(one regex call; statements listing the same values share it) and each distinct
condition (interned, with outcomes memoised per key value), evaluated once.
Everything after that is a pure function of the vector: each layer (an SCP
level, the identity policies, the boundary ...) keeps a bounded table from the
atoms it reads to its matching statements, and the plan a table from the whole
vector to the Decision. These tables cannot go stale: their keys are the
atom outcomes themselves, and a plan never changes after it is built.
"""

from __future__ import annotations


from collections.abc import Callable, Iterable, Sequence
import functools
import re
from dataclasses import replace
from typing import Any

from rampart.policy.compiler import CompiledPolicy, CompiledStatement, ResourceTest
from rampart.policy.conditions import HOLDS, MISSING, Condition
from rampart.policy.model import (
    Decision, DecisionKind, PolicySet, PolicyType, Principal, PrincipalType, RequestContext, StatementRef,
)
from rampart.policy.principals import Grant

# Actions AWS authorizes without any policy (GetCallerIdentity's API reference:
# "No permissions are required to perform this operation").
FREE_ACTIONS = frozenset({"sts:getcalleridentity"})
_IAM_IDENTITIES = (PrincipalType.USER, PrincipalType.ASSUMED_ROLE, PrincipalType.FEDERATED_USER)
_NO_SCP = (PrincipalType.SERVICE, PrincipalType.ANONYMOUS)
ALWAYS = -1  # a resource atom that always holds (a "*" value)
_TABLE_LIMIT = 1024

# What a layer yields: explicit-deny refs, (allow ref, grant) pairs, missing keys in order.
LayerHits = tuple[tuple[StatementRef, ...], tuple[tuple[StatementRef, Grant], ...], tuple[str, ...]]


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

    __slots__ = ("plain", "templated", "conditions", "index")

    def __init__(self) -> None:
        self.plain: list[ResourceTest] = []
        self.templated: list[Callable[[str, Any], bool]] = []
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
        if test.fullmatch is None and len(test.templates) == 1:
            return atoms.add("templated", test.templates[0].match, test)
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


class Stage:
    """A plan once the resource tests are known: the statements left and the conditions they read.

    Only conditions of statements whose resource matched are evaluated (as AWS
    does); their codes key a bounded table of Decisions.
    """

    __slots__ = ("plan", "layers", "lookups", "conditions", "table")

    def __init__(self, plan: Plan, head: tuple) -> None:
        self.plan = plan
        used: dict[int, int] = {}
        layers = []
        for entries in plan.entries:
            kept = []
            for deny, broken, res, not_res, conds, ref, grant in entries:
                if not broken and res is not None and (res == ALWAYS or head[res] is not None) is not_res:
                    continue
                local = tuple((used.setdefault(c, len(used)), name) for c, name in conds)
                kept.append((deny, broken, local, ref, grant))
            layers.append(tuple(kept))
        self.layers = tuple(layers)
        self.conditions = tuple(plan.conditions[c] for c in used)
        self.lookups = tuple((c.lookup, c.key) for c in self.conditions)
        self.table: dict[tuple, Decision] = {}

    def decide(self, keys: Any) -> Decision:
        """The Decision, given the request's context keys (None when no condition is left)."""
        if self.lookups:
            get = keys.get
            codes = [lookup(get(key)) for lookup, key in self.lookups]  # memo hits: two dict lookups each
            if None in codes:
                codes = [c.code(keys) if code is None else code for c, code in zip(self.conditions, codes)]
            vec = tuple(codes)
        else:
            vec = ()
        found = self.table.get(vec)
        if found is None:
            if len(self.table) >= _TABLE_LIMIT:
                self.table.clear()
            found = self.table[vec] = self.plan.combine([_scan(layer, vec) for layer in self.layers])
        return found


def _scan(entries: tuple, codes: tuple) -> LayerHits:
    """The statements (their resource already matched) whose conditions hold."""
    denies: list[StatementRef] = []
    allows: list[tuple[StatementRef, Grant]] = []
    missing: list[str] = []
    for deny, broken, conditions, ref, grant in entries:
        if broken:
            denies.append(ref)  # only a broken Deny is ever a candidate
            continue
        ok = True
        for atom, name in conditions:
            code = codes[atom]
            if code & MISSING:
                missing.append(name)
            if not code & HOLDS:
                ok = False
        if not ok:
            continue
        if deny:
            denies.append(ref)
        else:
            allows.append((ref, grant))
    return tuple(denies), tuple(allows), tuple(missing)


@functools.lru_cache(maxsize=1024)
def _head_matcher(patterns: tuple[str, ...]) -> Callable[[str], Any]:
    """One regex answering every plain resource test at once, with ``.groups()``.

    Each test becomes an optional lookahead ``(?:(?=(?:P)\\Z)())?``: it consumes
    nothing, and its empty group is '' when P matches the whole resource (a
    fullmatch, as the test alone would), None when not. The match itself always
    succeeds, so one C call yields the tuple of outcomes.
    """
    return re.compile("".join(f"(?:(?=(?:{p})\\Z)())?" for p in patterns)).match


class Plan:
    """Everything about one (policy set, caller, action, resource account) that no request changes.

    Per request: the resource tests (``head``) pick a Stage, which evaluates the
    conditions left and looks the Decision up (see the module docstring).
    """

    __slots__ = ("entries", "n_scp", "n_rcp", "has_boundary", "has_session", "head", "templated", "conditions",
                 "stages", "principal_type", "same_account", "resource_type", "must_allow")

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
        self.head = _head_matcher(tuple(t.pattern for t in atoms.plain))
        self.templated = tuple(atoms.templated)
        self.conditions = tuple(atoms.conditions)
        self.stages: dict[tuple, Stage] = {}
        self.principal_type, self.same_account = p.type, request.same_account
        self.resource_type = res.policy_type if res is not None else PolicyType.RESOURCE
        self.must_allow = policies.must_allow_explicitly

    def decide(self, request: RequestContext) -> Decision:
        """The Decision for one request this plan covers."""
        resource = request.resource
        key = self.head(resource).groups()
        if self.templated:
            keys = request.keys
            key += tuple(["" if t(resource, keys) else None for t in self.templated])
        stage = self.stages.get(key)
        if stage is None:
            if len(self.stages) >= _TABLE_LIMIT:
                self.stages.clear()
            stage = self.stages[key] = Stage(self, key)
        if not stage.lookups:
            found = stage.table.get(())
            return found if found is not None else stage.decide(None)
        keys = request.keys
        get = keys.get
        codes = tuple([lookup(get(key)) for lookup, key in stage.lookups])  # memo hits: two dict lookups each
        found = stage.table.get(codes)  # a code not memoised yet is None: never in the table
        return found if found is not None else stage.decide(keys)

    def combine(self, results: list[LayerHits]) -> Decision:
        """The decision logic proper, on the layers' outcomes (see ``rampart.policy.evaluate``)."""
        missing = [key for _, _, keys in results for key in keys]
        keys = _unique(missing) if missing else ()
        denies = [ref for refs, _, _ in results for ref in refs]
        if denies:
            return Decision(DecisionKind.EXPLICIT_DENY, tuple(denies), denies[0].policy_type, keys)
        n_scp, n_rcp = self.n_scp, self.n_rcp
        if any(not allows for _, allows, _ in results[:n_scp]):
            return Decision(DecisionKind.IMPLICIT_DENY, (), PolicyType.SCP, keys)
        if any(not allows for _, allows, _ in results[n_scp:n_scp + n_rcp]):
            return Decision(DecisionKind.IMPLICIT_DENY, (), PolicyType.RCP, keys)
        rest = iter(results[n_scp + n_rcp:])
        identity, resource = next(rest)[1], next(rest)[1]
        guard = None
        if self.has_boundary and not next(rest)[1]:
            guard = PolicyType.BOUNDARY
        if self.has_session and not next(rest)[1] and guard is None:
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


def _unique(keys: Sequence[str]) -> tuple[str, ...]:
    """Missing keys once each, first spelling kept (keys are case-insensitive)."""
    seen: dict[str, str] = {}
    for key in keys:
        seen.setdefault(key.lower(), key)
    return tuple(seen.values())
