"""The engine's caches never change a decision: plans, stages and decision tables.

Every table is keyed by what the decision depends on (atom outcomes, condition
codes); these tests change exactly one input a condition, a policy variable or a
resource test reads, on warm tables, and expect the decision to follow.
"""

from __future__ import annotations

import pytest

from policy_helpers import ACCT, decide, pol, st, user
from rampart.policy import DecisionKind, PolicySet, RequestContext, evaluate
from rampart.policy.conditions import _MEMO_LIMIT
from rampart.policy.evaluate import cache_stats
from rampart.policy.stage import TABLE_LIMIT as _TABLE_LIMIT

IP_POLICY = pol(st(action="s3:GetObject", resource="arn:aws:s3:::b/*",
                   Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}), pid="ip")
HOME = pol(st(action="s3:*", resource="arn:aws:s3:::home/${aws:username}/*"), pid="home")
TAGGED = pol(st(action="s3:*", Condition={"StringEquals": {"aws:PrincipalTag/team": "blue"}}), pid="tag")


def _decide(policies: PolicySet, context: dict, principal=None, resource: str = "arn:aws:s3:::b/k") -> DecisionKind:
    request = RequestContext(principal or user(), "s3:GetObject", resource, ACCT, context)
    return evaluate(request, policies).kind


@pytest.mark.parametrize("context,expected", [
    ({"aws:SourceIp": "10.1.2.3"}, DecisionKind.ALLOWED),
    ({"aws:SourceIp": "192.0.2.1"}, DecisionKind.IMPLICIT_DENY),
    ({"aws:SourceIp": "10.9.9.9"}, DecisionKind.ALLOWED),
    ({}, DecisionKind.IMPLICIT_DENY),
    ({"AWS:SOURCEIP": "10.0.0.1"}, DecisionKind.ALLOWED),
])
def test_a_condition_value_change_changes_the_decision_on_warm_tables(context, expected):
    policies = PolicySet(identity=[IP_POLICY])
    for _ in range(3):  # warm: the same plan, stage and table answer again
        assert _decide(policies, context) is expected


def test_alternating_values_through_one_plan():
    policies = PolicySet(identity=[IP_POLICY])
    for i in range(50):
        inside = i % 3 == 0
        kind = _decide(policies, {"aws:SourceIp": "10.0.0.1" if inside else "203.0.113.1"})
        assert kind is (DecisionKind.ALLOWED if inside else DecisionKind.IMPLICIT_DENY)


def test_missing_key_is_reported_then_not():
    policies = PolicySet(identity=[IP_POLICY])
    request = RequestContext(user(), "s3:GetObject", "arn:aws:s3:::b/k", ACCT, {})
    assert evaluate(request, policies).missing_context_keys == ("aws:SourceIp",)
    request = RequestContext(user(), "s3:GetObject", "arn:aws:s3:::b/k", ACCT, {"aws:SourceIp": "10.0.0.1"})
    assert evaluate(request, policies).missing_context_keys == ()


def test_policy_variable_follows_the_caller():
    policies = PolicySet(identity=[HOME])
    for _ in range(2):
        assert _decide(policies, {}, user("alice"), "arn:aws:s3:::home/alice/x") is DecisionKind.ALLOWED
        assert _decide(policies, {}, user("bob"), "arn:aws:s3:::home/alice/x") is DecisionKind.IMPLICIT_DENY
        assert _decide(policies, {}, user("bob"), "arn:aws:s3:::home/bob/x") is DecisionKind.ALLOWED


def test_principal_tags_follow_the_principal_object():
    policies = PolicySet(identity=[TAGGED])
    assert _decide(policies, {}, user(tags={"team": "blue"})) is DecisionKind.ALLOWED
    assert _decide(policies, {}, user(tags={"team": "red"})) is DecisionKind.IMPLICIT_DENY
    assert _decide(policies, {"aws:PrincipalTag/team": "blue"}, user(tags={"team": "red"})) is DecisionKind.ALLOWED


def test_resource_outcome_changes_the_decision():
    policies = PolicySet(identity=[IP_POLICY])
    ctx = {"aws:SourceIp": "10.0.0.1"}
    assert _decide(policies, ctx, resource="arn:aws:s3:::b/k") is DecisionKind.ALLOWED
    assert _decide(policies, ctx, resource="arn:aws:s3:::c/k") is DecisionKind.IMPLICIT_DENY
    assert _decide(policies, ctx, resource="arn:aws:s3:::b/other") is DecisionKind.ALLOWED


def test_equal_policy_sets_built_per_request_share_one_plan():
    first = _decide(PolicySet(identity=[IP_POLICY]), {"aws:SourceIp": "10.0.0.1"})
    plans = cache_stats()["plans"]
    for _ in range(5):
        assert _decide(PolicySet(identity=[IP_POLICY]), {"aws:SourceIp": "10.0.0.1"}) is first
    assert cache_stats()["plans"] == plans


def test_bounded_memos_stay_exact_past_their_limits():
    policy = pol(st(action="s3:GetObject", Condition={"NumericLessThan": {"s3:max-keys": "100"}}), pid="n")
    policies = PolicySet(identity=[policy])
    for n in range(max(_MEMO_LIMIT, _TABLE_LIMIT) + 200):
        kind = _decide(policies, {"s3:max-keys": str(n)}, resource=f"arn:aws:s3:::b/{n}")
        assert kind is (DecisionKind.ALLOWED if n < 100 else DecisionKind.IMPLICIT_DENY)


def test_free_action_needs_no_policy():
    assert decide(user(), "sts:GetCallerIdentity").allowed
