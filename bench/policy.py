"""Benchmark of rampart.policy: decisions per second and cold compile cost.

A user in 3 groups with 10 managed policies (about 200 statements mixing
wildcards, NotAction and conditions), a bucket policy, a permissions boundary and
3 SCP levels, evaluated single-threaded against streams of varied requests.
Prints figures; asserts nothing. Times are CPU time (time.process_time) over
several rounds, each on a fresh stream, reported as median, min and max, since
the machine is shared: "evaluate only" has the RequestContext (and its derived
keys) built beforehand, "context build + evaluate" builds it per request as the
gateway does, "same stream again" re-evaluates a stream already seen.
"""

from __future__ import annotations

import importlib
import random
import re
import statistics
import time
from collections.abc import Callable

from rampart.policy import (
    PolicySet, PolicyType, Principal, PrincipalType, RequestContext, clear_cache, compile_policy, evaluate,
)

policy_evaluate = importlib.import_module("rampart.policy.evaluate")  # the module, not the function

ACCT = "111111111111"
SERVICES = ["s3", "ec2", "iam", "kms", "sqs", "sns", "dynamodb", "lambda", "logs", "cloudtrail"]
VERBS = ["Get", "List", "Describe", "Put", "Create", "Delete", "Update", "Tag"]
NOUNS = ["Object", "Bucket", "Instance", "User", "Role", "Key", "Queue", "Topic", "Table", "Function"]


def _statement(rng: random.Random, i: int) -> dict:
    service = rng.choice(SERVICES)
    kind = 0 if i % 15 == 0 else 1 if i % 3 == 0 else 2
    stmt: dict = {"Sid": f"S{i}", "Effect": "Deny" if i % 23 == 0 else "Allow"}
    if kind == 0:
        stmt["NotAction"] = [f"{rng.choice(SERVICES)}:{rng.choice(VERBS)}*"]
    elif kind == 1:
        stmt["Action"] = [f"{service}:{rng.choice(VERBS)}*", f"{service}:{rng.choice(VERBS)}{rng.choice(NOUNS)}"]
    else:
        stmt["Action"] = f"{service}:{rng.choice(VERBS)}{rng.choice(NOUNS)}"
    stmt["Resource"] = rng.choice([
        "*", f"arn:aws:{service}:*:{ACCT}:*", f"arn:aws:s3:::bucket-{i % 7}/*",
        "arn:aws:s3:::home/${aws:username}/*", f"arn:aws:{service}:us-east-1:{ACCT}:thing/{rng.choice(NOUNS)}*",
    ])
    if i % 3 == 0:
        stmt["Condition"] = rng.choice([
            {"StringEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1"]}},
            {"Bool": {"aws:SecureTransport": "true"}},
            {"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "192.168.0.0/16"]}},
            {"StringLike": {"aws:PrincipalTag/team": "team-*"}, "NumericLessThan": {"s3:max-keys": "100"}},
            {"ForAnyValue:StringEquals": {"aws:TagKeys": ["env", "owner"]}},
            {"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}},
        ])
    if i % 11 == 0 and stmt["Effect"] == "Deny":
        stmt["Condition"] = {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}
    return stmt


def documents() -> dict[str, tuple[dict, PolicyType]]:
    """The realistic policy set, as raw documents."""
    rng = random.Random(7)
    docs: dict[str, tuple[dict, PolicyType]] = {}
    n = 0
    for p in range(13):  # 10 managed + 3 group inline policies, ~200 statements
        stmts = [_statement(rng, n + k) for k in range(15)]
        n += 15
        docs[f"identity-{p}"] = ({"Version": "2012-10-17", "Statement": stmts}, PolicyType.IDENTITY)
    docs["bucket"] = ({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:user/alice"}, "Action": "s3:Get*",
         "Resource": "arn:aws:s3:::bucket-1/*"},
        {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::bucket-1/*",
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
    ]}, PolicyType.RESOURCE)
    docs["boundary"] = ({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:*", "ec2:*", "sqs:*", "sns:*", "dynamodb:*", "logs:*", "kms:*"], "Resource": "*"},
        {"Effect": "Deny", "Action": "iam:*", "Resource": "*"},
    ]}, PolicyType.BOUNDARY)
    docs["scp-root"] = ({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]},
                        PolicyType.SCP)
    docs["scp-ou"] = ({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*"},
        {"Effect": "Deny", "Action": "cloudtrail:Delete*", "Resource": "*"},
        {"Effect": "Deny", "NotAction": ["iam:*", "sts:*"], "Resource": "*",
         "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1"]}}},
    ]}, PolicyType.SCP)
    docs["scp-account"] = ({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "NotAction": "organizations:*", "Resource": "*"}]}, PolicyType.SCP)
    return docs


def policy_set(docs: dict[str, tuple[dict, PolicyType]]) -> PolicySet:
    compiled = {pid: compile_policy(doc, pid, ptype) for pid, (doc, ptype) in docs.items()}
    return PolicySet(
        identity=[compiled[f"identity-{i}"] for i in range(13)],
        resource=compiled["bucket"],
        boundary=compiled["boundary"],
        scp_levels=[[compiled["scp-root"]], [compiled["scp-ou"]], [compiled["scp-account"]]],
    )


def requests(count: int, seed: int = 11) -> list[RequestContext]:
    """A stream of varied requests: actions, resources and context keys differ."""
    rng = random.Random(seed)
    principal = Principal(PrincipalType.USER, f"arn:aws:iam::{ACCT}:user/alice", ACCT, username="alice",
                          tags={"team": "team-blue"})
    out = []
    for _ in range(count):
        service = rng.choice(SERVICES)
        action = f"{service}:{rng.choice(VERBS)}{rng.choice(NOUNS)}"
        resource = rng.choice([
            f"arn:aws:s3:::bucket-{rng.randrange(9)}/key{rng.randrange(100)}",
            f"arn:aws:s3:::home/alice/{rng.randrange(50)}",
            f"arn:aws:{service}:us-east-1:{ACCT}:thing/{rng.choice(NOUNS)}{rng.randrange(10)}",
            "*",
        ])
        context = {
            "aws:RequestedRegion": rng.choice(["us-east-1", "eu-west-1", "ap-south-1"]),
            "aws:SecureTransport": rng.random() < 0.9,
            "aws:SourceIp": rng.choice(["10.1.2.3", "192.168.1.1", "203.0.113.9"]),
            "aws:CurrentTime": "2024-05-01T12:00:00Z",
            "aws:MultiFactorAuthPresent": rng.random() < 0.5,
        }
        if rng.random() < 0.3:
            context["aws:TagKeys"] = rng.sample(["env", "owner", "cost"], 2)
        if service == "s3":
            context["s3:max-keys"] = str(rng.randrange(200))
        out.append(RequestContext(principal, action, resource, ACCT, context))
    return out


def _cpu(work: Callable[[], object]) -> float:
    start = time.process_time()
    work()
    return time.process_time() - start


def _spread(label: str, rates: list[float]) -> str:
    rates = sorted(rates)
    return (f"{label}: median {statistics.median(rates):>9,.0f}/s  min {rates[0]:>9,.0f}  max {rates[-1]:>9,.0f}"
            f"  ({1e6 / statistics.median(rates):.2f} us per decision)")


def _table_size() -> int | None:
    stats = getattr(policy_evaluate, "cache_stats", None)  # absent in engines before the plan tables
    return stats()["decisions"] if stats else None


def main(rounds: int = 5, count: int = 20000) -> None:
    """Cold compile, then ``rounds`` fresh streams: evaluate only, and context build + evaluate."""
    docs = documents()
    statements = sum(len(doc["Statement"]) for doc, _ in docs.values())
    colds = []
    for _ in range(rounds):
        clear_cache()
        re.purge()  # Python's own regex cache too: a true cold start
        colds.append(_cpu(lambda: policy_set(docs)))
    policies = policy_set(docs)
    warm = _cpu(lambda: policy_set(docs))
    for request in requests(count, seed=1):  # build the plans, warm the tables a little
        evaluate(request, policies)
    eval_rates, full_rates, again_rates, hits = [], [], [], []
    outcomes: dict[str, int] = {}
    for r in range(rounds):
        stream = requests(count, seed=100 + r)
        for request in stream:
            request.keys  # noqa: B018 - derive the context now: 'evaluate only' excludes it
        before = _table_size()
        eval_rates.append(count / _cpu(lambda: [evaluate(q, policies) for q in stream]))
        after = _table_size()
        if before is not None and after is not None and after >= before:
            hits.append(1 - (after - before) / count)
        again_rates.append(count / _cpu(lambda: [evaluate(q, policies) for q in stream]))
        raw = [(q.principal, q.action, q.resource, q.resource_account, q.context) for q in requests(count, 200 + r)]
        full_rates.append(count / _cpu(lambda: [evaluate(RequestContext(*args), policies) for args in raw]))
        for q in stream:
            kind = evaluate(q, policies).kind.value
            outcomes[kind] = outcomes.get(kind, 0) + 1
    print(f"policies: {len(docs)}  statements: {statements}  rounds: {rounds} x {count} fresh requests (CPU time)")
    print(f"cold compile (all policies, empty caches): median {statistics.median(colds) * 1000:.2f} ms"
          f"  min {min(colds) * 1000:.2f}  max {max(colds) * 1000:.2f}")
    print(f"cached compile_policy (content hash hit): {warm * 1000:.3f} ms")
    print(_spread("evaluate only             ", eval_rates))
    print(_spread("context build + evaluate  ", full_rates))
    print(_spread("same stream again (warm)  ", again_rates))
    if hits:
        print(f"decision-table hit rate on fresh streams: {statistics.median(hits):.1%} "
              f"(min {min(hits):.1%}, max {max(hits):.1%}); tables: {policy_evaluate.cache_stats()}")
    print(f"outcomes: {outcomes}")


if __name__ == "__main__":
    main()
