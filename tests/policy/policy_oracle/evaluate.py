"""The evaluation logic: one request, every applicable policy, one Decision.

Follows the IAM User Guide pages "Policy evaluation logic", "Cross-account
policy evaluation logic", "Permissions boundaries for IAM entities", "Session
policies", "Service control policies (SCPs)" and "Resource control policies
(RCPs)":

1. an explicit deny in any applicable policy wins;
2. every SCP level and every RCP level must allow (the management account is
   exempt from both, service-linked roles and service principals from SCPs);
3. within one account the identity-based policies (cut down by the boundary and
   session policies) or the resource-based policy may grant, according to how
   the resource policy names the caller; across accounts both must;
4. KMS key policies and role trust policies must themselves allow, and identity
   policies count only when they grant the account.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from policy_oracle.compiler import CompiledPolicy, CompiledStatement
from policy_oracle.conditions import Condition
from rampart.policy.model import (
    Decision, DecisionKind, PolicySet, PolicyType, Principal, PrincipalType, RequestContext, StatementRef,
)
from policy_oracle.context import OracleRequest
from policy_oracle.principals import Grant

# Actions AWS authorizes without any policy (GetCallerIdentity's API reference:
# "No permissions are required to perform this operation").
FREE_ACTIONS = frozenset({"sts:getcalleridentity"})
_IAM_IDENTITIES = (PrincipalType.USER, PrincipalType.ASSUMED_ROLE, PrincipalType.FEDERATED_USER)
_NO_SCP = (PrincipalType.SERVICE, PrincipalType.ANONYMOUS)


class Hits:
    """Matching statements of one layer: explicit denies and allows with their grant kind."""

    __slots__ = ("denies", "allows")

    def __init__(self) -> None:
        self.denies: list[StatementRef] = []
        self.allows: list[tuple[StatementRef, Grant]] = []

    @property
    def allowed(self) -> bool:
        return bool(self.allows)

    def best_grant(self) -> Grant | None:
        return max((g for _, g in self.allows), default=None)

    def refs(self) -> list[StatementRef]:
        return [ref for ref, _ in self.allows]


# (deny, broken, resource matchers, not_resource, conditions, ref, grant): flat for a fast scan loop.
Entry = tuple[bool, bool, Any, bool, tuple[Condition, ...], StatementRef, Grant]


class Prepared:
    """What one (caller, action) pair leaves to check per request, layer by layer.

    Action and principal matching do not depend on the resource or the context,
    so they are done once per PolicySet and memoised; per request only resources
    and conditions of the surviving statements are tested.
    """

    __slots__ = ("scps", "rcps", "identity", "resource", "boundary", "session")

    def __init__(self, request: RequestContext, policies: PolicySet) -> None:
        p = request.principal
        is_iam = p.type in _IAM_IDENTITIES
        has_boundary = policies.boundary is not None
        entries = lambda ps, layer: _entries(ps, layer, request, has_boundary)  # noqa: E731
        self.scps = () if scp_exempt(p) else tuple(entries(lvl, PolicyType.SCP) for lvl in policies.scp_levels)
        self.rcps = () if rcp_exempt(request) else tuple(entries(lvl, PolicyType.RCP) for lvl in policies.rcp_levels)
        self.identity = entries(policies.identity, PolicyType.IDENTITY) if is_iam else ()
        res = policies.resource
        self.resource = entries((res,), res.policy_type) if res is not None else ()
        self.boundary = entries((policies.boundary,), PolicyType.BOUNDARY) if has_boundary and is_iam else None
        self.session = entries(policies.session, PolicyType.SESSION) if policies.session and is_iam else None


def _entries(policies: Iterable[CompiledPolicy], layer: PolicyType, request: RequestContext,
             has_boundary: bool) -> tuple[Entry, ...]:
    out = []
    for policy in policies:
        for stmt in policy.candidates(request.action_lc):
            ref = stmt.ref if stmt.ref.policy_type is layer else replace(stmt.ref, policy_type=layer)
            grant = Grant.EXACT
            if stmt.principal is not None and not stmt.broken:
                grant = _principal_grant(stmt, request.principal, has_boundary)
            if grant is not None:
                out.append((stmt.deny, stmt.broken, stmt.resources, stmt.not_resource, stmt.conditions, ref, grant))
    return tuple(out)


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


_PLAN_LIMIT = 4096


def prepare(request: RequestContext, policies: PolicySet) -> Prepared:
    """The memoised Prepared for this request's caller and action."""
    memo: dict | None = policies.__dict__.get("_plan")
    if memo is None:
        memo = {}
        object.__setattr__(policies, "_plan", memo)
    p = request.principal
    key = (p.type, p.arn, p.account, p.session_issuer_arn, p.federated_provider, p.canonical_user_id,
           p.is_service_linked_role, p.in_management_account, request.action_lc, rcp_exempt(request))
    found = memo.get(key)
    if found is None:
        if len(memo) >= _PLAN_LIMIT:
            memo.clear()
        found = memo[key] = Prepared(request, policies)
    return found


class Scanner:
    """Tests prepared statements against one request, collecting missing condition keys."""

    __slots__ = ("resource", "keys", "missing")

    def __init__(self, request: RequestContext) -> None:
        self.resource = request.resource
        self.keys = request.keys
        self.missing: list[str] = []

    def scan(self, entries: Iterable[Entry]) -> Hits:
        """The statements of one layer that match this request."""
        hits = Hits()
        resource, keys, missing = self.resource, self.keys, self.missing
        for deny, broken, matchers, not_resource, conditions, ref, grant in entries:
            if broken:
                hits.denies.append(ref)  # only a broken Deny is ever a candidate
                continue
            if matchers is not None:
                hit = False
                for m in matchers:
                    if m.match(resource, keys):
                        hit = True
                        break
                if hit is not_resource:
                    continue
            ok = True
            for condition in conditions:
                if not condition.evaluate(keys, missing):
                    ok = False
            if not ok:
                continue
            if deny:
                hits.denies.append(ref)
            else:
                hits.allows.append((ref, grant))
        return hits


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


def evaluate(original: RequestContext, policies: PolicySet) -> Decision:
    """Decide one request exactly as the original engine did (no plan memo)."""
    request = OracleRequest(original)
    if request.action_lc in FREE_ACTIONS:
        return Decision(DecisionKind.ALLOWED)
    plan = Prepared(request, policies)
    scanner = Scanner(request)
    scps = [scanner.scan(level) for level in plan.scps]
    rcps = [scanner.scan(level) for level in plan.rcps]
    identity = scanner.scan(plan.identity)
    resource = scanner.scan(plan.resource)
    boundary = scanner.scan(plan.boundary) if plan.boundary is not None else None
    session = scanner.scan(plan.session) if plan.session is not None else None
    missing = _unique(scanner.missing)
    denies = [ref for layer in (*scps, *rcps, identity, resource, boundary, session) if layer for ref in layer.denies]
    if denies:
        return Decision(DecisionKind.EXPLICIT_DENY, tuple(denies), denies[0].policy_type, missing)
    for blocker, levels in ((PolicyType.SCP, scps), (PolicyType.RCP, rcps)):
        if any(not level.allowed for level in levels):
            return Decision(DecisionKind.IMPLICIT_DENY, (), blocker, missing)
    outcome = _grant(request, policies, identity, resource, _guard_blocker(boundary, session))
    if isinstance(outcome, PolicyType):
        return Decision(DecisionKind.IMPLICIT_DENY, (), outcome, missing)
    return Decision(DecisionKind.ALLOWED, tuple(outcome), None, missing)


def _guard_blocker(boundary: Hits | None, session: Hits | None) -> PolicyType | None:
    """The first of boundary / session policies that does not allow, if any."""
    if boundary is not None and not boundary.allowed:
        return PolicyType.BOUNDARY
    if session is not None and not session.allowed:
        return PolicyType.SESSION
    return None


def _grant(request: RequestContext, policies: PolicySet, identity: Hits, resource: Hits,
           guard: PolicyType | None) -> list[StatementRef] | PolicyType:
    """Who grants: the statements that allow, or the policy type that failed to."""
    p = request.principal
    resource_type = policies.resource.policy_type if policies.resource is not None else PolicyType.RESOURCE
    grant = resource.best_grant()
    if p.type in _NO_SCP:  # services and anonymous callers have no identity policies
        return resource.refs() if grant is not None else resource_type
    is_root = p.type is PrincipalType.ROOT
    identity_ok = is_root or identity.allowed
    if not request.same_account:
        if not identity_ok:
            return PolicyType.IDENTITY
        if guard is not None:
            return guard
        return [*identity.refs(), *resource.refs()] if grant is not None else resource_type
    if policies.must_allow_explicitly and grant is None:
        return resource_type
    if grant is Grant.EXACT or (grant is Grant.ISSUER and guard is None):
        return resource.refs()
    if is_root:
        return resource.refs()
    if identity_ok and guard is None:
        return [*identity.refs(), *resource.refs()]
    return guard if identity_ok or grant is Grant.ISSUER else PolicyType.IDENTITY


def _unique(keys: Sequence[str]) -> tuple[str, ...]:
    """Missing keys once each, first spelling kept (keys are case-insensitive)."""
    seen: dict[str, str] = {}
    for key in keys:
        seen.setdefault(key.lower(), key)
    return tuple(seen.values())
