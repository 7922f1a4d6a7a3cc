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

import itertools

from rampart.policy.model import (
    Decision,
    DecisionKind,
    PolicySet,
    Principal,
    RequestContext,
)
from rampart.policy.plan import FREE_ACTIONS, Plan, head_for, rcp_exempt, scp_exempt
from rampart.policy.stage import MISSES

__all__ = ["cache_stats", "clear_plans", "evaluate", "plan_for", "rcp_exempt", "scp_exempt"]

_FREE = Decision(DecisionKind.ALLOWED)
_PLAN_LIMIT = 8192
_TOKEN_LIMIT = 4096
_PLANS: dict[tuple, Plan] = {}
_SET_TOKENS: dict[tuple, int] = {}
_PRINCIPAL_TOKENS: dict[tuple, int] = {}
_COUNTER = itertools.count(1)


def evaluate(request: RequestContext, policies: PolicySet) -> Decision:
    """Decide one request exactly as AWS would, with the explanation."""
    plan = _PLANS.get((policies._rampart_token, request.principal._rampart_token, request.action_lc,
                       request.resource_account, request.resource_in_management_account))
    if plan is None:  # tokens are 0 until first assigned, and 0 names no plan
        plan = plan_for(request, policies)
    return plan.decide(request)


class _Free:
    """The plan of an action AWS authorizes without any policy."""

    __slots__ = ()
    stages: dict = {}

    def decide(self, request: RequestContext) -> Decision:
        """Always allowed."""
        return _FREE


def plan_for(request: RequestContext, policies: PolicySet) -> Plan | _Free:
    """The Plan for this request, from a bounded cache shared by equal policy sets.

    The key is everything a Plan depends on: the policy set's content (compiled
    policies are interned by content hash, so equal sets built per request share
    a token), the caller's fields that principal matching and the exemptions read,
    the action, and the request fields that decide same-account and RCP exemption.
    """
    set_token = policies._rampart_token or _set_token(policies)
    p = request.principal
    principal_token = p._rampart_token or _principal_token(p)
    key = (set_token, principal_token, request.action_lc, request.resource_account,
           request.resource_in_management_account)
    plan = _PLANS.get(key)
    if plan is None:
        if len(_PLANS) >= _PLAN_LIMIT:
            del _PLANS[next(iter(_PLANS))]
        MISSES["plan"] += 1
        plan = _PLANS[key] = _Free() if request.action_lc in FREE_ACTIONS else Plan(request, policies)
    return plan


def _token(table: dict[tuple, int], identity: tuple) -> int:
    """A number naming ``identity``; numbers are never reused, so a stale one is only a cache miss."""
    found = table.get(identity)
    if found is None:
        if len(table) >= _TOKEN_LIMIT:
            del table[next(iter(table))]
        found = table[identity] = next(_COUNTER)
    return found


def _set_token(policies: PolicySet) -> int:
    identity = (
        tuple(policies.identity), policies.resource, policies.boundary, tuple(policies.session),
        tuple(tuple(level) for level in policies.scp_levels), tuple(tuple(level) for level in policies.rcp_levels),
        policies.resource_must_allow,
    )
    token = _token(_SET_TOKENS, identity)
    policies.__dict__["_rampart_token"] = token  # frozen dataclass: cache beside the fields
    return token


def _principal_token(p: Principal) -> int:
    identity = (p.type, p.arn, p.account, p.session_issuer_arn, p.federated_provider, p.canonical_user_id,
                p.is_service_linked_role, p.in_management_account)
    token = _token(_PRINCIPAL_TOKENS, identity)
    p.__dict__["_rampart_token"] = token
    return token


def clear_plans() -> None:
    """Forget every plan and token (tests and the benchmark measure cold costs with this)."""
    _PLANS.clear()
    head_for.cache_clear()
    _SET_TOKENS.clear()
    _PRINCIPAL_TOKENS.clear()


def cache_stats() -> dict[str, int]:
    """Sizes of the plan caches and misses so far by kind (for benchmarks and ops).

    ``plans``, ``stages``, ``decisions``: entries held. ``*_misses``: plans built,
    resources whose tests ran (not answered by a memo), stages built, and
    decisions not found in a stage's table (worked out from condition bits).
    """
    stages = [stage for plan in _PLANS.values() for stage in plan.stages.values()]
    sizes = {"plans": len(_PLANS), "stages": len(stages), "decisions": sum(len(s.table) for s in stages)}
    return {**sizes, **{f"{kind}_misses": count for kind, count in MISSES.items()}}
