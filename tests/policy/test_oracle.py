"""The optimized engine against the original one (tests/policy/policy_oracle), on random inputs.

Both compile the same random documents and decide the same random requests; the
whole Decision must agree: kind, deciding statements (in order), blocker and
missing context keys. Each request is decided twice, and again through a fresh
PolicySet holding the same policies, so every cache and memo is on the path.
"""

from __future__ import annotations

import os

from hypothesis import given, settings
from hypothesis import strategies as s

from policy_helpers import ACCT, OTHER, anonymous, federated, role_session, root, service, user
from policy_oracle import compiler as oracle_compiler
from policy_oracle import evaluate as oracle_evaluate
from rampart.policy import PolicySet, PolicyType, RequestContext, compile_policy, evaluate
from rampart.policy import plan as plan_module

ACTIONS = ["s3:GetObject", "s3:PutObject", "s3:ListBucket", "ec2:RunInstances", "iam:CreateUser", "kms:Decrypt",
           "sts:AssumeRole", "S3:getobject"]
ACTION_PATTERNS = [*ACTIONS, "s3:*", "s3:Get*", "*", "ec2:*", "iam:Create?ser", "*:List*", "s3:*Object", "S3:GET*"]
RESOURCES = ["arn:aws:s3:::b/k", "arn:aws:s3:::c/k", "arn:aws:s3:::b/alice/x", "*",
             f"arn:aws:ec2:us-east-1:{ACCT}:instance/i-1", f"arn:aws:kms:us-east-1:{OTHER}:key/k1",
             "arn:aws:s3:::home/alice/1", "arn:aws:s3:::b/K"]
RES_PATTERNS = ["*", "arn:aws:s3:::b/*", "arn:aws:s3:::*", "arn:aws:ec2:*:*:instance/*", "arn:aws:s3:::${aws:username}/*",
                "arn:aws:s3:::b/${aws:username}/*", "arn:aws:s3:::home/${aws:PrincipalTag/team, 'alice'}/*",
                "arn:aws:s3:::b/k", "arn:aws:*:*:*:*", "arn:aws:kms:*:*:key/*", "arn:aws:s3:::?/k", "arn:aws:s3:::b/${*}"]
CONDITIONS = [
    {"StringEquals": {"aws:username": "alice"}},
    {"StringEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1"]}},
    {"StringNotEquals": {"aws:RequestedRegion": "eu-west-1"}},
    {"StringEqualsIgnoreCase": {"aws:PrincipalTag/team": "BLUE"}},
    {"StringLike": {"aws:PrincipalTag/team": "b*"}},
    {"StringNotLike": {"s3:prefix": ["home/*", "${aws:username}/*"]}},
    {"StringEquals": {"s3:prefix": "${aws:username}"}},
    {"StringEqualsIfExists": {"s3:prefix": "home"}},
    {"Bool": {"aws:SecureTransport": "true"}},
    {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
    {"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "2001:db8::/32"]}},
    {"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
    {"NumericLessThan": {"s3:max-keys": "100"}},
    {"NumericGreaterThanEquals": {"s3:max-keys": 10}},
    {"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}},
    {"DateLessThanIfExists": {"aws:EpochTime": "1700000000"}},
    {"ForAnyValue:StringEquals": {"aws:TagKeys": ["env", "owner"]}},
    {"ForAllValues:StringLike": {"aws:TagKeys": ["e*", "o*"]}},
    {"Null": {"aws:TagKeys": "true"}},
    {"Null": {"s3:prefix": "false"}},
    {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:user/*"}},
    {"ArnNotEquals": {"aws:SourceArn": f"arn:aws:s3:::b"}},
    {"BinaryEquals": {"s3:blob": "YWJj"}},
    {"StringEquals": {"aws:ResourceAccount": ACCT}, "Bool": {"aws:SecureTransport": True}},
    {"NoSuchOperator": {"aws:username": "alice"}},
    {"StringEquals": {"AWS:UserName": "alice"}},
]
PRINCIPAL_ELEMENTS = ["*", {"AWS": ACCT}, {"AWS": f"arn:aws:iam::{ACCT}:user/alice"}, {"AWS": OTHER},
                      {"AWS": f"arn:aws:iam::{ACCT}:role/R"}, {"Service": "cloudtrail.amazonaws.com"},
                      {"AWS": f"arn:aws:sts::{ACCT}:assumed-role/R/s"}]


def _statement(effect, not_action, actions, not_resource, resources, condition, sid):
    out: dict = {"Effect": effect, ("NotAction" if not_action else "Action"): actions,
                 ("NotResource" if not_resource else "Resource"): resources}
    if condition is not None:
        out["Condition"] = condition
    if sid is not None:
        out["Sid"] = sid
    return out


statement = s.builds(
    _statement, s.sampled_from(["Allow", "Allow", "Deny"]), s.sampled_from([False, False, True]),
    s.sampled_from(ACTION_PATTERNS) | s.lists(s.sampled_from(ACTION_PATTERNS), min_size=1, max_size=3),
    s.sampled_from([False, False, False, True]),
    s.sampled_from(RES_PATTERNS) | s.lists(s.sampled_from(RES_PATTERNS), min_size=1, max_size=3),
    s.none() | s.sampled_from(CONDITIONS), s.none() | s.sampled_from(["A", "B"]),
)


def _with_principal(stmt: dict, element, negated: bool) -> dict:
    return {**stmt, ("NotPrincipal" if negated else "Principal"): element}


resource_statement = s.builds(_with_principal, statement, s.sampled_from(PRINCIPAL_ELEMENTS),
                              s.sampled_from([False, False, False, True]))
stmts = s.lists(statement, min_size=1, max_size=4)
versions = s.sampled_from(["2012-10-17", "2012-10-17", "2008-10-17"])
principals = s.sampled_from([
    user("alice", tags={"team": "blue"}), user("bob"), role_session(), role_session(tags={"team": "Blue"}),
    federated(), root(), root(in_management_account=True), service(), anonymous(),
    user("alice", is_service_linked_role=True), user("x", account=OTHER),
])
contexts = s.fixed_dictionaries({}, optional={
    "aws:SecureTransport": s.booleans(), "aws:SourceIp": s.sampled_from(["10.1.1.1", "1.2.3.4", "2001:db8::1", "x"]),
    "aws:RequestedRegion": s.sampled_from(["us-east-1", "eu-west-1"]),
    "aws:MultiFactorAuthPresent": s.booleans(), "s3:prefix": s.sampled_from(["home", "alice", "home/x", "alice/y"]),
    "s3:max-keys": s.sampled_from(["5", "50", "500", "abc", 10]),
    "aws:CurrentTime": s.sampled_from(["2024-05-01T12:00:00Z", "2019-01-01", "bad"]),
    "aws:EpochTime": s.sampled_from(["1600000000", "1800000000"]),
    "aws:TagKeys": s.lists(s.sampled_from(["env", "owner", "cost"]), max_size=3),
    "AWS:Username": s.sampled_from(["alice", "mallory"]), "aws:SourceArn": s.sampled_from(["arn:aws:s3:::b", "x"]),
    "s3:blob": s.sampled_from(["YWJj", "abc", "zz"]),
})


@s.composite
def documents(draw) -> dict[str, list]:
    """Raw documents per layer: (document, policy id, policy type)."""
    def doc(body: list) -> dict:
        return {"Version": draw(versions), "Statement": body}

    layers: dict[str, list] = {"identity": [], "session": []}
    for i in range(draw(s.integers(0, 3))):
        layers["identity"].append((doc(draw(stmts)), f"id{i}", PolicyType.IDENTITY))
    if draw(s.booleans()):
        rtype = draw(s.sampled_from([PolicyType.RESOURCE, PolicyType.RESOURCE, PolicyType.KMS_KEY, PolicyType.TRUST]))
        layers["resource"] = [(doc(draw(s.lists(resource_statement, min_size=1, max_size=3))), "rbp", rtype)]
    if draw(s.booleans()):
        layers["boundary"] = [(doc(draw(stmts)), "pb", PolicyType.BOUNDARY)]
    if draw(s.integers(0, 3)) == 0:
        layers["session"] = [(doc(draw(stmts)), "sess", PolicyType.SESSION)]
    for kind, ptype in (("scp", PolicyType.SCP), ("rcp", PolicyType.RCP)):
        levels = []
        for level in range(draw(s.integers(0, 2))):
            body = draw(stmts)
            if ptype is PolicyType.RCP:
                body = [{**x, "Principal": "*"} for x in body]
            levels.append([(doc(body), f"{kind}{level}", ptype)])
        layers[kind] = levels
    return layers


def _policy_set(layers: dict[str, list], compile_one) -> PolicySet:
    one = lambda entry: compile_one(*entry)  # noqa: E731
    return PolicySet(
        identity=[one(e) for e in layers["identity"]],
        resource=one(layers["resource"][0]) if layers.get("resource") else None,
        boundary=one(layers["boundary"][0]) if layers.get("boundary") else None,
        session=[one(e) for e in layers["session"]],
        scp_levels=[[one(e) for e in level] for level in layers["scp"]],
        rcp_levels=[[one(e) for e in level] for level in layers["rcp"]],
    )


requests = s.builds(
    RequestContext, principals, s.sampled_from(ACTIONS), s.sampled_from(RESOURCES),
    s.sampled_from([None, ACCT, OTHER]), contexts, s.sampled_from([None, None, True, False]),
)


@settings(max_examples=int(os.environ.get("RAMPART_ORACLE_EXAMPLES", "400")), deadline=None)
@given(documents(), s.lists(requests, min_size=1, max_size=4))
def test_optimized_engine_decides_exactly_as_the_original(layers, reqs):
    fast = _policy_set(layers, compile_policy)
    again = _policy_set(layers, compile_policy)
    slow = _policy_set(layers, oracle_compiler.compile_policy)
    for request in reqs:
        expected = oracle_evaluate.evaluate(request, slow)
        assert evaluate(request, fast) == expected
        assert evaluate(request, fast) == expected
        assert evaluate(request, again) == expected


def _stream_agrees(layers, reqs, rnd) -> None:
    fast = _policy_set(layers, compile_policy)
    slow = _policy_set(layers, oracle_compiler.compile_policy)
    expected = [oracle_evaluate.evaluate(request, slow) for request in reqs]
    order = list(range(len(reqs))) * 2
    rnd.shuffle(order)
    for i in order:
        assert evaluate(reqs[i], fast) == expected[i]


STREAM = dict(max_examples=int(os.environ.get("RAMPART_ORACLE_EXAMPLES", "400")) // 4, deadline=None)
streams = (documents(), s.lists(requests, min_size=10, max_size=40), s.randoms(use_true_random=False))


@settings(**STREAM)
@given(*streams)
def test_warm_tables_decide_exactly_as_the_original(layers, reqs, rnd):
    """Long streams through one policy set: stages, deny/allow tables and resource memos fill and are reused."""
    _stream_agrees(layers, reqs, rnd)


@settings(**STREAM)
@given(*streams)
def test_one_regex_resource_heads_decide_exactly_as_the_original(layers, reqs, rnd):
    """The same with every resource head compiled to its one regex at once (normally after 16 resources)."""
    saved, plan_module._COMBINE_AFTER = plan_module._COMBINE_AFTER, 0
    try:
        _stream_agrees(layers, reqs, rnd)
    finally:
        plan_module._COMBINE_AFTER = saved
