"""Benchmark of rampart.policy: decisions per second and cold compile cost.

A user in 3 groups with 10 managed policies (about 200 statements mixing
wildcards, NotAction and conditions), a bucket policy, a permissions boundary and
3 SCP levels, evaluated single-threaded against streams of varied requests.
Prints figures; asserts nothing. Times are CPU time (time.process_time) over
several rounds, each on a fresh stream, reported as median, min and max, since
the machine is shared: "evaluate only" has the RequestContext (and its derived
keys) built beforehand, "context build + evaluate" builds it per request as the
gateway does, "same stream again" re-evaluates a stream already seen.

Two streams: "uniform" (one caller, every draw independent and uniform: the
harsh case for the engine's tables, and the one the 100,000/s target is read
on) and "session" (several callers whose sessions keep their IP, region and
MFA, skewed action and resource popularity: closer to real traffic). Their
docstrings say exactly what they draw; the hit rates printed are the engine's
own miss counters.
"""

from __future__ import annotations

import gc
import importlib
import itertools
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
    """The uniform stream: one caller, every draw independent and uniform (the harsh case for tables).

    800 actions (10 services x 8 verbs x 10 nouns) equally likely, resources from
    ~1,000 per service, and each context value drawn afresh per request (region
    of 3, SecureTransport, source IP of 3, MFA, tag keys, s3:max-keys of 200), so
    condition outcomes combine freely.
    """
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


USERS = ["alice", "bob", "carol", "dave", "erin", "frank"]


def sessions(count: int, seed: int = 11) -> list[RequestContext]:
    """The session stream: 6 users of the same groups, 2 sessions each, skewed choices.

    Each session keeps its source IP (one of 40), region (80% us-east-1), MFA and
    TLS, as a client does; actions follow a Zipf-like popularity (weight 1/rank)
    over the same 800; resources favour few hot ones per service (List/Describe
    take "*"); aws:CurrentTime moves every 2,000 requests; writes carry tag keys.
    """
    rng = random.Random(seed)
    actions = [f"{s}:{v}{n}" for s in SERVICES for v in VERBS for n in NOUNS]
    random.Random(3).shuffle(actions)  # one popularity order for every stream
    weights = list(itertools.accumulate(1 / rank for rank in range(1, len(actions) + 1)))
    people = [Principal(PrincipalType.USER, f"arn:aws:iam::{ACCT}:user/{u}", ACCT, username=u,
                        tags={"team": rng.choice(["team-blue", "team-red"])}) for u in USERS]
    clients = [(p, {"aws:SourceIp": f"10.0.{rng.randrange(5)}.{rng.randrange(8)}",
                    "aws:RequestedRegion": "us-east-1" if rng.random() < 0.8 else "eu-west-1",
                    "aws:MultiFactorAuthPresent": rng.random() < 0.5, "aws:SecureTransport": True})
               for p in people for _ in range(2)]
    out = []
    for i in range(count):
        principal, session = rng.choice(clients)
        action = rng.choices(actions, cum_weights=weights)[0]
        service, verb = action.split(":")[0], action.split(":")[1][:3]
        context = {**session, "aws:CurrentTime": f"2024-05-01T12:{i // 2000 % 60:02d}:00Z"}
        if verb in ("Cre", "Tag", "Put"):
            context["aws:TagKeys"] = ["env", "owner"]
        if verb in ("Lis", "Des"):
            resource = "*"
            if service == "s3":
                context["s3:max-keys"] = "1000"
        elif service == "s3":
            resource = (f"arn:aws:s3:::home/{principal.username}/{int(rng.paretovariate(1.2)) % 50}"
                        if rng.random() < 0.3 else f"arn:aws:s3:::bucket-{int(rng.paretovariate(1.5)) % 9}"
                        f"/key{int(rng.paretovariate(1.2)) % 100}")
        else:
            resource = f"arn:aws:{service}:us-east-1:{ACCT}:thing/{rng.choice(NOUNS[:3])}{int(rng.paretovariate(1.5)) % 10}"
        out.append(RequestContext(principal, action, resource, ACCT, context))
    return out


def _cpu(work: Callable[[], object]) -> float:
    """CPU seconds of ``work``, after a full collection.

    The bench holds ~100,000 request objects of its own, which a server would
    not: a full (generation 2) collection landing inside a timed section costs
    more than the section itself on this heap. Collecting first resets the
    collector's long-lived count, so timed sections pay the young-generation
    collections that their own allocations trigger, as a server does, and
    rarely a full one.
    """
    gc.collect()
    start = time.process_time()
    work()
    return time.process_time() - start


def _spread(label: str, rates: list[float]) -> str:
    rates = sorted(rates)
    return (f"{label}: median {statistics.median(rates):>9,.0f}/s  min {rates[0]:>9,.0f}  max {rates[-1]:>9,.0f}"
            f"  ({1e6 / statistics.median(rates):.2f} us per decision)")


def _stats() -> dict[str, int]:
    stats = getattr(policy_evaluate, "cache_stats", None)  # absent in engines before the plan tables
    return stats() if stats else {}


def _hit_rates(before: dict[str, int], after: dict[str, int], count: int) -> dict[str, float]:
    """Share of requests answered without each slow path, from the engine's miss counters."""
    if "decision_misses" in after:
        return {kind: 1 - (after[f"{kind}_misses"] - before[f"{kind}_misses"]) / count
                for kind in ("resource", "decision")}
    if "decisions" in after and after["decisions"] >= before["decisions"]:  # older engines: table growth
        return {"decision": 1 - (after["decisions"] - before["decisions"]) / count}
    return {}


def _cold(docs: dict[str, tuple[dict, PolicyType]], rounds: int) -> tuple[list[float], list[float], int]:
    """Compile from empty caches, then the first 2,000 uniform decisions (each action's plan built once)."""
    colds, firsts, plans = [], [], 0
    for _ in range(rounds):
        clear_cache()
        re.purge()  # Python's own regex cache too: a true cold start
        colds.append(_cpu(lambda: policy_set(docs)))
        policies = policy_set(docs)
        stream = requests(2000, seed=999)
        firsts.append(_cpu(lambda: [evaluate(q, policies) for q in stream]))
        plans = _stats().get("plans", 0)
    return colds, firsts, plans


def _measure(make: Callable[[int, int], list[RequestContext]], policy_sets: Callable[[RequestContext], PolicySet],
             rounds: int, count: int) -> None:
    """Warm with one stream, then ``rounds`` fresh streams: evaluate only, again, context build + evaluate."""
    for request in make(count, 1):  # build the plans, warm the tables a little
        evaluate(request, policy_sets(request))
    eval_rates, full_rates, again_rates = [], [], []
    hits: dict[str, list[float]] = {}
    outcomes: dict[str, int] = {}
    for r in range(rounds):
        stream = make(count, 100 + r)
        pairs = [(q, policy_sets(q)) for q in stream]
        for request in stream:
            request.keys  # noqa: B018 - derive the context now: 'evaluate only' excludes it
        before = _stats()
        eval_rates.append(count / _cpu(lambda: [evaluate(q, p) for q, p in pairs]))
        for kind, rate in _hit_rates(before, _stats(), count).items():
            hits.setdefault(kind, []).append(rate)
        again_rates.append(count / _cpu(lambda: [evaluate(q, p) for q, p in pairs]))
        raw = [((q.principal, q.action, q.resource, q.resource_account, q.context), policy_sets(q))
               for q in make(count, 200 + r)]
        full_rates.append(count / _cpu(lambda: [evaluate(RequestContext(*args), p) for args, p in raw]))
        for q, p in pairs:
            kind = evaluate(q, p).kind.value
            outcomes[kind] = outcomes.get(kind, 0) + 1
    print(_spread("  evaluate only             ", eval_rates))
    print(_spread("  context build + evaluate  ", full_rates))
    print(_spread("  same stream again (warm)  ", again_rates))
    for kind, rates in hits.items():
        print(f"  {kind} hit rate on fresh streams: median {statistics.median(rates):.1%}"
              f" (min {min(rates):.1%}, max {max(rates):.1%})")
    print(f"  outcomes: {outcomes}")


def main(rounds: int = 5, count: int = 20000) -> None:
    """Cold compile and first decisions, then both streams over ``rounds`` fresh streams each."""
    docs = documents()
    statements = sum(len(doc["Statement"]) for doc, _ in docs.values())
    colds, firsts, plans = _cold(docs, rounds)
    policies = policy_set(docs)
    warm = _cpu(lambda: policy_set(docs))
    print(f"policies: {len(docs)}  statements: {statements}  rounds: {rounds} x {count} fresh requests (CPU time)")
    print(f"cold compile (all policies, empty caches): median {statistics.median(colds) * 1000:.2f} ms"
          f"  min {min(colds) * 1000:.2f}  max {max(colds) * 1000:.2f}")
    print(f"cold first 2,000 decisions ({plans} plans built): median {statistics.median(firsts) * 1000:.1f} ms"
          f"  ({statistics.median(firsts) / max(plans, 1) * 1e6:.0f} us per plan, all included)")
    print(f"cached compile_policy (content hash hit): {warm * 1000:.3f} ms")
    print("uniform stream (" + " ".join(requests.__doc__.split("\n\n")[0].split()) + "):")
    _measure(requests, lambda q: policies, rounds, count)
    clear_cache()  # the session stream starts from cold caches too
    sets: dict[str, PolicySet] = {}  # one PolicySet per caller, built as the gateway would: equal content

    def per_user(q: RequestContext) -> PolicySet:
        found = sets.get(q.principal.username or "")
        if found is None:
            found = sets[q.principal.username or ""] = policy_set(docs)
        return found

    print("session stream (" + " ".join(sessions.__doc__.split("\n\n")[0].split()) + "):")
    _measure(sessions, per_user, rounds, count)
    print(f"tables: {_stats()}")


if __name__ == "__main__":
    main()
