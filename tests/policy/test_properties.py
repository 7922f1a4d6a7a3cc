"""Property-based tests of the evaluation logic (hypothesis).

Invariants from "Policy evaluation logic": an explicit deny can only take away;
statement and policy order never matter; adding an Allow to an identity policy
never denies what was allowed; a 2008-10-17 policy never substitutes variables.
"""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as s

from policy_helpers import ACCT, decide, pol, role_session, st, user
from rampart.policy import PolicyType

ACTIONS = ["s3:GetObject", "s3:PutObject", "s3:ListBucket", "ec2:RunInstances", "iam:CreateUser"]
PATTERNS = ACTIONS + ["s3:*", "s3:Get*", "*", "ec2:*", "iam:Create?ser", "*:List*"]
RESOURCES = ["arn:aws:s3:::b/k", "arn:aws:s3:::c/k", "arn:aws:ec2:us-east-1:111111111111:instance/i-1", "*"]
RES_PATTERNS = ["*", "arn:aws:s3:::b/*", "arn:aws:s3:::*", "arn:aws:ec2:*:*:instance/*", "arn:aws:s3:::${aws:username}/*"]
CONDITIONS = [
    None,
    {"StringEquals": {"aws:username": "alice"}},
    {"Bool": {"aws:SecureTransport": "true"}},
    {"StringNotEquals": {"aws:RequestedRegion": "eu-west-1"}},
    {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
    {"StringEqualsIfExists": {"s3:prefix": "home"}},
]

statement = s.builds(
    lambda effect, action, not_action, resource, cond: {
        "Effect": effect,
        ("NotAction" if not_action else "Action"): action,
        "Resource": resource,
        **({"Condition": cond} if cond else {}),
    },
    s.sampled_from(["Allow", "Deny"]), s.sampled_from(PATTERNS), s.booleans(), s.sampled_from(RES_PATTERNS),
    s.sampled_from(CONDITIONS),
)
allow_statement = statement.map(lambda x: {**x, "Effect": "Allow"})
deny_statement = statement.map(lambda x: {**x, "Effect": "Deny"})
statements = s.lists(statement, min_size=1, max_size=6)
request = s.tuples(
    s.sampled_from(ACTIONS), s.sampled_from(RESOURCES),
    s.fixed_dictionaries({"aws:SecureTransport": s.booleans(), "aws:SourceIp": s.sampled_from(["10.1.1.1", "1.2.3.4"]),
                          "aws:RequestedRegion": s.sampled_from(["us-east-1", "eu-west-1"])}),
)
layers = s.sampled_from(["identity", "boundary", "scp", "resource"])


def run(stmts_by_layer: dict[str, list], req, principal=None, shuffle_seed: int | None = None):
    action, resource, context = req
    principal = principal or user("alice")
    rng = random.Random(shuffle_seed)

    def order(items: list) -> list:
        items = list(items)
        if shuffle_seed is not None:
            rng.shuffle(items)
        return items

    identity = [pol(*order(chunk), pid=f"id{i}") for i, chunk in enumerate(stmts_by_layer.get("identity", [])) if chunk]
    kwargs: dict = {"identity": order(identity)}
    if stmts_by_layer.get("boundary"):
        kwargs["boundary"] = pol(*order(stmts_by_layer["boundary"]), ptype=PolicyType.BOUNDARY, pid="pb")
    if stmts_by_layer.get("scp"):
        kwargs["scp_levels"] = [[pol(*order(stmts_by_layer["scp"]), ptype=PolicyType.SCP, pid="scp")]]
    if stmts_by_layer.get("resource"):
        rs = [{**x, "Principal": {"AWS": ACCT}} for x in stmts_by_layer["resource"]]
        kwargs["resource"] = pol(*order(rs), ptype=PolicyType.RESOURCE, pid="rbp")
    return decide(principal, action, resource, context=context, **kwargs)


policy_sets = s.fixed_dictionaries({
    "identity": s.lists(statements, min_size=0, max_size=3),
    "boundary": s.lists(statement, max_size=3),
    "scp": s.lists(statement, max_size=3),
    "resource": s.lists(statement, max_size=3),
})

SETTINGS = settings(max_examples=300, deadline=None)


@SETTINGS
@given(policy_sets, request, s.sampled_from(["identity", "boundary", "scp", "resource"]), deny_statement)
def test_adding_a_deny_never_turns_a_denial_into_an_allow(policies, req, layer, deny):
    before = run(policies, req)
    after_policies = dict(policies)
    if layer == "identity":
        after_policies["identity"] = [*policies["identity"], [deny]]
    else:
        after_policies[layer] = [*policies[layer], deny]
    after = run(after_policies, req)
    assert before.allowed or not after.allowed


@SETTINGS
@given(policy_sets, request, s.integers(0, 10_000))
def test_statement_and_policy_order_never_change_a_decision(policies, req, seed):
    assert run(policies, req).kind is run(policies, req, shuffle_seed=seed).kind


@SETTINGS
@given(policy_sets, request, allow_statement)
def test_adding_an_allow_to_an_identity_policy_never_denies_what_was_allowed(policies, req, allow):
    before = run(policies, req)
    grown = dict(policies)
    grown["identity"] = [*policies["identity"], [allow]]
    assert not before.allowed or run(grown, req).allowed


@SETTINGS
@given(policy_sets, request, allow_statement)
def test_adding_an_allow_for_a_role_session_never_denies(policies, req, allow):
    before = run(policies, req, principal=role_session())
    grown = dict(policies)
    grown["identity"] = [[allow], *policies["identity"]]
    assert not before.allowed or run(grown, req, principal=role_session()).allowed


@SETTINGS
@given(s.text(alphabet="abc*?${}:/ ", max_size=12), s.text(alphabet="abc*?", min_size=1, max_size=6))
def test_2008_policies_never_substitute(text, username):
    pattern = f"arn:aws:s3:::b/{text}${{aws:username}}"
    old = pol(st(resource=pattern), version="2008-10-17")
    # the only resource a literal reading can match without wildcards is the pattern itself
    literal = pattern.replace("*", "").replace("?", "")
    if "*" not in pattern and "?" not in pattern:
        assert decide(user(username), "s3:GetObject", literal, identity=[old]).allowed
    substituted = f"arn:aws:s3:::b/{text}{username}".replace("*", "").replace("?", "")
    if substituted != literal and "*" not in text:
        assert not decide(user(username), "s3:GetObject", substituted, identity=[old]).allowed


@SETTINGS
@given(s.text(alphabet="ab*?", min_size=1, max_size=5), s.text(alphabet="ab*?", min_size=1, max_size=5))
def test_substituted_values_are_literal(username, other):
    policy = pol(st(resource="arn:aws:s3:::b/${aws:username}"))
    assert decide(user(username), "s3:GetObject", f"arn:aws:s3:::b/{username}", identity=[policy]).allowed
    if other != username:
        assert not decide(user(username), "s3:GetObject", f"arn:aws:s3:::b/{other}", identity=[policy]).allowed
